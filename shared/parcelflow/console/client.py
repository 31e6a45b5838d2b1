"""The operator API over HTTP: each request signed with SigV4 (service `execute-api`), each failure one line.

The contract is docs/operator-api.md; this module knows its paths only through the callers' arguments, and
its shapes only where it pages (`next_cursor`) and acts in bulk (`results`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import boto3
import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import BotoCoreError

from parcelflow.console.errors import ConsoleError
from parcelflow.console.settings import Settings

SERVICE = "execute-api"
BULK_CHUNK = 100  # the contract's limit of order ids per action request
PAGE_LIMIT = 100  # the contract's largest page
_LOCATIONS = ("body", "query", "path", "header")

Query = Mapping[str, str | int | bool | None]


def segment(value: str) -> str:
    """One path segment (an order id, a SKU), percent-encoded."""
    return quote(value, safe="")


class OperatorApi:
    def __init__(
        self,
        settings: Settings,
        credentials: ReadOnlyCredentials,
        region: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self.settings = settings
        self._credentials = credentials
        self._region = region
        self._timeout_s = timeout_s
        self._http = httpx.Client(transport=transport, timeout=timeout_s, trust_env=transport is None)

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: Query | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return self.request("POST", path, body={} if body is None else body)

    def put(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("PUT", path, body=body)

    def request(
        self, method: str, path: str, *, params: Query | None = None, body: Mapping[str, Any] | None = None
    ) -> Any:
        url = self.settings.api_url + path
        pairs = [(k, _query_value(v)) for k, v in (params or {}).items() if v is not None and v != ""]
        if pairs:
            url += "?" + urlencode(pairs, quote_via=quote, safe="-_.~")
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        signed = AWSRequest(method=method, url=url, data=data, headers=headers)
        SigV4Auth(self._credentials, SERVICE, self._region).add_auth(signed)
        try:
            response = self._http.request(method, url, content=data, headers=dict(signed.headers.items()))
        except httpx.TimeoutException as exc:
            raise ConsoleError(
                f"the operator API at {self.settings.api_url} did not answer within {self._timeout_s:g} s"
            ) from exc
        except httpx.TransportError as exc:
            raise ConsoleError(
                f"cannot reach the operator API at {self.settings.api_url} ({self.settings.source}): {exc}"
            ) from exc
        return self._answer(method, path, response)

    def pages(self, path: str, key: str, params: Query, *, limit: int | None) -> tuple[list[Any], str | None]:
        """Follow `next_cursor` until `limit` items (all when None); returns them and the cursor to go on."""
        items: list[Any] = []
        cursor = params.get("cursor")
        while True:
            page_limit = PAGE_LIMIT if limit is None else min(PAGE_LIMIT, limit - len(items))
            answer = self.get(path, {**params, "cursor": cursor, "limit": page_limit})
            items.extend(answer.get(key) or [])
            cursor = answer.get("next_cursor")
            if not cursor or (limit is not None and len(items) >= limit):
                return items, cursor or None

    def bulk(
        self,
        action: str,
        order_ids: Sequence[str],
        note: str,
        *,
        advance: Callable[[int], None] | None = None,
    ) -> list[dict[str, Any]]:
        """approve/hold/release/cancel, sent in chunks of at most 100 ids; the results of every chunk."""
        results: list[dict[str, Any]] = []
        for chunk in chunks(order_ids, BULK_CHUNK):
            answer = self.post(f"/orders/actions/{action}", {"order_ids": list(chunk), "note": note})
            results.extend(answer.get("results") or [])
            if advance:
                advance(len(chunk))
        return results

    def _answer(self, method: str, path: str, response: httpx.Response) -> Any:
        body = _json(response)
        if response.is_success:
            if body is _NOT_JSON:
                raise ConsoleError(
                    f"{method} {path}: the operator API answered {response.status_code} with no JSON"
                )
            return body
        raise self._failure(response.status_code, body if isinstance(body, dict) else {}, response)

    def _failure(self, status: int, body: dict[str, Any], response: httpx.Response) -> ConsoleError:
        message = str(body.get("message") or body.get("Message") or "").strip() or _snippet(response)
        if status == 403:
            if message == "Missing Authentication Token":
                hint = "no such route, or the request was not signed"
            else:
                hint = f"check the credentials of profile {self.settings.profile!r}"
            return ConsoleError(f"the operator API refused the request (403 {message}): {hint}")
        if status == 404:
            return ConsoleError(f"not found: {message}")
        if status == 422 or (status == 400 and isinstance(body.get("detail"), list)):
            lines = [_detail_line(d) for d in body.get("detail") or [] if isinstance(d, dict)]
            if not lines:
                return ConsoleError(f"invalid input: {message}")
            return ConsoleError(
                f"invalid input: {lines[-1]}", more=[f"invalid input: {x}" for x in lines[:-1]]
            )
        if status == 400:
            problems = [str(p) for p in body.get("problems") or []]
            return ConsoleError(message, more=problems) if problems else ConsoleError(f"bad input: {message}")
        if status == 409:
            return ConsoleError(f"refused: {message}")
        if status >= 500:
            return ConsoleError(f"the operator API failed ({status}): {message}")
        return ConsoleError(f"the operator API answered {status}: {message}")


def connect(settings: Settings, *, transport: httpx.BaseTransport | None = None) -> OperatorApi:
    """Credentials from the environment file, or boto3's chain for the profile's `aws_profile`."""
    try:
        session = boto3.Session(
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=settings.secret_access_key,
            profile_name=None if settings.access_key_id else settings.aws_profile,
            region_name=settings.region,
        )
        credentials = session.get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials else None
    except BotoCoreError as exc:
        raise ConsoleError(f"profile {settings.profile!r}: AWS credentials: {exc}") from exc
    if frozen is None or not frozen.access_key:
        named = f"AWS profile {settings.aws_profile!r}" if settings.aws_profile else "the environment"
        raise ConsoleError(f"profile {settings.profile!r}: no AWS credentials found in {named}")
    region = settings.region or session.region_name
    if not region:
        raise ConsoleError(
            f"profile {settings.profile!r}: no AWS region: set `region` in its section or AWS_DEFAULT_REGION"
        )
    return OperatorApi(settings, frozen, region, transport=transport)


def chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_NOT_JSON = object()


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return _NOT_JSON


def _snippet(response: httpx.Response) -> str:
    text = " ".join(response.text.split())[:200]
    return text or response.reason_phrase or f"HTTP {response.status_code}"


def _detail_line(detail: Mapping[str, Any]) -> str:
    loc = [str(part) for part in detail.get("loc") or []]
    if len(loc) > 1 and loc[0] in _LOCATIONS:
        loc = loc[1:]
    field = ".".join(loc) or "request"
    return f"{field}: {detail.get('msg') or detail.get('message') or detail.get('type') or 'invalid'}"


def _query_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
