"""The YunExpress adapter against the open-API sandbox over loopback HTTP: token and signing, never twice,
cancel and reissue, the label, refusals and faults."""

import json
import re
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import numpy as np
import pymupdf
import pytest
import zxingcpp

from infra.local.sandboxes.yunexpress import DEFAULT_APP_ID, DEFAULT_APP_SECRET, YunExpressSandbox
from parcelflow.adapters.carriers.yunexpress import YunExpressClient
from parcelflow.adapters.carriers.yunexpress.client import TokenCache
from parcelflow.domain.errors import CarrierUnavailable, WaybillNotCancellable, WaybillRejected
from parcelflow.domain.models import Address, Channel, DeclarationLine, Money, Package, ParcelSize
from parcelflow.ports import Waybill, WaybillRequest
from tests import factories

YUN_CREDENTIALS = {"app_id": DEFAULT_APP_ID, "app_secret": DEFAULT_APP_SECRET}


def _package(channel: Channel, platform_id: str = "111-0000001-0000001", **changes: object) -> Package:
    order = factories.order(
        platform_order_id=platform_id,
        order_id=f"amzus1-{platform_id}",
        lines=[factories.line("CASE-BLK", 2), factories.line("CASE-RED", 1)],
    )
    return factories.packed(order, channel)[0].model_copy(update=changes)


def _request(
    channel: Channel,
    recipient: Address | None = None,
    *,
    package: Package | None = None,
    ioss_number: str | None = None,
) -> WaybillRequest:
    package = package or _package(channel)
    return WaybillRequest(
        package=package,
        channel=channel,
        recipient=recipient or factories.address(),
        sender=factories.store().sender,
        customer_order_number=package.customer_order_number,
        ioss_number=ioss_number,
    )


def _client(
    channel: Channel, http: httpx.Client, credentials: dict[str, str] | None = None
) -> YunExpressClient:
    return YunExpressClient(channel, credentials or YUN_CREDENTIALS, http, tokens=TokenCache())


# -- create --------------------------------------------------------------------------------------------------
def test_a_waybill_is_created_and_charged_once(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    request = _request(channel)
    waybill = carrier.create_waybill(request)

    assert waybill.customer_order_number == request.customer_order_number
    assert re.fullmatch(r"YT\d{16}", waybill.tracking_number or "")
    assert waybill.waybill_number and not waybill.cancelled
    [charge] = yun.charges
    assert charge["customer_order_number"] == request.customer_order_number
    assert waybill.freight == Money(amount=charge["amount"], currency="CNY")
    stored = yun.orders[request.customer_order_number]["request"]
    assert stored["packages"][0]["weight"] == Decimal("0.360")  # 3 × 120 g, exactly
    assert stored["receiver"]["postal_code"] == "62701"
    assert stored["declaration_info"][0]["name_local"] == "手机壳"
    assert "origin_country" not in stored["declaration_info"][0]  # no field the reference does not name
    assert yun.calls["token"] == 1 and yun.create_calls() == {request.customer_order_number: 1}


def test_the_parcel_size_is_declared_else_the_default(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    sized = _package(channel, size_cm=ParcelSize(length_cm=Decimal("30.5"), width_cm=20, height_cm=4))
    unsized = _package(channel, "111-0000002-0000002", size_cm=None)
    carrier.create_waybill(_request(channel, package=sized))
    carrier.create_waybill(_request(channel, package=unsized))

    def sides(package: Package) -> list[Decimal]:
        parcel = yun.orders[package.customer_order_number]["request"]["packages"][0]
        return [parcel[side] for side in ("length", "width", "height")]

    assert sides(sized) == [Decimal("30.5"), 20, 4]
    assert sides(unsized) == [20, 15, 10]
    assert yun.calls["token"] == 1  # one token for the process, cached


def test_an_eu_parcel_declares_its_ioss_number(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    request = _request(
        channel, factories.address(country_code="DE", postcode="10117"), ioss_number="IM2760000001"
    )
    carrier.create_waybill(request)
    stored = yun.orders[request.customer_order_number]["request"]
    assert stored["customs_number"] == "IM2760000001"
    assert stored["extra_services"] == [{"extra_code": "V1"}]


def test_a_second_create_returns_the_first_waybill_and_charges_nothing(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    request = _request(channel)
    first = carrier.create_waybill(request)
    again = carrier.create_waybill(request)

    assert again == first
    assert len(yun.charges_for(request.customer_order_number)) == 1
    assert (yun.calls["create"], yun.calls["info"]) == (2, 1)


def test_a_lost_answer_is_found_by_the_look_up_and_never_bought_again(
    yun: YunExpressSandbox, channel: Channel
) -> None:
    """The sandbox would charge a second create (as some carriers do): only the look-up protects us."""
    yun.refuses_duplicates = False
    request = _request(channel)
    with httpx.Client(timeout=0.5) as http:
        client = _client(channel, http)
        client.find_waybill("warm-up")  # the token is fetched before the slow call
        yun.delay_next(2.0)  # the carrier creates and charges, and its answer never reaches us in time
        with pytest.raises(CarrierUnavailable):
            client.create_waybill(request)
        # What services.waybills does on the retry of an earlier attempt: look up first.
        found = client.find_waybill(request.customer_order_number)
    assert found is not None and found.tracking_number and not found.cancelled
    assert found.waybill_number == yun.orders[request.customer_order_number]["waybill_number"]
    assert len(yun.charges) == 1 and yun.create_calls() == {request.customer_order_number: 1}


def test_a_lost_answer_then_a_create_is_answered_with_the_first_waybill(
    yun: YunExpressSandbox, channel: Channel
) -> None:
    request = _request(channel)
    with httpx.Client(timeout=0.5) as http:
        client = _client(channel, http)
        client.find_waybill("warm-up")
        yun.delay_next(2.0)
        with pytest.raises(CarrierUnavailable):
            client.create_waybill(request)
    with httpx.Client(timeout=5.0) as http:
        again = _client(channel, http).create_waybill(request)
    assert again.waybill_number == yun.orders[request.customer_order_number]["waybill_number"]
    assert len(yun.charges) == 1


def test_a_tracking_number_that_comes_later(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    yun.defer_tracking_next(lookups=2)
    request = _request(channel)
    waybill = carrier.create_waybill(request)
    assert waybill.waybill_number and waybill.tracking_number is None

    first = carrier.find_waybill(request.customer_order_number)
    assert first is not None and first.tracking_number is None
    later = carrier.find_waybill(request.customer_order_number)
    assert later == Waybill(
        customer_order_number=waybill.customer_order_number,
        waybill_number=waybill.waybill_number,
        tracking_number=yun.orders[request.customer_order_number]["pending_tracking_number"],
        freight=waybill.freight,
    )
    assert len(yun.charges) == 1


# -- look-up -------------------------------------------------------------------------------------------------
def test_find_waybill(yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient) -> None:
    assert carrier.find_waybill("amzus1-nothing-1") is None
    created = carrier.create_waybill(_request(channel))
    assert carrier.find_waybill(created.customer_order_number) == created


def test_a_number_that_is_another_orders_waybill_is_not_that_order(
    channel: Channel, carrier: YunExpressClient
) -> None:
    created = carrier.create_waybill(_request(channel))
    assert carrier.find_waybill(created.waybill_number) is None  # found, but under another number


def test_a_carrier_order_cancelled_on_the_portal_is_found_cancelled(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    request = _request(channel)
    created = carrier.create_waybill(request)
    yun.set_status(request.customer_order_number, "Q")
    found = carrier.find_waybill(request.customer_order_number)
    assert found is not None and found.cancelled and found.waybill_number == created.waybill_number
    with pytest.raises(WaybillRejected, match="reissue"):
        carrier.create_waybill(request)  # the number is used up: never a second order under it
    assert len(yun.charges) == 1


# -- cancel and reissue --------------------------------------------------------------------------------------
def test_cancel_then_reissue_never_leaves_two_live_orders_for_one_package(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    package = _package(channel)
    first = carrier.create_waybill(_request(channel, package=package))
    carrier.cancel_waybill(package.customer_order_number, first.waybill_number, "address fix")
    carrier.cancel_waybill(package.customer_order_number, first.waybill_number, "again")  # already: done

    reissued = package.model_copy(update={"reissue": 1, "cancelled_waybills": [first.waybill_number]})
    assert reissued.customer_order_number == f"{package.package_id}-R1"
    second = carrier.create_waybill(_request(channel, package=reissued))

    assert second.customer_order_number == f"{package.package_id}-R1"
    assert second.waybill_number != first.waybill_number
    [live] = yun.live_orders_for(package.package_id)
    assert live["waybill_number"] == second.waybill_number
    old = carrier.find_waybill(package.customer_order_number)
    assert old is not None and old.cancelled
    assert [r["waybill_number"] for r in yun.refunds] == [first.waybill_number]
    assert yun.net_charged() == yun.charges_for(reissued.customer_order_number)[0]["amount"]


def test_a_parcel_the_warehouse_received_cannot_be_cancelled(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    request = _request(channel)
    waybill = carrier.create_waybill(request)
    yun.receive(waybill.waybill_number)
    with pytest.raises(WaybillNotCancellable, match="received") as raised:
        carrier.cancel_waybill(request.customer_order_number, waybill.waybill_number, "address fix")
    assert raised.value.customer_order_number == request.customer_order_number
    assert yun.refunds == [] and len(yun.live_orders_for(request.package.package_id)) == 1


def test_a_waybill_the_carrier_does_not_know_cannot_be_cancelled(carrier: YunExpressClient) -> None:
    with pytest.raises(WaybillNotCancellable):
        carrier.cancel_waybill("amzus1-x-1", "YW00000000000", "test")


def test_a_cancel_whose_answer_is_lost_is_confirmed_by_the_next(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    request = _request(channel)
    waybill = carrier.create_waybill(request)
    yun.fail_next(1, status=502)
    with pytest.raises(CarrierUnavailable):
        carrier.cancel_waybill(request.customer_order_number, waybill.waybill_number, "fix")
    carrier.cancel_waybill(request.customer_order_number, waybill.waybill_number, "fix")
    assert yun.orders[request.customer_order_number]["status"] == "Q"


# -- label ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("inline", [True, False], ids=["label_string", "url"])
def test_the_label_is_a_one_page_pdf_whose_barcode_is_the_tracking_number(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient, inline: bool
) -> None:
    yun.label_inline = inline
    request = _request(channel)
    waybill = carrier.create_waybill(request)
    pdf = carrier.get_label(request.customer_order_number, waybill.waybill_number)

    assert pdf.startswith(b"%PDF")
    assert yun.calls["label_file"] == (0 if inline else 1)
    document = pymupdf.open(stream=pdf, filetype="pdf")  # type: ignore[no-untyped-call]
    assert document.page_count == 1
    pixmap = document[0].get_pixmap(dpi=300)
    image = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.width, pixmap.n)
    assert [code.text for code in zxingcpp.read_barcodes(image)] == [waybill.tracking_number]


def test_a_cancelled_order_has_no_label(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    request = _request(channel)
    waybill = carrier.create_waybill(request)
    carrier.cancel_waybill(request.customer_order_number, waybill.waybill_number, "fix")
    with pytest.raises(WaybillRejected, match="cancelled"):
        carrier.get_label(request.customer_order_number, waybill.waybill_number)


# -- refusals: each names the field --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("country", "postcode", "valid"),
    [
        ("US", "94043", True),
        ("US", "94043-1351", True),
        ("US", "9404", False),
        ("US", None, False),
        ("GB", "SW1A 2AA", True),
        ("GB", "M1 1AE", True),
        ("GB", "12345", False),
        ("DE", "10117", True),
        ("DE", "1011", False),
        ("FR", "75007", True),
        ("FR", "7500", False),
        ("ES", "28014", True),
        ("ES", "99999", False),
        ("IT", "00186", True),
        ("IT", "186", False),
        ("AU", "2000", True),
        ("AU", "20000", False),
        ("CA", "H3B 1K9", True),
        ("CA", "H3B1K9", True),
        ("CA", "12345", False),
        ("JP", "150-0002", True),
        ("JP", "1500002", True),
        ("JP", "150-002", False),
        ("HK", None, True),  # no postcode system: none required
    ],
)
def test_postcodes_are_checked_like_a_carrier_does(
    yun: YunExpressSandbox,
    channel: Channel,
    carrier: YunExpressClient,
    country: str,
    postcode: str | None,
    valid: bool,
) -> None:
    recipient = factories.address(country_code=country, postcode=postcode)
    if valid:
        assert carrier.create_waybill(_request(channel, recipient)).waybill_number
        assert len(yun.charges) == 1
    else:
        with pytest.raises(WaybillRejected, match="postal_code"):
            carrier.create_waybill(_request(channel, recipient))
        assert yun.charges == []


def _line(**changes: object) -> DeclarationLine:
    values: dict[str, object] = {
        "sku": "CASE-BLK",
        "name_en": "Phone case",
        "name_local": "手机壳",
        "quantity": 1,
        "unit_value": Money(amount=Decimal("5.00"), currency="USD"),
        "unit_weight_g": 120,
        "hs_code": "392690",
    }
    return DeclarationLine.model_validate(values | changes)


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (_line(name_local="Phone case"), "declaration_info[0].name_local"),
        (_line(hs_code="3926.90"), "declaration_info[0].hs_code"),
        (_line(hs_code=None), "declaration_info[0].hs_code"),
    ],
)
def test_a_declaration_the_carrier_would_refuse_names_its_field(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient, line: DeclarationLine, field: str
) -> None:
    package = _package(channel, declaration=[line])
    with pytest.raises(WaybillRejected, match=re.escape(field)):
        carrier.create_waybill(_request(channel, package=package))
    assert yun.charges == []


def test_a_bad_ioss_number_is_refused(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    recipient = factories.address(country_code="DE", postcode="10117")
    with pytest.raises(WaybillRejected, match="customs_number"):
        carrier.create_waybill(_request(channel, recipient, ioss_number="DE123"))
    assert yun.charges == []


def test_a_customer_order_number_over_50_characters_is_refused(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    package = _package(channel, package_id="p" * 51)
    with pytest.raises(WaybillRejected, match="customer_order_number"):
        carrier.create_waybill(_request(channel, package=package))
    assert yun.charges == [] and yun.create_calls() == {"p" * 51: 1}


def test_a_refused_order_can_be_fixed_and_sent_again(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    bad = _request(channel, factories.address(postcode="ABCDE"))
    with pytest.raises(WaybillRejected) as raised:
        carrier.create_waybill(bad)
    assert raised.value.package_id == bad.package.package_id
    assert "receiver.postal_code 'ABCDE' is not a valid US postcode" in raised.value.reason
    fixed = _request(channel, factories.address(postcode="62701"))
    assert carrier.create_waybill(fixed).tracking_number
    assert len(yun.charges) == 1


# -- token and signing ---------------------------------------------------------------------------------------
def test_a_wrong_secret_gets_no_token(yun: YunExpressSandbox, channel: Channel, http: httpx.Client) -> None:
    client = _client(channel, http, {"app_id": DEFAULT_APP_ID, "app_secret": "wrong"})
    with pytest.raises(WaybillRejected, match="appSecret"):
        client.create_waybill(_request(channel))
    assert yun.charges == [] and yun.orders == {} and yun.calls["create"] == 0


def test_a_token_the_carrier_dropped_is_fetched_again_once(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    carrier.find_waybill("warm-up")
    yun.expire_tokens()
    assert carrier.create_waybill(_request(channel)).tracking_number
    assert yun.calls["token"] == 2 and len(yun.charges) == 1


def test_a_token_near_its_end_is_renewed_before_use(yun: YunExpressSandbox, channel: Channel) -> None:
    now = [datetime.now(UTC)]
    yun.token_lifetime = timedelta(minutes=10)
    yun.clock = lambda: now[0]
    with httpx.Client(timeout=5.0) as http:
        client = YunExpressClient(channel, YUN_CREDENTIALS, http, clock=lambda: now[0], tokens=TokenCache())
        client.find_waybill("a")
        now[0] += timedelta(minutes=8)
        client.find_waybill("b")
        assert yun.calls["token"] == 1
        now[0] += timedelta(minutes=1, seconds=1)  # less than a minute left: renewed
        client.find_waybill("c")
    assert yun.calls["token"] == 2


def test_a_header_changed_after_signing_is_refused(yun: YunExpressSandbox, channel: Channel) -> None:
    """The sandbox checks the signature on its own: what was signed must be what arrives."""

    def restate_date(request: httpx.Request) -> None:  # the next millisecond: the sign no longer fits
        if "date" in request.headers:
            request.headers["date"] = str(int(request.headers["date"]) + 1)

    with (
        httpx.Client(timeout=5.0, event_hooks={"request": [restate_date]}) as http,
        pytest.raises(WaybillRejected, match="sign mismatch"),
    ):
        _client(channel, http).create_waybill(_request(channel))
    assert yun.charges == []


class _Reweighing(httpx.HTTPTransport):
    """Sends a create with another weight than the one signed, the signed headers unchanged."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/create"):
            content = request.read().replace(b'"weight":0.360', b'"weight":0.100')
            headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "content-length"]
            request = httpx.Request(request.method, request.url, headers=headers, content=content)
        return super().handle_request(request)


def test_a_body_changed_after_signing_is_refused(yun: YunExpressSandbox, channel: Channel) -> None:
    with (
        httpx.Client(timeout=5.0, transport=_Reweighing()) as http,
        pytest.raises(WaybillRejected, match="sign mismatch"),
    ):
        _client(channel, http).create_waybill(_request(channel))
    assert yun.charges == []


def test_a_stale_date_is_refused(yun: YunExpressSandbox, channel: Channel, http: httpx.Client) -> None:
    late = datetime.now(UTC) - timedelta(minutes=6)
    client = YunExpressClient(channel, YUN_CREDENTIALS, http, clock=lambda: late, tokens=TokenCache())
    with pytest.raises(WaybillRejected, match="date"):
        client.create_waybill(_request(channel))
    assert yun.charges == []


def test_the_sandbox_signs_the_uri_as_the_adapter_does(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    """If the carrier (and so the sandbox) signed the query string too, every GET would fail: this is the
    test that fails when only one side's unconfirmed choice is changed."""
    yun.sign_query_in_uri = True
    with pytest.raises(WaybillRejected, match="sign mismatch"):
        carrier.find_waybill("amzus1-x-1")


# -- faults --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 502, 503])
def test_outages_are_transient_and_charge_nothing(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient, status: int
) -> None:
    carrier.find_waybill("warm-up")
    yun.fail_next(1, status=status)
    with pytest.raises(CarrierUnavailable):
        carrier.create_waybill(_request(channel))
    assert yun.charges == []
    assert carrier.create_waybill(_request(channel)).tracking_number  # the next attempt goes through


def test_a_look_up_during_an_outage_is_not_none(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    carrier.find_waybill("warm-up")
    yun.fail_next(1, status=503)
    with pytest.raises(CarrierUnavailable):
        carrier.find_waybill("amzus1-x-1")


def test_a_connection_refused_is_transient(channel: Channel, http: httpx.Client) -> None:
    closed = YunExpressSandbox().start()
    url = closed.base_url
    closed.stop()
    client = _client(channel.model_copy(update={"endpoint": url}), http)
    with pytest.raises(CarrierUnavailable):
        client.find_waybill("amzus1-x-1")


def test_sandbox_answers_are_json_with_the_documented_envelope(
    yun: YunExpressSandbox, http: httpx.Client
) -> None:
    answer = http.get(f"{yun.base_url}/v1/order/info/get", params={"order_number": "x"})
    assert answer.status_code == 401
    body = json.loads(answer.content)
    assert set(body) == {"success", "code", "msg", "request_id"} and body["success"] is False
    assert "token" in body["msg"]


def test_a_stopped_sandbox_leaves_no_thread() -> None:
    before = set(threading.enumerate())
    with YunExpressSandbox() as sandbox:
        httpx.get(f"{sandbox.base_url}/v1/order/info/get")
    assert set(threading.enumerate()) ^ before == set()
