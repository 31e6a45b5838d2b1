"""The YunExpress open API over HTTP: the access token, the signed headers, the calls, answers → errors.

- Token: `POST /openapi/oauth2/token`, cached per process per (endpoint, appId) and fetched again a
  minute before it runs out, and once on a 401 (the carrier refused it: the call is then sent again,
  freshly signed; a 401 means the call was not done, so this is safe even for a create).
- Never twice: a create is sent once. Its "customer order number already used" answer means an earlier
  create went through: the number is looked up and that waybill returned, never bought again. A create
  that gets no readable answer raises CarrierUnavailable; the caller looks the number up before any other
  create (services.waybills does).
- Not knowing is never "not there": `find_waybill` is None only on the carrier's own not-found code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import httpx

from parcelflow.adapters.carriers.common import to_json
from parcelflow.adapters.carriers.yunexpress import build, unconfirmed
from parcelflow.adapters.carriers.yunexpress.build import UnreadableAnswer
from parcelflow.adapters.carriers.yunexpress.wire import Envelope
from parcelflow.domain.errors import CarrierUnavailable, WaybillNotCancellable, WaybillRejected
from parcelflow.domain.models import Channel, utcnow
from parcelflow.ports import Waybill, WaybillRequest

USER_AGENT = "parcelflow/0.1"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
TOKEN_REFRESH_MARGIN = timedelta(minutes=1)
_T = TypeVar("_T")


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: datetime


class TokenCache:
    """Access tokens by (endpoint, appId), shared by every client of the process (warm Lambda)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], Token] = {}

    def get(self, key: tuple[str, str], now: datetime) -> Token | None:
        with self._lock:
            token = self._tokens.get(key)
        return token if token is not None and now < token.expires_at - TOKEN_REFRESH_MARGIN else None

    def put(self, key: tuple[str, str], token: Token) -> None:
        with self._lock:
            self._tokens[key] = token

    def discard(self, key: tuple[str, str], token: Token) -> None:
        """Forget `token` (refused by the carrier), unless another call has replaced it already."""
        with self._lock:
            if self._tokens.get(key) == token:
                del self._tokens[key]


PROCESS_TOKENS = TokenCache()


class YunExpressClient:
    """One YunExpress account (credentials `app_id`, `app_secret`, optional `source_key`) for one channel."""

    def __init__(
        self,
        channel: Channel,
        credentials: dict[str, str],
        http: httpx.Client | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        tokens: TokenCache | None = None,
    ) -> None:
        self._channel = channel
        self._credentials = credentials
        self._http = http or httpx.Client(timeout=DEFAULT_TIMEOUT, headers={"User-Agent": USER_AGENT})
        self._clock = clock
        self._tokens = PROCESS_TOKENS if tokens is None else tokens
        self._endpoint = channel.endpoint.rstrip("/")
        self._token_key = (self._endpoint, credentials.get("app_id", ""))

    # -- the port -----------------------------------------------------------------------------------------
    def create_waybill(self, request: WaybillRequest) -> Waybill:
        number, package_id = request.customer_order_number, request.package.package_id
        body = to_json(build.create_payload(request))
        answer = self._call("POST", build.CREATE_PATH, package_id, body=body)
        if answer.success:
            return build.waybill(self._read(build.parse_order, answer, number), number)
        if answer.code in unconfirmed.DUPLICATE_ORDER_CODES:
            # An earlier create went through and we never read its answer: that waybill is ours.
            existing = self.find_waybill(number)
            if existing is None:
                raise CarrierUnavailable(f"carrier says {number} is used but does not find it")
            if existing.cancelled:
                raise WaybillRejected(
                    package_id,
                    f"carrier order {number} ({existing.waybill_number}) is cancelled: a reissue is needed",
                )
            return existing
        raise WaybillRejected(package_id, answer.reason)

    def find_waybill(self, customer_order_number: str) -> Waybill | None:
        number = customer_order_number
        answer = self._call("GET", build.INFO_PATH, number, params={"order_number": number})
        if not answer.success:
            if answer.code in unconfirmed.NOT_FOUND_CODES:
                return None
            # Not knowing must not look like "not there": that would lead to a second, charged create.
            raise CarrierUnavailable(f"look-up of {number} failed: {answer.reason}")
        result = self._read(build.parse_order, answer, number)
        if result.customer_order_number != number:
            return None  # the number matched another order's waybill or tracking number
        return build.waybill(result, number)

    def cancel_waybill(self, customer_order_number: str, waybill_number: str, reason: str) -> None:
        """`reason` is for our records: the cancel call takes only the waybill number."""
        number = customer_order_number
        body = to_json({"waybill_number": waybill_number})
        answer = self._call("POST", build.CANCEL_PATH, number, body=body)
        if answer.success:
            status = answer.result.get("status") if isinstance(answer.result, dict) else None
            if status is None or build.is_cancelled(str(status)):
                return
            raise CarrierUnavailable(
                f"cancel of {waybill_number} accepted, not confirmed yet (status {status})"
            )
        if answer.code in unconfirmed.ALREADY_CANCELLED_CODES:
            return
        if answer.code in unconfirmed.CANCEL_REFUSED_CODES:
            raise WaybillNotCancellable(number, answer.reason)
        if answer.code in unconfirmed.NOT_FOUND_CODES:
            raise WaybillNotCancellable(number, f"the carrier has no order {waybill_number}: {answer.reason}")
        # A refusal we cannot place: the order's own state says whether it is cancelled after all.
        found = self.find_waybill(number)
        if found is not None and found.waybill_number == waybill_number and found.cancelled:
            return
        raise CarrierUnavailable(f"cancel of {waybill_number} ({number}): {answer.reason}")

    def get_label(self, customer_order_number: str, waybill_number: str) -> bytes:
        number = customer_order_number
        answer = self._call("GET", build.LABEL_PATH, number, params={"order_number": waybill_number})
        if not answer.success:
            if answer.code in unconfirmed.NOT_FOUND_CODES:
                raise CarrierUnavailable(f"no label for {waybill_number} ({number}) yet: {answer.reason}")
            raise WaybillRejected(number, f"label of {waybill_number}: {answer.reason}")
        label = self._read(build.parse_label, answer, number)
        try:
            pdf = build.inline_label(label)
        except UnreadableAnswer as exc:
            raise CarrierUnavailable(f"label of {waybill_number}: {exc}") from exc
        if pdf is None:
            if not label.url:
                raise CarrierUnavailable(f"label answer for {waybill_number} has neither PDF nor URL")
            pdf = self._download(label.url, number)
        if not build.is_pdf(pdf):
            raise CarrierUnavailable(f"label of {waybill_number} is not a PDF")
        return pdf

    # -- HTTP ---------------------------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        number: str,
        *,
        body: str = "",
        params: dict[str, str] | None = None,
    ) -> Envelope:
        """The answer's envelope (success or a business refusal). Raises CarrierUnavailable when the carrier
        is down or busy or its answer unreadable, WaybillRejected when it refuses our credentials."""
        token = self._token(number)
        response = self._send_signed(method, path, number, token, body, params)
        if response.status_code == 401:
            self._tokens.discard(self._token_key, token)
            token = self._token(number)
            response = self._send_signed(method, path, number, token, body, params)
            if response.status_code == 401:
                raise WaybillRejected(number, f"carrier refused our signed call: {_words(response)}")
        return self._envelope(response, f"{method} {path}", number)

    def _send_signed(
        self,
        method: str,
        path: str,
        number: str,
        token: Token,
        body: str,
        params: dict[str, str] | None,
    ) -> httpx.Response:
        content = body.encode() if body else None
        request = self._http.build_request(method, self._endpoint + path, params=params, content=content)
        date = build.date_ms(self._clock())
        uri = build.signed_uri(request.url.raw_path.decode("ascii"))
        string_to_sign = build.sign_string(method, uri, date, body)
        request.headers.update(
            {
                "token": token.value,
                "date": date,
                "sign": build.signature(self._credentials.get("app_secret", ""), string_to_sign),
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        )
        if content is not None:
            request.headers["Content-Type"] = "application/json; charset=utf-8"
        return self._send(request, number)

    def _send(self, request: httpx.Request, number: str) -> httpx.Response:
        try:
            return self._http.send(request)
        except httpx.HTTPError as exc:
            raise CarrierUnavailable(
                f"{request.method} {request.url.path} for {number}: {type(exc).__name__}: {exc}"
            ) from exc

    def _token(self, number: str) -> Token:
        now = self._clock()
        cached = self._tokens.get(self._token_key, now)
        if cached is not None:
            return cached
        body = to_json(build.token_payload(self._credentials))
        request = self._http.build_request(
            "POST",
            self._endpoint + build.TOKEN_PATH,
            content=body.encode(),
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
        )
        response = self._send(request, number)
        if response.status_code in (400, 401, 403):
            raise WaybillRejected(number, f"carrier refused our credentials: {_words(response)}")
        result = build.bare_token(response.content) if response.status_code == 200 else None
        if result is None:
            answer = self._envelope(response, "token", number)
            if not answer.success:
                raise WaybillRejected(number, f"carrier refused our credentials: {answer.reason}")
            result = self._read(build.parse_token, answer, number)
        token = Token(result.token, now + timedelta(seconds=result.lifetime_s))
        self._tokens.put(self._token_key, token)
        return token

    def _envelope(self, response: httpx.Response, what: str, number: str) -> Envelope:
        status = response.status_code
        if status == 429 or status >= 500:
            raise CarrierUnavailable(f"{what} for {number}: HTTP {status}")
        if status == 403:
            raise WaybillRejected(number, f"carrier refused our credentials (HTTP 403): {_words(response)}")
        try:
            answer = build.parse_answer(response.content)
        except UnreadableAnswer as exc:
            raise CarrierUnavailable(f"{what} for {number}: HTTP {status}, {exc}") from exc
        if not answer.success and answer.code in unconfirmed.TRANSIENT_CODES:
            raise CarrierUnavailable(f"{what} for {number}: {answer.reason}")
        return answer

    @staticmethod
    def _read(parse: Callable[[Envelope], _T], answer: Envelope, number: str) -> _T:
        try:
            return parse(answer)
        except UnreadableAnswer as exc:
            raise CarrierUnavailable(f"answer for {number}: {exc}") from exc

    def _download(self, url: str, number: str) -> bytes:
        response = self._send(self._http.build_request("GET", url), number)
        if response.status_code != 200:
            raise CarrierUnavailable(f"label download for {number}: HTTP {response.status_code}")
        return response.content


def _words(response: httpx.Response) -> str:
    """The carrier's message in a refusal, for a person."""
    try:
        return build.parse_answer(response.content).reason
    except UnreadableAnswer:
        return f"HTTP {response.status_code}: {response.text[:200]}"
