"""The local API Gateway's Cognito authorizer: what passes and what is refused, as API Gateway does."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from infra.local.api_gateway import IdTokens

REGION = "us-east-1"
POOL = "us-east-1_abc123"
POOL_ARN = f"arn:aws:cognito-idp:{REGION}:123456789012:userpool/{POOL}"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})


def token(key: RSAKey = KEY, **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "8bbb14ab",
        "aud": "client1",
        "token_use": "id",
        "iat": now,
        "exp": now + 3600,
        "cognito:username": "li.na",
    } | changes
    return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)


@pytest.fixture
def tokens() -> IdTokens:
    keys = KeySet([KEY]).as_dict(private=False)
    return IdTokens(REGION, jwks=lambda pool_id: keys if pool_id == POOL else {"keys": []})


def test_an_id_token_of_the_pool_passes_with_its_claims_as_strings(tokens: IdTokens) -> None:
    claims = tokens.check([("Authorization", token())], (POOL_ARN,))
    assert isinstance(claims, dict)
    assert claims["cognito:username"] == "li.na"
    assert isinstance(claims["exp"], str) and int(claims["exp"]) > time.time()


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ([], "no Authorization header"),
        ([("Authorization", "")], "an empty one"),
        ([("Authorization", "not.a.jwt")], "not a token"),
        ([("Authorization", token(token_use="access"))], "an access token"),
        (
            [("Authorization", token(iss=f"https://cognito-idp.{REGION}.amazonaws.com/us-east-1_other"))],
            "another pool",
        ),
        ([("Authorization", token(iss=f"https://evil.example/{POOL}"))], "another issuer"),
        ([("Authorization", token(key=OTHER_KEY))], "signed with another key"),
        ([("Authorization", token()[:-4] + "AAAA")], "its signature altered"),
    ],
)
def test_anything_else_is_401_unauthorized(
    tokens: IdTokens, headers: list[tuple[str, str]], why: str
) -> None:
    assert tokens.check(headers, (POOL_ARN,)) == (
        401,
        "UnauthorizedException",
        {"message": "Unauthorized"},
    ), why


def test_an_expired_token_is_refused_saying_so(tokens: IdTokens) -> None:
    old = token(exp=int(time.time()) - 1)
    refused = tokens.check([("authorization", old)], (POOL_ARN,))
    assert refused == (401, "UnauthorizedException", {"message": "The incoming token has expired"})
