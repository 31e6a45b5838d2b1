"""4PX (递四方) open API over HTTP: one signed endpoint, four methods. Creating charges prepaid freight.

HTTP and the order of calls live here; what a body holds and what an answer means live in build.py,
what we could not confirm in unconfirmed.py. Never twice: a create is never repeated by this client;
a refusal or a "still processing" is answered by looking our ref_no up, and an empty tracking number is
asked for with ds.xms.order.get, a bounded number of times.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from parcelflow.adapters.carriers.common import to_json
from parcelflow.adapters.carriers.fourpx import build, unconfirmed
from parcelflow.adapters.carriers.fourpx.wire import Envelope
from parcelflow.domain.errors import CarrierUnavailable, WaybillNotCancellable, WaybillRejected
from parcelflow.domain.models import Channel, utcnow
from parcelflow.ports import Waybill, WaybillRequest

USER_AGENT = "parcelflow/0.1"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
UNSIGNED_PARAMS = frozenset({"access_token", "language", "sign"})


def sign(params: Mapping[str, str], body: str, app_secret: str) -> str:
    """Lowercase MD5 of: every parameter but access_token, language and sign, sorted by name, each as
    name + value; then the body exactly as sent; then the app secret."""
    signed = "".join(f"{name}{params[name]}" for name in sorted(params) if name not in UNSIGNED_PARAMS)
    return hashlib.md5((signed + body + app_secret).encode(), usedforsecurity=False).hexdigest()


class _HttpRefused(Exception):
    """A 4xx other than 429: the request itself was refused; each method says what that means for it."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}: {text[:200]}")


class FourPxClient:
    """One 4PX account (credentials `app_key`, `app_secret`) for one channel (its logistics product)."""

    def __init__(
        self,
        channel: Channel,
        credentials: Mapping[str, str],
        http: httpx.Client | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        poll_delays_s: tuple[float, ...] = unconfirmed.TRACKING_POLL_DELAYS_S,
    ) -> None:
        self._channel = channel
        self._app_key = credentials.get("app_key", "")
        self._app_secret = credentials.get("app_secret", "")
        self._http = http or httpx.Client(timeout=DEFAULT_TIMEOUT, headers={"User-Agent": USER_AGENT})
        self._clock = clock
        self._sleep = sleep
        self._poll_delays_s = poll_delays_s
        self._url = channel.endpoint.rstrip("/") + unconfirmed.SERVICE_PATH

    # -- the port ------------------------------------------------------------------------------------------
    def create_waybill(self, request: WaybillRequest) -> Waybill:
        number = request.customer_order_number
        body = build.create_body(request)
        try:
            envelope = self._call(build.CREATE, body, number)
        except _HttpRefused as exc:
            raise WaybillRejected(request.package.package_id, f"4PX refused the request: {exc}") from exc
        refusal = build.refusal_of(envelope)
        if refusal is None:
            return self._with_tracking(build.parse_created(envelope, number))
        if refusal.throttled:
            raise CarrierUnavailable(f"4PX: too many requests creating {number}: {refusal.reason}")
        return self._after_refused_create(request, refusal)

    def find_waybill(self, customer_order_number: str) -> Waybill | None:
        try:
            envelope = self._call(build.GET, build.get_body(customer_order_number), customer_order_number)
        except _HttpRefused as exc:
            raise CarrierUnavailable(f"4PX look-up of {customer_order_number}: {exc}") from exc
        return build.parse_found(envelope, customer_order_number)

    def cancel_waybill(self, customer_order_number: str, waybill_number: str, reason: str) -> None:
        request_no = waybill_number or customer_order_number
        try:
            envelope = self._call(build.CANCEL, build.cancel_body(request_no, reason), customer_order_number)
        except _HttpRefused as exc:
            raise CarrierUnavailable(f"4PX cancel of {customer_order_number}: {exc}") from exc
        refusal = build.refusal_of(envelope)
        if refusal is None:
            return
        if refusal.throttled:
            raise CarrierUnavailable(f"4PX: too many requests cancelling {customer_order_number}")
        # Which code means "already cancelled" is unconfirmed: ask for the order instead of reading words.
        found = self.find_waybill(customer_order_number)
        same_order = found is not None and found.waybill_number == (waybill_number or found.waybill_number)
        if found is not None and found.cancelled and same_order:
            return
        raise WaybillNotCancellable(customer_order_number, f"4PX: {refusal.reason}")

    def get_label(self, customer_order_number: str, waybill_number: str) -> bytes:
        request_no = waybill_number or customer_order_number
        try:
            envelope = self._call(build.LABEL, build.label_body(request_no), customer_order_number)
            url = build.parse_label_url(envelope, request_no)
            response = self._http.get(url, headers={"User-Agent": USER_AGENT})
        except _HttpRefused as exc:
            raise CarrierUnavailable(f"4PX label of {customer_order_number}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise CarrierUnavailable(f"4PX label download for {request_no}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise CarrierUnavailable(f"4PX label download for {request_no}: HTTP {response.status_code}")
        return build.check_pdf(response.content, request_no)

    # -- the create's follow-ups ---------------------------------------------------------------------------
    def _after_refused_create(self, request: WaybillRequest, refusal: build.Refusal) -> Waybill:
        """A create 4PX did not do: maybe because an earlier one with our ref_no did (its answer lost, or
        still processing). Whatever is found under our ref_no is ours; nothing is created again."""
        number = request.customer_order_number
        try:
            found = self.find_waybill(number)
        except CarrierUnavailable as exc:
            if refusal.uncertain:
                raise
            # A plain refusal stands even when the look-up fails: nothing is bought, a person sees why.
            raise WaybillRejected(
                request.package.package_id, f"4PX: {refusal.reason} (look-up failed too: {exc})"
            ) from exc
        if found is not None and not found.cancelled:
            return self._with_tracking(found)
        if refusal.uncertain:
            raise CarrierUnavailable(f"4PX is still processing {number}: {refusal.reason}")
        if found is not None:  # cancelled under this number: the package needs its next reissue number
            raise WaybillRejected(
                request.package.package_id, f"4PX order {number} is cancelled: {refusal.reason}"
            )
        raise WaybillRejected(request.package.package_id, f"4PX: {refusal.reason}")

    def _with_tracking(self, waybill: Waybill) -> Waybill:
        """Asks ds.xms.order.get for a tracking number not assigned yet, a bounded number of times; still
        none: the waybill as it is (the service stores its number and looks it up again later)."""
        for delay in self._poll_delays_s if not waybill.tracking_number else ():
            self._sleep(delay)
            try:
                found = self.find_waybill(waybill.customer_order_number)
            except CarrierUnavailable:
                break  # we hold the waybill number: better returned now than lost to a retry
            if found is not None and found.waybill_number == waybill.waybill_number and found.tracking_number:
                return Waybill(
                    customer_order_number=waybill.customer_order_number,
                    waybill_number=waybill.waybill_number,
                    tracking_number=found.tracking_number,
                    freight=waybill.freight,
                )
        return waybill

    # -- HTTP ------------------------------------------------------------------------------------------------
    def _call(self, method: str, body: Mapping[str, Any], number: str) -> Envelope:
        """One signed call; CarrierUnavailable for transport errors, 429, 5xx and unreadable answers."""
        text = to_json(body)  # signed and sent: the same string, byte for byte
        params = {
            "method": method,
            "app_key": self._app_key,
            "v": unconfirmed.API_VERSION,
            "timestamp": str(int(self._clock().timestamp() * 1000)),
            "format": "json",
        }
        params["sign"] = sign(params, text, self._app_secret)
        what = f"{method} for {number}"
        try:
            response = self._http.post(
                self._url,
                params=params,
                content=text.encode(),
                headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
            )
        except httpx.HTTPError as exc:
            raise CarrierUnavailable(f"4PX {what}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise CarrierUnavailable(f"4PX {what}: HTTP {status}")
        if status >= 400:
            raise _HttpRefused(status, response.text)
        return build.parse_envelope(response.content, what)
