"""The YunExpress adapter against the sandbox over loopback HTTP: signing, never twice, refusals, faults."""

import json
import re
import threading
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime

import httpx
import pytest

from infra.local.sandboxes.yunexpress import DEFAULT_APP_ID, DEFAULT_APP_SECRET, YunExpressSandbox
from parcelflow.adapters.carriers.yunexpress import YunExpressClient, sign
from parcelflow.domain.errors import CarrierUnavailable, WaybillRejected
from parcelflow.domain.models import Address, Channel
from parcelflow.ports import Waybill, WaybillRequest
from tests import factories

YUN_CREDENTIALS = {"app_id": DEFAULT_APP_ID, "app_secret": DEFAULT_APP_SECRET}


def _request(
    channel: Channel, recipient: Address | None = None, platform_id: str = "111-0000001-0000001"
) -> WaybillRequest:
    store = factories.store()
    order = factories.order(
        platform_order_id=platform_id,
        order_id=f"amzus1-{platform_id}",
        lines=[factories.line("CASE-BLK", 2), factories.line("CASE-RED", 1)],
    )
    package = factories.packed(order, channel)[0]
    return WaybillRequest(
        package=package, channel=channel, recipient=recipient or order.shipping_address, sender=store.sender
    )


def test_a_waybill_is_created_and_charged_once(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    request = _request(channel)
    waybill = carrier.create_waybill(request)

    assert waybill.customer_order_number == request.package.package_id
    assert re.fullmatch(r"YT\d{16}", waybill.tracking_number or "")
    assert waybill.waybill_number
    [charge] = yun.charges
    assert charge["customer_order_number"] == request.package.package_id
    assert isinstance(charge["amount"], Decimal) and charge["amount"] > 0
    stored = yun.orders[request.package.package_id]["request"]
    assert stored["packages"][0]["weight"] == Decimal("0.360")  # 3 × 120 g, exactly
    assert stored["receiver"]["postal_code"] == "62701"


def test_a_second_create_returns_the_first_waybill_and_charges_nothing(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    request = _request(channel)
    first = carrier.create_waybill(request)
    again = carrier.create_waybill(request)

    assert again == first
    assert len(yun.charges_for(request.package.package_id)) == 1
    assert yun.calls == {"create": 2, "info": 1}


def test_find_waybill(yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient) -> None:
    assert carrier.find_waybill("amzus1-nothing-1") is None
    created = carrier.create_waybill(_request(channel))
    assert carrier.find_waybill(created.customer_order_number) == created


def test_a_timeout_after_the_carrier_created_it_is_found_not_bought_again(
    yun: YunExpressSandbox, channel: Channel
) -> None:
    request = _request(channel)
    yun.delay_next(2.0)  # the carrier creates and charges, and its answer never reaches us in time
    with httpx.Client(timeout=0.3) as http:
        client = YunExpressClient(channel, YUN_CREDENTIALS, http)
        with pytest.raises(CarrierUnavailable):
            client.create_waybill(request)
        # What services.waybills does on the retry of an earlier attempt: look up first.
        found = client.find_waybill(request.package.package_id)
    assert found is not None and found.tracking_number
    assert len(yun.charges) == 1


def test_a_tracking_number_that_comes_later(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    yun.defer_tracking_next()
    request = _request(channel)
    waybill = carrier.create_waybill(request)
    assert waybill.waybill_number and waybill.tracking_number is None
    tracking = yun.assign_tracking(request.package.package_id)
    assert carrier.find_waybill(request.package.package_id) == Waybill(
        customer_order_number=waybill.customer_order_number,
        waybill_number=waybill.waybill_number,
        tracking_number=tracking,
    )


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


def test_a_wrong_secret_is_refused(yun: YunExpressSandbox, channel: Channel, http: httpx.Client) -> None:
    client = YunExpressClient(channel, {"app_id": "sandbox-app", "app_secret": "wrong"}, http)
    with pytest.raises(WaybillRejected, match="signature mismatch"):
        client.create_waybill(_request(channel))
    assert yun.charges == [] and yun.orders == {}


def test_a_header_changed_after_signing_is_refused(yun: YunExpressSandbox, channel: Channel) -> None:
    """The sandbox checks the signature on its own: what was signed must be what arrives."""

    def restate_date(request: httpx.Request) -> None:  # the same moment, written another way
        request.headers["date"] = datetime.now(UTC).isoformat()

    with httpx.Client(timeout=5.0, event_hooks={"request": [restate_date]}) as http:
        client = YunExpressClient(channel, YUN_CREDENTIALS, http)
        with pytest.raises(WaybillRejected, match="signature mismatch"):
            client.create_waybill(_request(channel))
    assert yun.charges == []


def test_a_stale_date_is_refused(yun: YunExpressSandbox, channel: Channel, http: httpx.Client) -> None:
    client = YunExpressClient(channel, YUN_CREDENTIALS, http, clock=lambda: datetime(2024, 1, 1, tzinfo=UTC))
    with pytest.raises(WaybillRejected, match="date"):
        client.create_waybill(_request(channel))
    assert yun.charges == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_outages_are_transient_and_charge_nothing(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient, status: int
) -> None:
    yun.fail_next(1, status=status)
    with pytest.raises(CarrierUnavailable):
        carrier.create_waybill(_request(channel))
    assert yun.charges == []
    assert carrier.create_waybill(_request(channel)).tracking_number  # the next attempt goes through


def test_a_connection_refused_is_transient(channel: Channel, http: httpx.Client) -> None:
    closed = YunExpressSandbox().start()
    url = closed.base_url
    closed.stop()
    client = YunExpressClient(channel.model_copy(update={"endpoint": url}), YUN_CREDENTIALS, http)
    with pytest.raises(CarrierUnavailable):
        client.find_waybill("amzus1-x-1")


def test_a_cancelled_carrier_order_needs_a_person(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient
) -> None:
    request = _request(channel)
    carrier.create_waybill(request)
    yun.set_status(request.package.package_id, "E")
    with pytest.raises(WaybillRejected, match="cancelled"):
        carrier.find_waybill(request.package.package_id)


def test_the_label_url_serves_a_pdf(
    yun: YunExpressSandbox, channel: Channel, carrier: YunExpressClient, http: httpx.Client
) -> None:
    waybill = carrier.create_waybill(_request(channel))
    target = f"/v1/order/label/get?order_number={waybill.waybill_number}"
    date = format_datetime(datetime.now(UTC), usegmt=True)
    answer = http.get(
        yun.base_url + target,
        headers={
            "token": DEFAULT_APP_ID,
            "date": date,
            "sign": sign(DEFAULT_APP_SECRET, "GET", target, date, b""),
        },
    ).json()
    assert answer["success"] is True
    pdf = http.get(answer["result"]["label_url"])
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and waybill.waybill_number.encode() in pdf.content


def test_sandbox_answers_are_json_with_the_documented_envelope(
    yun: YunExpressSandbox, http: httpx.Client
) -> None:
    answer = http.get(f"{yun.base_url}/v1/order/info/get", params={"order_number": "x"})
    assert answer.status_code == 401
    assert set(json.loads(answer.content)) == {"success", "code", "msg", "request_id"}


def test_a_stopped_sandbox_leaves_no_thread() -> None:
    before = set(threading.enumerate())
    with YunExpressSandbox() as sandbox:
        httpx.get(f"{sandbox.base_url}/v1/order/info/get")
    assert set(threading.enumerate()) ^ before == set()
