"""API Gateway (REST, Lambda proxy integration), locally: routes each Api event of the template to its
function's handler on a local HTTP server, http://127.0.0.1:<port>/<stage>/<path>.

A route with AWS_IAM auth is checked as API Gateway checks it: the request must carry a SigV4
`Authorization` header for the service `execute-api` and this region, made within five minutes with the
secret of a known access key (the stack's credentials, or an IAM user the stack created); the signature
is computed again here with botocore's signer over the same canonical request. The caller's identity
(userArn, caller, accessKey) reaches the Lambda in `requestContext.identity`, as on AWS.

A route behind a Cognito user pool authorizer (the web console's API) is checked as API Gateway checks
it: the `Authorization` header must hold an ID token of one of the authorizer's pools, RS256-signed by a
key of the pool's JWKS (moto's, at <endpoint>/<pool id>/.well-known/jwks.json), issued by that pool and
not expired; its claims reach the Lambda in `requestContext.authorizer.claims`. Each API of the template
listens on a port of its own, as each has a host of its own on AWS.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from infra.local import runtime
from infra.local.deploy import ApiRoute, LocalApi, LocalFunction

logger = logging.getLogger(__name__)

# API Gateway's own answers, byte for byte where a client might look at them.
_MISSING_TOKEN = (403, "MissingAuthenticationTokenException", {"message": "Missing Authentication Token"})
_FORBIDDEN = (403, "ForbiddenException", {"message": "Forbidden"})
_BAD_GATEWAY = (502, "InternalServerErrorException", {"message": "Internal server error"})
_BAD_TOKEN = (
    403,
    "UnrecognizedClientException",
    {"message": "The security token included in the request is invalid."},
)
_BAD_SIGNATURE = (
    403,
    "InvalidSignatureException",
    {
        "message": "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for details."
    },
)
_MAX_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Caller:
    """An IAM identity the local gateway knows the secret of (AWS knows every key's)."""

    access_key: str
    secret_key: str
    user_arn: str
    caller: str  # the principal id API Gateway puts in `identity.caller`
    account_id: str


def _incomplete(message: str) -> tuple[int, str, dict[str, str]]:
    return 403, "IncompleteSignatureException", {"message": message}


def _invalid(message: str) -> tuple[int, str, dict[str, str]]:
    return 403, "InvalidSignatureException", {"message": message}


def check_sigv4(
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    region: str,
    callers: Callable[[str], Caller | None],
    now: datetime | None = None,
) -> Caller | tuple[int, str, dict[str, str]]:
    """The caller of a SigV4-signed request, or API Gateway's refusal (status, error type, body)."""
    found = [v for k, v in headers if k.lower() == "authorization"]
    if not found:
        return _MISSING_TOKEN
    scheme, _, rest = found[0].strip().partition(" ")
    if scheme != "AWS4-HMAC-SHA256":
        return _incomplete(f"Authorization header requires 'AWS4-HMAC-SHA256' as its scheme, not '{scheme}'.")
    params = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        params[name] = value
    missing = [p for p in ("Credential", "SignedHeaders", "Signature") if not params.get(p)]
    if missing:
        return _incomplete(
            " ".join(f"Authorization header requires '{p}' parameter." for p in missing)
            + f" Authorization={found[0][:60]}"
        )
    scope = params["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        return _incomplete(
            "Credential must have exactly 5 slash-delimited elements: AKID/date/region/service/aws4_request"
        )
    access_key, day, scope_region, service, _ = scope
    if service != "execute-api":
        return _invalid("Credential should be scoped to correct service: 'execute-api'. ")
    if scope_region != region:
        return _invalid(f"Credential should be scoped to a valid region, not '{scope_region}'. ")
    stamp = next((v for k, v in headers if k.lower() == "x-amz-date"), None)
    if stamp is None:
        return _incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return _incomplete(f"X-Amz-Date must be in the ISO8601 Long Format, not '{stamp}'.")
    moment = now or datetime.now(UTC)
    if abs(moment - signed_at) > _MAX_SKEW or day != stamp[:8]:
        return _invalid(
            f"Signature expired: {stamp} is now earlier than "
            f"{(moment - _MAX_SKEW):%Y%m%dT%H%M%SZ} ({moment:%Y%m%dT%H%M%SZ} - 5 min.)"
        )
    signed_names = params["SignedHeaders"].split(";")
    if "host" not in signed_names:
        return _invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    caller = callers(access_key)
    if caller is None:
        return _BAD_TOKEN
    signed_headers: dict[str, str] = {}
    for name in signed_names:
        values = [v for k, v in headers if k.lower() == name]
        if not values:
            return _BAD_SIGNATURE
        signed_headers[name] = ",".join(values)
    request = AWSRequest(
        method=method, url=f"http://{signed_headers['host']}{target}", headers=signed_headers, data=body
    )
    request.context["timestamp"] = stamp
    signer = SigV4Auth(Credentials(caller.access_key, caller.secret_key), "execute-api", region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, params["Signature"]):
        return _BAD_SIGNATURE
    return caller


def _moto_jwks(pool_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{os.environ['AWS_ENDPOINT_URL']}/{pool_id}/.well-known/jwks.json", timeout=10)
    answer.raise_for_status()
    return dict(answer.json())


_UNAUTHORIZED = (401, "UnauthorizedException", {"message": "Unauthorized"})
_EXPIRED = (401, "UnauthorizedException", {"message": "The incoming token has expired"})


class IdTokens:
    """A Cognito user pool authorizer, as API Gateway runs it: the Authorization header must hold an ID
    token (RS256, signed with a key of the pool's JWKS) issued by one of the route's pools, not expired.
    Its claims reach the Lambda, every value a string, in `requestContext.authorizer.claims`.

    The JWKS comes from the pool's issuer on AWS; locally from moto (AWS_ENDPOINT_URL), which signs its
    tokens with a key of its own and serves it at /<pool id>/.well-known/jwks.json."""

    def __init__(self, region: str, jwks: Callable[[str], dict[str, Any]] | None = None) -> None:
        self.region = region
        self._jwks = jwks or _moto_jwks
        self._keys: dict[str, KeySet] = {}
        self._lock = threading.Lock()

    def _key_set(self, pool_id: str) -> KeySet:
        with self._lock:
            if pool_id not in self._keys:
                self._keys[pool_id] = KeySet.import_key_set(self._jwks(pool_id))  # type: ignore[arg-type]
            return self._keys[pool_id]

    def check(
        self, headers: list[tuple[str, str]], pool_arns: tuple[str, ...], now: float | None = None
    ) -> dict[str, str] | tuple[int, str, dict[str, str]]:
        found = [v for k, v in headers if k.lower() == "authorization"]
        if not found or not found[0].strip():
            return _UNAUTHORIZED
        token = found[0].strip()
        try:
            unverified = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
            issuer = str(unverified["iss"])
        except (IndexError, ValueError, KeyError, TypeError):
            return _UNAUTHORIZED
        pools = {arn.rsplit("/", 1)[-1]: arn for arn in pool_arns}
        pool_id = issuer.rsplit("/", 1)[-1]
        if pool_id not in pools or issuer != f"https://cognito-idp.{self.region}.amazonaws.com/{pool_id}":
            return _UNAUTHORIZED
        try:
            decoded = jwt.decode(token, self._key_set(pool_id), algorithms=["RS256"])
        except JoseError:
            return _UNAUTHORIZED
        claims = decoded.claims
        if claims.get("token_use") != "id":  # with no scopes on the method, only ID tokens pass
            return _UNAUTHORIZED
        if float(claims.get("exp", 0)) <= (time.time() if now is None else now):
            return _EXPIRED
        return {name: str(value) for name, value in claims.items()}


@dataclass(frozen=True)
class _Route:
    api: LocalApi
    function: LocalFunction
    route: ApiRoute
    pattern: re.Pattern[str]
    parameters: tuple[str, ...]

    @classmethod
    def build(cls, api: LocalApi, function: LocalFunction, route: ApiRoute) -> _Route:
        names: list[str] = []
        regex = ""
        for literal, name in re.findall(r"([^{]*)(?:\{([^}]+)\})?", route.path):
            regex += re.escape(literal)
            if name:  # {id} is one path segment, {proxy+} the rest of the path
                names.append(name.rstrip("+"))
                regex += "(.+)" if name.endswith("+") else "([^/]+)"
        return cls(api, function, route, re.compile(regex), tuple(names))


class ApiGateway:
    def __init__(
        self,
        functions: list[LocalFunction],
        apis: dict[str, LocalApi],
        *,
        api_key: str,
        account_id: str,
        region: str = "us-east-1",
        callers: Callable[[str], Caller | None] = lambda access_key: None,
        id_tokens: IdTokens | None = None,
    ):
        routes = [
            _Route.build(apis[route.api_id], function, route)
            for function in functions
            for route in function.api_routes
        ]
        # Literal paths win over templated ones, as in API Gateway.
        self._routes = sorted(routes, key=lambda r: len(r.parameters))
        self.apis = apis
        self.api_key = api_key
        self.account_id = account_id
        self.region = region
        self.callers = callers  # access key id -> the IAM identity it belongs to (AWS_IAM routes)
        self.id_tokens = id_tokens or IdTokens(region)
        # One port per API: on AWS each has a host of its own, and two may share a stage name and paths.
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self._threads: list[threading.Thread] = []
        for logical_id in apis:
            server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self, logical_id))
            server.daemon_threads = True
            self._servers[logical_id] = server
            self._threads.append(
                threading.Thread(target=server.serve_forever, name=f"local-api-gateway-{logical_id}")
            )

    def url(self, api_logical_id: str) -> str:
        port = self._servers[api_logical_id].server_address[1]
        return f"http://127.0.0.1:{port}/{self.apis[api_logical_id].stage}"

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        for server, thread in zip(self._servers.values(), self._threads, strict=True):
            if thread.is_alive():
                server.shutdown()
                thread.join()
            server.server_close()

    def handle(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        source_ip: str,
        api: str | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request to `api` (a logical id; None: whichever API has the stage and route)."""
        url = urlsplit(target)
        stage, _, rest = url.path.lstrip("/").partition("/")
        path = "/" + rest
        for candidate in self._routes:
            if api is not None and candidate.api.logical_id != api:
                continue
            match = candidate.pattern.fullmatch(path)
            if match and candidate.api.stage == stage and candidate.route.method in (method, "ANY"):
                break
        else:
            return _error(*_MISSING_TOKEN)
        api_key = next((value for name, value in headers if name.lower() == "x-api-key"), None)
        if candidate.route.api_key_required and not (api_key and hmac.compare_digest(api_key, self.api_key)):
            return _error(*_FORBIDDEN)
        caller: Caller | None = None
        if candidate.route.iam_auth:
            checked = check_sigv4(method, target, headers, body, region=self.region, callers=self.callers)
            if not isinstance(checked, Caller):
                return _error(*checked)
            caller = checked
        claims: dict[str, str] | None = None
        if candidate.route.user_pool_arns:
            verified = self.id_tokens.check(headers, candidate.route.user_pool_arns)
            if not isinstance(verified, dict):
                return _error(*verified)
            claims = verified
        event = self._event(candidate, method, path, url.query, headers, body, source_ip, api_key, match)
        if caller is not None:
            event["requestContext"]["identity"] |= {
                "accountId": caller.account_id,
                "accessKey": caller.access_key,
                "caller": caller.caller,
                "user": caller.caller,
                "userArn": caller.user_arn,
            }
        if claims is not None:
            event["requestContext"]["authorizer"] = {"claims": claims}
        try:
            response = runtime.invoke(candidate.function, event)
            status = int(response["statusCode"])
        except Exception:
            logger.exception("%s failed on %s %s", candidate.function.logical_id, method, path)
            return _error(*_BAD_GATEWAY)
        out_headers = {name: str(value) for name, value in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            out_headers[name] = ", ".join(str(value) for value in values)
        if not any(name.lower() == "content-type" for name in out_headers):
            out_headers["Content-Type"] = "application/json"  # API Gateway's default for proxy responses
        payload = response.get("body") or ""
        raw = base64.b64decode(payload) if response.get("isBase64Encoded") else str(payload).encode()
        return status, out_headers, raw

    def _event(
        self,
        r: _Route,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        body: bytes,
        source_ip: str,
        api_key: str | None,
        match: re.Match[str],
    ) -> dict[str, Any]:
        multi_headers: dict[str, list[str]] = {}
        for name, value in headers:
            multi_headers.setdefault(name, []).append(value)
        multi_query = parse_qs(query, keep_blank_values=True)
        try:
            text, is_base64 = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(body).decode(), True
        request_id = str(uuid.uuid4())
        now = time.time()
        return {
            "resource": r.route.path,
            "path": path,
            "httpMethod": method,
            # API Gateway sends null, not {}, for absent headers, query strings and path parameters.
            "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": dict(zip(r.parameters, match.groups(), strict=True)) or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": self.account_id,
                "apiId": r.api.rest_api_id,
                "resourcePath": r.route.path,
                "httpMethod": method,
                "path": f"/{r.api.stage}{path}",
                "stage": r.api.stage,
                "requestId": request_id,
                "extendedRequestId": request_id,
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "requestTimeEpoch": int(now * 1000),
                "protocol": "HTTP/1.1",
                "identity": {
                    "sourceIp": source_ip,
                    "userAgent": next((v for k, v in headers if k.lower() == "user-agent"), None),
                    "apiKey": api_key if r.route.api_key_required else None,
                },
                "domainName": next((v for k, v in headers if k.lower() == "host"), None),
            },
            "body": text if body else None,
            "isBase64Encoded": is_base64,
        }


def _error(status: int, error_type: str, body: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": error_type}
    return status, headers, json.dumps(body).encode()


def _make_handler(gateway: ApiGateway, api: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so no idle keep-alive thread outlives stop().
        protocol_version = "HTTP/1.0"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, payload = gateway.handle(
                self.command, self.path, list(self.headers.items()), body, self.client_address[0], api
            )
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        # http.server dispatches on do_<METHOD>; every method goes through the same routing, whatever its
        # name (API Gateway answers a method no route has itself, never a 501 from the web server).
        def __getattr__(self, name: str) -> Any:
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s - %s", self.address_string(), format % args)

    return Handler
