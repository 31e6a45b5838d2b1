"""Who an action is audited as: the IAM signer on the operator API, the pool's user on the console's."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from parcelflow.operator_api.identity import operator_of


def event(context: dict[str, Any]) -> APIGatewayProxyEvent:
    return APIGatewayProxyEvent({"httpMethod": "GET", "path": "/tabs", "requestContext": context})


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        ({"userArn": "arn:aws:iam::123456789012:user/ops/jane"}, "operator:jane"),
        ({"userArn": "arn:aws:sts::123456789012:assumed-role/Ops/wei"}, "operator:Ops/wei"),
        ({"caller": "AIDAEXAMPLE"}, "operator:AIDAEXAMPLE"),
        ({}, "operator:unknown"),
    ],
)
def test_the_iam_signer_is_the_operator(identity: dict[str, str], expected: str) -> None:
    assert operator_of(event({"identity": identity})) == expected


def test_the_console_user_is_the_operator_by_the_name_the_pool_verified() -> None:
    claims = {"cognito:username": "li.na", "email": "li.na@example.com", "token_use": "id"}
    # A Cognito-authorised request carries no IAM user; API Gateway fills the identity with nulls.
    context = {"authorizer": {"claims": claims}, "identity": {"userArn": None, "caller": None}}
    assert operator_of(event(context)) == "operator:li.na"


def test_claims_without_a_user_name_fall_back_to_the_iam_identity() -> None:
    context = {
        "authorizer": {"claims": {"token_use": "id"}},
        "identity": {"userArn": "arn:aws:iam::123456789012:user/jane"},
    }
    assert operator_of(event(context)) == "operator:jane"
