"""Amazon Selling Partner API: orders in (searchOrders, 2026-01-01), shipment confirmations out (ordersV0).

Field names follow the official models (orders_2026-01-01.json, ordersV0.json). Calls carry an access
token from Login with Amazon (`lwa.py`), wait for the operation's rate limit (`ratelimit.Throttle`, one
per seller account, shared by the warm invocations of a Lambda), and are retried on a throttle answer,
a 5xx or a network error. An order that does not map travels in its page's `rejected`, never raised,
so one bad order never stops a store's sync; orders Amazon fulfils (FBA) are skipped.

A sync window is fixed before its first request, from our clock (WINDOW_END_LAG back), and every request
of the window sends both its bounds: a paginationToken must come with every parameter of the request that
issued it (all but maxResultsPerPage and includedData), and the cursor holds both bounds, so a token
resumed by the next Lambda run, and a window read again after a token expired, repeat them exactly.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from parcelflow.adapters import ratelimit
from parcelflow.adapters.marketplaces import RejectedPlatformOrder
from parcelflow.adapters.marketplaces.amazon_models import (
    ConfirmShipmentOrderItem,
    ConfirmShipmentRequest,
    ErrorList,
    GetOrderAnswer,
    OrderWithPackages,
    PackageDetail,
    SearchOrdersPage,
)
from parcelflow.adapters.marketplaces.lwa import LwaTokenSource
from parcelflow.adapters.ratelimit import Limit, Throttle
from parcelflow.domain import limits
from parcelflow.domain.errors import (
    CredentialsRejected,
    MarketplaceRejected,
    MarketplaceUnavailable,
    SyncPaused,
)
from parcelflow.domain.models import (
    Address,
    ConfirmedShipment,
    Money,
    OrderLine,
    OrderPage,
    PlatformOrder,
    PlatformStatus,
    Store,
    SyncCursor,
    TrackingCorrection,
    utcnow,
)
from parcelflow.observability import logger

SEARCH_ORDERS = "searchOrders"
GET_ORDER = "getOrder"
CONFIRM_SHIPMENT = "confirmShipment"
SEARCH_ORDERS_PATH = "/orders/2026-01-01/orders"
GET_ORDER_PATH = "/orders/2026-01-01/orders/{order_id}"
CONFIRM_SHIPMENT_PATH = "/orders/v0/orders/{order_id}/shipmentConfirmation"
PAGE_SIZE = 100
MERCHANT = "MERCHANT"
# searchOrders leaves these out unless asked; order items always come inline. RECIPIENT: the address;
# FULFILLMENT: status, ship-by, and per item the IOSS number (fulfillment.shipping.internationalShipping);
# PROCEEDS: the total; CANCELLATION: buyer requests.
INCLUDED_DATA = ("RECIPIENT", "FULFILLMENT", "PROCEEDS", "CANCELLATION")
# Default usage plans from the models' descriptions; `x-amzn-RateLimit-Limit` corrects the rate per account.
LIMITS: Mapping[str, Limit] = {
    SEARCH_ORDERS: Limit(rate_per_s=0.0056, burst=20),
    GET_ORDER: Limit(rate_per_s=0.5, burst=30),
    CONFIRM_SHIPMENT: Limit(rate_per_s=2.0, burst=10),
}
RATE_LIMIT_HEADER = "x-amzn-RateLimit-Limit"
MAX_THROTTLED_ANSWERS = 5  # without a deadline: then MarketplaceUnavailable (or SyncPaused while syncing)
TRANSIENT_RETRIES = 2  # after a 5xx or a network error, quick jittered retries before MarketplaceUnavailable
TRANSIENT_BASE_PAUSE_S = 0.25
# Where a new window ends: lastUpdatedBefore "must be ... at least two minutes before the time of the
# request"; one more minute for our clock against Amazon's and for a request that waits for its turn.
WINDOW_END_LAG = timedelta(minutes=3)
USER_AGENT = "parcelflow/0.1"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
OTHER_CARRIER = "Other"  # the carrierCode that makes carrierName required
_IOSS = re.compile(r"^IM[0-9]{10}$")  # "IM", a 3-digit member state code, 7 digits

_STATUSES: dict[str, PlatformStatus] = {
    "PENDING_AVAILABILITY": PlatformStatus.UNPAID,  # pre-order, payment not authorised yet: no address
    "PENDING": PlatformStatus.UNPAID,  # placed, payment not authorised yet: no address
    "UNSHIPPED": PlatformStatus.AWAITING_SHIPMENT,
    "PARTIALLY_SHIPPED": PlatformStatus.PARTIALLY_SHIPPED,
    "SHIPPED": PlatformStatus.SHIPPED,
    "CANCELLED": PlatformStatus.CANCELLED,
    # UNFULFILLABLE exists for Amazon-fulfilled orders only: seeing it here is an error, not a status.
}


# Amazon gives the address once the payment is authorised: an order in these may come without one (an
# order cancelled before it was paid never gets one).
_NO_ADDRESS_YET = frozenset({"PENDING", "PENDING_AVAILABILITY", "CANCELLED"})


def shared_throttle(store: Store, share: int = 1) -> Throttle:
    """The seller account's throttle, shared by every client of the store in this process (warm Lambda).

    `share`: how many instances call the account at once; this one keeps to its part of each limit."""
    return ratelimit.shared_throttle(("amazon", store.endpoint, store.store_id), LIMITS, share)


class OrderMappingError(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class _PaginationTokenRefused(Exception):
    """searchOrders answered 400 to a request with a paginationToken: expired or unknown."""


class AmazonSpApiClient:
    """One Amazon seller account (one store), reached at `store.endpoint`.

    `credentials` is the store's secret: refresh_token, client_id, client_secret[, lwa_endpoint].
    Keyword hooks: `rate_limits=False` turns the client-side buckets off (a 429 is still backed off);
    `throttle` replaces the store's shared one; `clock` (monotonic seconds), `sleep` and `jitter` are for
    tests, and giving any of them builds a private throttle on them; `now` is the wall clock that dates a
    window when Amazon does not.
    """

    def __init__(
        self,
        store: Store,
        credentials: dict[str, str],
        http: httpx.Client | None = None,
        *,
        rate_limits: bool = True,
        throttle: Throttle | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        jitter: Callable[[], float] | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._http = http or httpx.Client(timeout=DEFAULT_TIMEOUT, headers={"User-Agent": USER_AGENT})
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self._jitter = jitter or random.random
        self._now = now
        self._rate_limits = rate_limits
        if throttle is None:
            private = not rate_limits or any(hook is not None for hook in (clock, sleep, jitter))
            throttle = (
                Throttle(LIMITS, clock=self._clock, sleep=self._sleep, jitter=self._jitter)
                if private
                else shared_throttle(store)
            )
        self._throttle = throttle
        self._tokens = LwaTokenSource(
            store.store_id, credentials, self._http, clock=self._clock, sleep=self._sleep, jitter=self._jitter
        )

    # -- orders in ------------------------------------------------------------------------------------------
    def fetch_changes(self, cursor: SyncCursor, *, deadline: float | None = None) -> Iterator[OrderPage]:
        since, until, token = cursor.since, cursor.until, cursor.page_token
        if token is not None and until is None:
            logger.warning(
                "sync cursor has a page token but no window end: reading a new window",
                extra={"store_id": self._store.store_id},
            )
            token = None
        if until is None:
            until = self._window_end()
            if until < since:  # nothing Amazon may show yet (a clock gone back): ask later
                yield OrderPage(orders=[], rejected=[], next_cursor=SyncCursor(since=since))
                return
        restarted = False
        while True:
            try:
                page = self._search_page(since, until, token, deadline)
            except _PaginationTokenRefused as exc:
                if restarted:
                    raise MarketplaceUnavailable(
                        f"searchOrders refused a fresh paginationToken: {exc}"
                    ) from exc
                # A cursor stored by an older version may end later than Amazon now allows: a shorter
                # window is harmless, the next one starts where this one ends.
                restarted, token, until = True, None, max(since, min(until, self._window_end()))
                logger.info(
                    "paginationToken refused: reading the window again from its first page",
                    extra={"store_id": self._store.store_id, "error": str(exc)},
                )
                continue
            next_token = page.pagination.next_token if page.pagination is not None else None
            orders, rejected = self._map_page(page.orders)
            yield OrderPage(
                orders=orders,
                rejected=rejected,
                next_cursor=SyncCursor(since=since, until=until, page_token=next_token)
                if next_token
                else SyncCursor(since=self._served_until(page, since, until)),
            )
            if not next_token:
                return
            token = next_token

    def _search_page(
        self, since: datetime, until: datetime, token: str | None, deadline: float | None
    ) -> SearchOrdersPage:
        # The same parameters on every page of the window: a token is honoured only with those of the
        # request that issued it (maxResultsPerPage and includedData excepted).
        params: dict[str, str] = {
            "lastUpdatedAfter": iso8601(since),
            "lastUpdatedBefore": iso8601(until),
            "fulfilledBy": MERCHANT,
            "maxResultsPerPage": str(PAGE_SIZE),
            "includedData": ",".join(INCLUDED_DATA),
        }
        if self._store.marketplace_ids:
            params["marketplaceIds"] = ",".join(self._store.marketplace_ids)
        if token is not None:
            params["paginationToken"] = token
        response = self._call(SEARCH_ORDERS, "GET", SEARCH_ORDERS_PATH, params=params, deadline=deadline)
        if response.status_code == 400 and token is not None:
            raise _PaginationTokenRefused(_error_text(response))
        if response.status_code >= 400:
            raise MarketplaceRejected(f"searchOrders: {_error_text(response)}")
        try:
            # Read with the standard parser, not pydantic's: one order holding a number of 4,300 digits
            # or more would make the whole page unreadable there (see _json_int).
            return SearchOrdersPage.model_validate(json.loads(response.content, parse_int=_json_int))
        except (ValueError, RecursionError) as exc:  # not JSON, or not a SearchOrdersResponse
            raise MarketplaceUnavailable(
                f"searchOrders: answer is not a SearchOrdersResponse (HTTP {response.status_code})"
            ) from exc

    def _window_end(self) -> datetime:
        """Where a window asked for now may end: WINDOW_END_LAG before our clock, in whole seconds."""
        return (self._now() - WINDOW_END_LAG).astimezone(UTC).replace(microsecond=0)

    def _served_until(self, page: SearchOrdersPage, since: datetime, until: datetime) -> datetime:
        """Where the next window starts: our end, or Amazon's if its answer says it served less."""
        if not page.last_updated_before:
            return until
        try:
            served = _time(page.last_updated_before, "lastUpdatedBefore")
        except OrderMappingError:
            logger.warning(
                "searchOrders lastUpdatedBefore is not a date-time: keeping our window's end",
                extra={"store_id": self._store.store_id, "value": page.last_updated_before[:80]},
            )
            return until
        if served >= until:
            return until
        logger.warning(
            "searchOrders served a shorter window than asked: the next one starts at its end",
            extra={"store_id": self._store.store_id, "asked": iso8601(until), "served": iso8601(served)},
        )
        return max(served, since)

    def _map_page(self, raw_orders: list[Any]) -> tuple[list[PlatformOrder], list[RejectedPlatformOrder]]:
        orders: list[PlatformOrder] = []
        rejected: list[RejectedPlatformOrder] = []
        for raw in raw_orders:
            if _fulfilled_by_amazon(raw):
                continue  # not ours to ship: neither mapped nor rejected
            mapped = self._map_or_reject(raw)
            if isinstance(mapped, PlatformOrder):
                orders.append(mapped)
            else:
                rejected.append(mapped)
        return orders, rejected

    def _map_or_reject(self, raw: Any) -> PlatformOrder | RejectedPlatformOrder:
        raw_dict = dict(raw) if isinstance(raw, Mapping) else {"value": raw}
        try:
            return map_order(raw_dict)
        # OrderMappingError and pydantic's ValidationError are ValueErrors; anything else is a shape nobody
        # foresaw. Either way this order waits for a person and the rest of the page goes on.
        except Exception as exc:  # one order must never stop its store's sync
            rejected = RejectedPlatformOrder(
                platform_order_id=_order_id_of(raw_dict),
                raw=raw_dict,
                error=_describe(exc),
                platform_status=_status_or_none(raw_dict),
            )
            logger.warning(
                "amazon order does not map",
                extra={
                    "store_id": self._store.store_id,
                    "platform_order_id": rejected.platform_order_id[:80],
                    "error": rejected.error,
                },
            )
            return rejected

    # -- shipments out --------------------------------------------------------------------------------------
    def confirm_shipment(self, shipment: ConfirmedShipment) -> None:
        if not self._store.marketplace_ids:
            raise MarketplaceRejected(f"store {self._store.store_id} has no marketplace id to confirm in")
        marketplace_id = self._store.marketplace_ids[0]
        response = self._post_confirmation(shipment, marketplace_id)
        if response.is_success:
            return
        reason = _error_text(response)
        if response.status_code != 400:
            raise MarketplaceRejected(reason)
        # A 400 may answer a replay: our earlier call went through and its answer was lost. Look first.
        order = self._order_with_packages(shipment)
        if order is None:
            raise MarketplaceRejected(reason)
        reference = str(shipment.package.seq)
        existing = next((p for p in order.packages if p.package_reference_id == reference), None)
        ours = shipment.package.tracking_number or ""
        if existing is not None and _same_tracking(existing.tracking_number, ours):
            logger.info(
                "confirmShipment refused a replay: the package is confirmed already",
                extra={
                    "store_id": self._store.store_id,
                    "platform_order_id": shipment.order.platform_order_id,
                    "package_reference_id": reference,
                },
            )
            return
        if existing is not None:
            raise MarketplaceRejected(
                f"{reason}; package {reference} of order {shipment.order.platform_order_id} is confirmed "
                f"on Amazon with tracking number {existing.tracking_number!r}, not {ours!r}"
            )
        # A store selling in several marketplaces: the order may belong to another one than the first.
        actual = order.sales_channel.marketplace_id if order.sales_channel else None
        if actual and actual != marketplace_id and actual in self._store.marketplace_ids:
            retried = self._post_confirmation(shipment, actual)
            if retried.is_success:
                return
            reason = _error_text(retried)
        raise MarketplaceRejected(reason)

    def _post_confirmation(self, shipment: ConfirmedShipment, marketplace_id: str) -> httpx.Response:
        body = confirm_shipment_body(shipment, marketplace_id)
        order_id = quote(shipment.order.platform_order_id, safe="")
        return self._call(
            CONFIRM_SHIPMENT, "POST", CONFIRM_SHIPMENT_PATH.format(order_id=order_id), json=body
        )

    def _order_with_packages(self, shipment: ConfirmedShipment) -> OrderWithPackages | None:
        """The order as Amazon holds it (getOrder with PACKAGES); None when Amazon will not say."""
        order_id = quote(shipment.order.platform_order_id, safe="")
        response = self._call(
            GET_ORDER, "GET", GET_ORDER_PATH.format(order_id=order_id), params={"includedData": "PACKAGES"}
        )
        if not response.is_success:
            logger.warning(
                "getOrder failed while checking a refused confirmation",
                extra={"store_id": self._store.store_id, "error": _error_text(response)},
            )
            return None
        try:
            return GetOrderAnswer.model_validate_json(response.content).order
        except ValidationError as exc:
            raise MarketplaceUnavailable("getOrder: answer is not a GetOrderResponse") from exc

    def correct_tracking(self, correction: TrackingCorrection) -> None:
        """ordersV0 has no call that changes a confirmed tracking number (confirmShipment refuses a
        packageReferenceId already used; updateShipmentStatus only sets ReadyForPickup, PickedUp or
        RefusedPickup), and 2026-01-01 only reads orders: a person edits the shipment in Seller Central."""
        package = correction.package
        raise MarketplaceRejected(
            "Amazon's API cannot change the tracking number of a confirmed shipment: in Seller Central, "
            f"open order {correction.order.platform_order_id} (Manage Orders), edit the shipment of package "
            f"{package.seq} and replace tracking number {correction.old_tracking_number} with "
            f"{package.tracking_number or '(none)'}"
        )

    # -- HTTP -----------------------------------------------------------------------------------------------
    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        deadline: float | None = None,
    ) -> httpx.Response:
        """One SP-API call; a 2xx or a 4xx other than a refused token or a throttle comes back.

        Rate limit first (SyncPaused rather than wait past `deadline`); a refused access token is
        refreshed once; a 429 is backed off and retried (within the deadline, or MAX_THROTTLED_ANSWERS
        times without one); 5xx and network errors get TRANSIENT_RETRIES quick retries.
        """
        throttled = transient = 0
        refreshed = False
        while True:
            if self._rate_limits:
                self._throttle.before_call(operation, deadline)
            token = self._tokens.token()
            headers = {"x-amz-access-token": token, "User-Agent": USER_AGENT, "Accept": "application/json"}
            try:
                response = self._http.request(
                    method, self._store.endpoint + path, params=params, json=json, headers=headers
                )
            except httpx.HTTPError as exc:
                transient += 1
                self._pause_after_failure(operation, transient, f"{type(exc).__name__}: {exc}", deadline)
                continue
            self._throttle.observe_limit(operation, response.headers.get(RATE_LIMIT_HEADER))
            status = response.status_code
            if status == 429:
                throttled += 1
                if deadline is None and throttled >= MAX_THROTTLED_ANSWERS:
                    self._give_up_throttled(operation, throttled)
                self._throttle.after_throttled(operation, throttled, deadline)
                continue
            if status >= 500:
                transient += 1
                self._pause_after_failure(
                    operation, transient, f"HTTP {status}: {_error_text(response)}", deadline
                )
                continue
            if _token_refused(response):
                if refreshed:
                    raise CredentialsRejected(self._store.store_id, f"{operation}: {_error_text(response)}")
                refreshed = True
                self._tokens.invalidate(token)
                logger.info(
                    "access token refused: refreshing it once",
                    extra={"store_id": self._store.store_id, "operation": operation, "status": status},
                )
                continue
            return response

    def _give_up_throttled(self, operation: str, answers: int) -> None:
        reason = f"{operation}: throttled by Amazon {answers} times in a row"
        if operation == SEARCH_ORDERS:  # a sync is paused, never failed, by throttling
            raise SyncPaused(reason, 1 / self._throttle.bucket(operation).rate_per_s)
        raise MarketplaceUnavailable(reason)

    def _pause_after_failure(
        self, operation: str, failures: int, problem: str, deadline: float | None
    ) -> None:
        if failures > TRANSIENT_RETRIES:
            raise MarketplaceUnavailable(f"{operation}: {problem}")
        pause = TRANSIENT_BASE_PAUSE_S * 2 ** (failures - 1) * self._jitter()
        if deadline is not None and self._clock() + pause > deadline:
            raise MarketplaceUnavailable(f"{operation}: {problem} (no time left to retry)")
        logger.info(
            "sp-api call failed: retrying",
            extra={"store_id": self._store.store_id, "operation": operation, "problem": problem},
        )
        self._sleep(pause)


def _token_refused(response: httpx.Response) -> bool:
    """401, or 403 with code Unauthorized: Amazon's answer to an expired, revoked or invalid token."""
    if response.status_code == 401:
        return True
    if response.status_code != 403:
        return False
    try:
        errors = ErrorList.model_validate_json(response.content).errors
    except ValidationError:
        return False
    return any(error.code == "Unauthorized" for error in errors)


def _same_tracking(theirs: str | None, ours: str) -> bool:
    return theirs is not None and theirs.strip().casefold() == ours.strip().casefold()


def _fulfilled_by_amazon(raw: Any) -> bool:
    fulfillment = raw.get("fulfillment") if isinstance(raw, Mapping) else None
    fulfilled_by = fulfillment.get("fulfilledBy") if isinstance(fulfillment, Mapping) else None
    return isinstance(fulfilled_by, str) and fulfilled_by.strip().upper() != MERCHANT


def confirm_shipment_body(shipment: ConfirmedShipment, marketplace_id: str) -> dict[str, Any]:
    """The ConfirmShipmentRequest for one package (ordersV0)."""
    channel = shipment.channel
    package = shipment.package
    if not package.tracking_number:
        raise MarketplaceRejected(f"package {package.package_id} has no tracking number to confirm")
    other = channel.carrier_code.casefold() == OTHER_CARRIER.casefold()
    try:
        request = ConfirmShipmentRequest(
            marketplace_id=marketplace_id,
            package_detail=PackageDetail(
                package_reference_id=str(package.seq),
                carrier_code=channel.carrier_code,
                carrier_name=channel.name if other else None,
                shipping_method=channel.shipping_method,
                tracking_number=package.tracking_number,
                ship_date=iso8601(shipment.shipped_at),
                order_items=[
                    ConfirmShipmentOrderItem(order_item_id=line.line_id, quantity=line.quantity)
                    for line in package.lines
                ],
            ),
        )
    except ValidationError as exc:
        raise MarketplaceRejected(
            f"package {package.package_id} does not make a ConfirmShipmentRequest: {_describe(exc)}"
        ) from exc
    return request.wire()


# -- mapping ------------------------------------------------------------------------------------------------
# An amount's text longer than this is not a price (limits.MAX_AMOUNT has 10 digits, 4 places at most).
_MAX_AMOUNT_CHARS = 40
# An int with more bits than this is shown by its size: Python will not print one past 4,300 digits.
_SHOWN_INT_BITS = 128
_MAX_JSON_INT_DIGITS = 4000  # below sys.int_info.default_max_str_digits (4,300)


def map_order(raw: Mapping[str, Any]) -> PlatformOrder:
    """One searchOrders order → PlatformOrder. Raises OrderMappingError naming the Amazon field.

    Every value is held to domain/limits.py here, where the Amazon field can be named; the domain models
    check the same bounds again as the backstop.
    """
    order_id = _text(raw, "orderId", "orderId", limits.bounded_id)
    fulfillment = _fulfillment(raw)
    status_raw, status = _status(fulfillment)
    items = raw.get("orderItems")
    if not isinstance(items, list) or not items:
        raise OrderMappingError("orderItems", "missing or empty")
    if len(items) > limits.MAX_LINES:
        raise OrderMappingError("orderItems", f"more than {limits.MAX_LINES} items ({len(items)})")
    # A request to cancel an order not paid for yet changes nothing (it cannot ship before): if the
    # payment clears, the request is still on its items and the order is CANCEL_REQUESTED then.
    if status not in (PlatformStatus.CANCELLED, PlatformStatus.UNPAID) and any(
        _cancellation_pending(item) for item in items
    ):
        status = PlatformStatus.CANCEL_REQUESTED
    ship_by_window = fulfillment.get("shipByWindow")
    ship_by = (
        _time(ship_by_window.get("latestDateTime"), "fulfillment.shipByWindow.latestDateTime")
        if isinstance(ship_by_window, Mapping) and ship_by_window.get("latestDateTime")
        else None
    )
    proceeds = raw.get("proceeds")
    grand_total = proceeds.get("grandTotal") if isinstance(proceeds, Mapping) else None
    return PlatformOrder(
        platform_order_id=order_id,
        platform_status=status,
        platform_status_raw=status_raw,
        ordered_at=_time(raw.get("createdTime"), "createdTime"),
        updated_at=_time(raw.get("lastUpdatedTime"), "lastUpdatedTime"),
        ship_by=ship_by,
        lines=[_line(item, f"orderItems[{i}]") for i, item in enumerate(items)],
        shipping_address=_address(raw, status_raw),
        total=_money(grand_total, "proceeds.grandTotal") if grand_total is not None else None,
        ioss_number=_ioss_number(items),
    )


def _fulfillment(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    fulfillment = raw.get("fulfillment")
    if not isinstance(fulfillment, Mapping):
        raise OrderMappingError("fulfillment", "missing (FULFILLMENT not in includedData?)")
    return fulfillment


def _status(fulfillment: Mapping[str, Any]) -> tuple[str, PlatformStatus]:
    where = "fulfillment.fulfillmentStatus"
    status_raw = _text(fulfillment, "fulfillmentStatus", where, limits.bounded_id)
    status = _STATUSES.get(status_raw)
    if status is None:
        raise OrderMappingError(where, f"unsupported value {_shown(status_raw)}")
    return status_raw, status


def _status_or_none(raw: Mapping[str, Any]) -> PlatformStatus | None:
    try:
        return _status(_fulfillment(raw))[1]
    except OrderMappingError:
        return None


def _order_id_of(raw: Mapping[str, Any]) -> str:
    """What a rejected order is known by: its orderId if that is text (the store keys a long or odd one
    by its digest), else nothing."""
    order_id = raw.get("orderId")
    return order_id if isinstance(order_id, str) else ""


def _cancellation_pending(item: Any) -> bool:
    """The buyer asked to cancel the item, or it was cancelled while the order goes on: a person decides."""
    cancellation = item.get("cancellation") if isinstance(item, Mapping) else None
    if not isinstance(cancellation, Mapping):
        return False
    request = cancellation.get("cancellationRequest")
    requested_by_buyer = isinstance(request, Mapping) and request.get("requester") == "BUYER"
    return requested_by_buyer or isinstance(cancellation.get("cancellationExecution"), Mapping)


def _ioss_number(items: list[Any]) -> str | None:
    """orderItems[].fulfillment.shipping.internationalShipping.iossNumber: one number for the order."""
    found: tuple[str, str] | None = None  # (number, where)
    for i, item in enumerate(items):
        value = _dig(item, "fulfillment", "shipping", "internationalShipping", "iossNumber")
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        where = f"orderItems[{i}].fulfillment.shipping.internationalShipping.iossNumber"
        number = value.strip().upper() if isinstance(value, str) else ""
        if not _IOSS.match(number):
            raise OrderMappingError(where, f"not an IOSS number (IM and 10 digits): {_shown(value)}")
        if found is not None and found[0] != number:
            raise OrderMappingError(where, f"{number} differs from {found[1]} ({found[0]})")
        found = found or (number, where)
    return found[0] if found else None


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _line(item: Any, where: str) -> OrderLine:
    if not isinstance(item, Mapping):
        raise OrderMappingError(where, "not an object")
    quantity = item.get("quantityOrdered")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise OrderMappingError(f"{where}.quantityOrdered", f"must be an integer, got {_shown(quantity)}")
    if not 0 < quantity <= limits.MAX_QUANTITY:
        raise OrderMappingError(
            f"{where}.quantityOrdered", f"must be between 1 and {limits.MAX_QUANTITY}, got {_shown(quantity)}"
        )
    product = item.get("product")
    if not isinstance(product, Mapping):
        raise OrderMappingError(f"{where}.product", "missing")
    sku = _text(product, "sellerSku", f"{where}.product.sellerSku", limits.bounded_sku)
    price = product.get("price")
    unit_price = price.get("unitPrice") if isinstance(price, Mapping) else None
    return OrderLine(
        line_id=_text(item, "orderItemId", f"{where}.orderItemId", limits.bounded_id),
        sku=sku,
        title=_optional(product, "title", f"{where}.product.title") or sku,
        quantity=quantity,
        unit_price=_money(unit_price, f"{where}.product.price.unitPrice") if unit_price is not None else None,
    )


def _address(raw: Mapping[str, Any], status_raw: str) -> Address | None:
    where = "recipient.deliveryAddress"
    recipient = raw.get("recipient")
    address = recipient.get("deliveryAddress") if isinstance(recipient, Mapping) else None
    if address is None and status_raw in _NO_ADDRESS_YET:
        return None
    if not isinstance(address, Mapping):
        raise OrderMappingError(where, f"missing from a {status_raw} order (RECIPIENT not in includedData?)")
    country = _text(address, "countryCode", f"{where}.countryCode", limits.bounded_id).upper()
    if len(country) != 2 or not country.isalpha() or not country.isascii():
        raise OrderMappingError(f"{where}.countryCode", f"not an ISO 3166-1 alpha-2 code: {_shown(country)}")
    extra_lines = [
        line
        for key in ("addressLine2", "addressLine3")
        if (line := _optional(address, key, f"{where}.{key}", strict=True))
    ]
    line2 = ", ".join(extra_lines) or None
    if line2 is not None and len(line2) > limits.MAX_TEXT_CHARS:
        raise OrderMappingError(
            f"{where}.addressLine3",
            f"addressLine2 and addressLine3 together are longer than {limits.MAX_TEXT_CHARS} characters "
            f"({len(line2)})",
        )
    return Address(
        name=_text(address, "name", f"{where}.name"),
        company=_optional(address, "companyName", f"{where}.companyName"),
        line1=_text(address, "addressLine1", f"{where}.addressLine1"),
        line2=line2,
        city=_text(address, "city", f"{where}.city"),
        province=_optional(address, "stateOrRegion", f"{where}.stateOrRegion"),
        postcode=_optional(address, "postalCode", f"{where}.postalCode"),
        country_code=country,
        phone=_optional(address, "phone", f"{where}.phone"),
    )


def _money(value: Any, where: str) -> Money:
    if not isinstance(value, Mapping):
        raise OrderMappingError(where, "not a Money object")
    amount = _amount(value.get("amount"), f"{where}.amount")
    currency = _text(value, "currencyCode", f"{where}.currencyCode", limits.bounded_id)
    try:
        return Money(amount=amount, currency=currency)
    except ValidationError as exc:
        raise OrderMappingError(f"{where}.currencyCode", f"not an ISO 4217 code: {_shown(currency)}") from exc


def _amount(value: Any, where: str) -> Decimal:
    """Amazon's Money.amount is a decimal in a string; a JSON number is read too, within the same bounds."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise OrderMappingError(where, f"not a decimal: {_shown(value)}")
    if isinstance(value, int) and value.bit_length() > _SHOWN_INT_BITS:
        raise OrderMappingError(where, f"must be below {limits.MAX_AMOUNT}, got {_shown(value)}")
    text = str(value).strip()
    if len(text) > _MAX_AMOUNT_CHARS:
        raise OrderMappingError(
            where, f"not a decimal of at most {_MAX_AMOUNT_CHARS} characters ({len(text)})"
        )
    try:
        return limits.bounded_amount(Decimal(text))
    except InvalidOperation as exc:
        raise OrderMappingError(where, f"not a decimal: {_shown(value)}") from exc
    except limits.LimitExceeded as exc:
        raise OrderMappingError(where, exc.problem) from exc


def _text(
    obj: Mapping[str, Any], key: str, where: str, bound: Callable[[str], str] = limits.bounded_text
) -> str:
    """A required text field, stripped and held to its bound (a name, a line: MAX_TEXT_CHARS)."""
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise OrderMappingError(where, "missing or empty")
    return _bounded(value.strip(), where, bound)


def _optional(
    obj: Mapping[str, Any],
    key: str,
    where: str,
    bound: Callable[[str], str] = limits.bounded_text,
    *,
    strict: bool = False,
) -> str | None:
    """An optional text field: None when absent or blank (or not text, unless `strict`), else bounded."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        if strict:
            raise OrderMappingError(where, f"not a string: {_shown(value)}")
        return None
    return _bounded(value.strip(), where, bound) or None


def _bounded(value: str, where: str, bound: Callable[[str], str]) -> str:
    try:
        return bound(value)
    except limits.LimitExceeded as exc:
        raise OrderMappingError(where, exc.problem) from exc


def _json_int(digits: str) -> int | float:
    """An integer of the page; one too long for Python to read (4,300 digits) is read as infinite, so its
    order is refused naming the field (and can still be stored) instead of the page failing."""
    if len(digits.lstrip("-")) <= _MAX_JSON_INT_DIGITS:
        return int(digits)
    return float("-inf") if digits.startswith("-") else float("inf")


def _shown(value: Any) -> str:
    """limits.shown, safe for an int too big to print (repr refuses past 4,300 digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > _SHOWN_INT_BITS:
        return f"an integer of {value.bit_length()} bits"
    try:
        return limits.shown(value)
    except ValueError:  # a container holding such an int
        return f"a {type(value).__name__}"


def _time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise OrderMappingError(where, "missing")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise OrderMappingError(where, f"not an ISO 8601 date-time: {_shown(value)}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def iso8601(moment: datetime) -> str:
    """UTC, whole seconds (rounded down, so a lower bound stays inclusive), with a Z."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(exc: Exception) -> str:
    """What was wrong, short: an error never repeats a huge value whole."""
    if isinstance(exc, OrderMappingError):
        return str(exc)
    if not isinstance(exc, ValidationError):
        return f"unexpected shape: {type(exc).__name__}: {limits.shown(str(exc))}"
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
    )


def _error_text(response: httpx.Response) -> str:
    """Amazon's errors[].message (with details), or the start of whatever came back."""
    try:
        errors = ErrorList.model_validate_json(response.content).errors
    except ValidationError:
        errors = []
    messages = [f"{e.message} ({e.details})" if e.details else e.message for e in errors if e.message]
    if messages:
        return "; ".join(messages)
    return f"HTTP {response.status_code}: {response.text[:200]}"
