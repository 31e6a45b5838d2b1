"""The demo's flow through the embedded stack: real ASL, real handlers, sandboxes over HTTP."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pymupdf
import pytest
import zxingcpp

from infra.local import scenario
from parcelflow import cli, deps
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.observability import json_logs_to

pytestmark = pytest.mark.e2e
S = FulfilmentStatus
ORDERS = 12
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def flow_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("flow") / "log.jsonl"


@pytest.fixture(scope="module")
def flow(flow_log: Path) -> Iterator[tuple[scenario.World, scenario.Run]]:
    # The JSON log lines, the EMF metric lines among them, in a file as `make demo` writes them.
    with json_logs_to(flow_log, echo_level=None), scenario.world() as w:
        run = scenario.run_flow(w, ORDERS)
        yield w, run


def _final(w: scenario.World, run: scenario.Run) -> dict[str, S]:
    repo = deps.orders()
    return {order_id: repo.get_order(order_id).status for order_id in run.order_ids}


def test_every_order_ends_where_it_should(flow: tuple[scenario.World, scenario.Run]) -> None:
    w, run = flow
    final = _final(w, run)
    assert run.bad_postcode and run.cancelled_after_printing
    assert final.pop(run.bad_postcode) == S.WAYBILL_FAILED
    assert final.pop(run.cancelled_after_printing) == S.ON_HOLD
    assert set(final.values()) == {S.CONFIRMED}
    assert run.workflow_counts == {"SUCCEEDED": ORDERS}, "counted before any test started more runs"

    repo = deps.orders()
    [failed] = repo.get_packages(run.bad_postcode)
    assert failed.failure_reason and "postal_code" in failed.failure_reason
    held = repo.get_order(run.cancelled_after_printing)
    assert held.hold_reason == "buyer asked to cancel" and held.platform_status_raw == "IN_CANCEL"
    assert held.intercept and "take the parcel off the line" in held.intercept
    assert {o.split("-")[0] for o in run.order_ids} == {scenario.STORE_ID, scenario.ALIEXPRESS_STORE_ID}
    # The 503 and the throttles the platforms answered the first sync with were all met, and survived.
    assert w.amazon.faults_pending() == 0 and w.aliexpress.faults_pending() == 0
    assert {h.store_id: h.state for h in deps.ledger().list_store_health()} == {
        "amzus1": "ok",
        "aliex1": "ok",
    }


def test_the_flow_wrote_its_business_metrics(
    flow: tuple[scenario.World, scenario.Run], flow_log: Path
) -> None:
    """Read before the tests below run more: the counts are the flow's. Concurrent invocations of the
    local stack each wrote their own (issue 12 §7)."""
    _, run = flow
    counts: Counter[tuple[str, str]] = Counter()
    for line in flow_log.read_text().splitlines():
        record = json.loads(line)
        if "_aws" not in record:
            continue
        assert record["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Parcelflow"
        for metric in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            counts[(metric["Name"], record.get("verdict") or record.get("reason") or "")] += sum(
                record[metric["Name"]]
            )
    packages = [p for order_id in run.order_ids for p in deps.orders().get_packages(order_id)]
    assert counts[("WaybillsBought", "")] == sum(1 for p in packages if p.tracking_number)
    assert counts[("LabelsRendered", "")] == sum(1 for p in packages if p.label_key)
    assert counts[("Confirmations", "")] == sum(1 for p in packages if p.status == S.CONFIRMED)
    assert counts[("WaybillFailures", "rejected")] >= 1  # the bad postcode
    assert counts[("Scans", "stop")] >= 1  # the parcel cancelled after printing
    assert counts[("Scans", "shipped")] == counts[("Confirmations", "")]
    assert counts[("OrdersSynced", "")] >= ORDERS


def test_the_scan_stopped_the_parcel_cancelled_after_printing(
    flow: tuple[scenario.World, scenario.Run],
) -> None:
    w, run = flow
    repo = deps.orders()
    [package] = repo.get_packages(run.cancelled_after_printing or "")
    assert package.tracking_number
    answer = run.scans[package.tracking_number]
    assert answer.status_code == 409
    assert answer.json()["verdict"] == "stop"
    assert answer.json()["message"].startswith("STOP - intercept: buyer asked to cancel")
    assert package.status == S.AWAITING_SCAN  # it never left
    assert all(order_id != run.cancelled_after_printing for order_id, _ in scenario.confirmations(w))


def test_each_label_barcode_decodes_to_its_tracking_number_at_203_dpi(
    flow: tuple[scenario.World, scenario.Run],
) -> None:
    w, run = flow
    assert len(run.batch.printed) == ORDERS - 1
    assert run.batch.files is not None and run.batch.files.labels_pdf_url
    pdf = w.http.get(run.batch.files.labels_pdf_url)  # the batch's merged labels, through its presigned link
    assert pdf.status_code == 200
    document = pymupdf.open(stream=pdf.content, filetype="pdf")
    for label in run.batch.printed:
        assert label.page
        page = document[label.page - 1]
        pixels = page.get_pixmap(dpi=203, colorspace=pymupdf.csGRAY)
        # zxing-cpp decodes the raster as a printer would print it, independently of our encoder.
        array = np.frombuffer(pixels.samples_mv.tobytes(), dtype=np.uint8).reshape(
            pixels.height, pixels.width
        )
        found = zxingcpp.read_barcodes(array)
        assert [(b.text, b.format) for b in found] == [
            (label.tracking_number, zxingcpp.BarcodeFormat.Code128)
        ]


def test_exactly_one_charge_and_one_confirmation_per_package(
    flow: tuple[scenario.World, scenario.Run],
) -> None:
    w, _run = flow
    charges = Counter(c["customer_order_number"] for c in w.carrier.charges)
    assert len(charges) == ORDERS - 1 and set(charges.values()) == {1}
    confirmations = Counter(scenario.confirmations(w))
    assert len(confirmations) == ORDERS - 2 and set(confirmations.values()) == {1}
    by_store = Counter(order_id.split("-")[0] for order_id, _ in confirmations)
    assert by_store == {scenario.STORE_ID: 7, scenario.ALIEXPRESS_STORE_ID: 3}


def test_duplicate_deliveries_change_nothing(flow: tuple[scenario.World, scenario.Run]) -> None:
    w, run = flow
    charges_before, confirmations_before = len(w.carrier.charges), len(scenario.confirmations(w))
    repo = deps.orders()
    confirmed = [o for o in run.order_ids if o not in (run.bad_postcode, run.cancelled_after_printing)]
    queue_url = w.stack.physical_ids["ConfirmQueue"]
    sqs, lam, sfn = w.stack.client("sqs"), w.stack.client("lambda"), w.stack.client("stepfunctions")
    for order_id in confirmed[:4]:
        [package] = repo.get_packages(order_id)
        task = {"order_id": order_id, "package_id": package.package_id}
        # The confirmation message twice more, and the waybill task and a whole workflow run again.
        for copy in range(2):  # distinct deduplication ids: SQS must not be what saves us here
            sqs.send_message(
                QueueUrl=queue_url,
                MessageBody=json.dumps(task),
                MessageGroupId=order_id,
                MessageDeduplicationId=f"again-{copy}-{package.package_id}",
            )
        answer = lam.invoke(
            FunctionName=w.stack.physical_ids["RequestWaybillFunction"], Payload=json.dumps(task).encode()
        )
        assert json.loads(answer["Payload"].read())["tracking_number"] == package.tracking_number
        sfn.start_execution(
            stateMachineArn=w.state_machine_arn,
            name=f"again-{package.package_id}",
            input=json.dumps({"order_id": order_id}),
        )
    scenario.wait_for_workflows(w)
    w.stack.drain(timeout=60)
    assert len(w.carrier.charges) == charges_before
    assert len(scenario.confirmations(w)) == confirmations_before
    assert all(repo.get_order(order_id).status == S.CONFIRMED for order_id in confirmed)


def test_scan_api_answers_for_people(flow: tuple[scenario.World, scenario.Run]) -> None:
    w, run = flow
    shipped = next(iter(t for t, r in run.scans.items() if r.status_code == 200))
    again = scenario.scan(w, shipped)
    assert again.status_code == 200
    assert again.json()["verdict"] == "already_scanned"
    assert again.json()["message"].startswith("already scanned at ")

    unknown = scenario.scan(w, "NOT-A-LABEL-1")
    assert unknown.status_code == 404
    assert "unknown code" in unknown.json()["message"]

    url, key = f"{w.stack.api_url}/scans", {"x-api-key": w.stack.api_key}
    missing = w.http.post(url, headers=key, json={"scanner_id": "dock-1"})
    assert missing.status_code == 422
    assert "code" in json.dumps(missing.json())
    not_json = w.http.post(url, headers=key, content=b"{not json")
    assert 400 <= not_json.status_code < 500
    assert w.http.post(url, json={"code": shipped}).status_code == 403


def test_an_operator_fixes_the_rejected_postcode_and_the_order_goes_on(
    flow: tuple[scenario.World, scenario.Run], capsys: pytest.CaptureFixture[str]
) -> None:
    w, run = flow
    assert run.bad_postcode
    order_id = run.bad_postcode
    country = deps.orders().get_order(order_id).shipping_address.country_code
    good = {"US": "10001", "GB": "SW1A 2AA", "DE": "10115", "FR": "75001", "ES": "28001"}[country]
    charges_before = len(w.carrier.charges)

    assert cli.main(["fix-address", order_id, "--postcode", good]) == 0
    assert cli.main(["retry", order_id]) == 0
    assert f"{order_id}\tattempt 2" in capsys.readouterr().out
    scenario.wait_for_workflows(w)

    [package] = deps.orders().get_packages(order_id)
    assert package.status == S.TO_PRINT
    assert package.tracking_number and package.failure_reason is None
    assert len(w.carrier.charges) == charges_before + 1
    assert len(w.carrier.charges_for(package.package_id)) == 1


def test_an_operator_registers_a_channel_from_json_and_bad_files_name_the_field(
    flow: tuple[scenario.World, scenario.Run], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = json.loads((ROOT / "docs/examples/channel.json").read_text())
    good = tmp_path / "channel.json"
    good.write_text(json.dumps(example | {"code": "YT-EU"}))
    assert cli.main(["register-channel", str(good)]) == 0
    assert deps.catalogue().get_channel("YT-EU").max_weight_g == example["max_weight_g"]

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(example | {"max_weight_g": -1}))
    assert cli.main(["register-channel", str(bad)]) == 2
    assert "max_weight_g: Input should be greater than 0" in capsys.readouterr().err

    store = json.loads((ROOT / "docs/examples/store.json").read_text())
    store_file = tmp_path / "store.json"
    store_file.write_text(json.dumps(store | {"store_id": "amzde1", "default_channel": "YT-EU"}))
    assert cli.main(["register-store", str(store_file)]) == 0
    assert deps.catalogue().get_store("amzde1").sender.city == "Shenzhen"


def test_an_operator_sees_the_stores_and_queues_a_sync(
    flow: tuple[scenario.World, scenario.Run], capsys: pytest.CaptureFixture[str]
) -> None:
    w, _run = flow
    assert cli.main(["stores"]) == 0
    listed = {line.split("\t")[0]: line.split("\t")[1:3] for line in capsys.readouterr().out.splitlines()}
    assert listed["aliex1"] == ["aliexpress", "ok"] and listed["amzus1"] == ["amazon", "ok"]
    assert cli.main(["sync-now", "nosuch"]) == 1
    assert "no store nosuch" in capsys.readouterr().err
    searches = w.amazon.calls["searchOrders"]
    assert cli.main(["sync-now", "amzus1"]) == 0
    w.stack.drain(timeout=60)
    assert w.amazon.calls["searchOrders"] == searches + 1


def test_an_operator_corrects_a_tracking_number_where_the_platform_allows_it(
    flow: tuple[scenario.World, scenario.Run], capsys: pytest.CaptureFixture[str]
) -> None:
    w, run = flow
    repo = deps.orders()
    confirmed = [o for o in run.order_ids if repo.get_order(o).status == S.CONFIRMED]
    on_aliexpress = next(o for o in confirmed if o.startswith(scenario.ALIEXPRESS_STORE_ID))
    on_amazon = next(o for o in confirmed if o.startswith(scenario.STORE_ID))

    [package] = repo.get_packages(on_aliexpress)
    assert cli.main(["correct-tracking", on_aliexpress, package.package_id, "YT2699999999999999"]) == 0
    platform_id = repo.get_order(on_aliexpress).platform_order_id
    [shipment] = w.aliexpress.shipments_for(platform_id)
    assert shipment["logistics_no"] == "YT2699999999999999"
    assert repo.get_package(on_aliexpress, package.package_id).tracking_number == "YT2699999999999999"

    [package] = repo.get_packages(on_amazon)
    assert cli.main(["correct-tracking", on_amazon, package.package_id, "YT2688888888888888"]) == 1
    assert "Seller Central" in capsys.readouterr().err
    assert repo.get_package(on_amazon, package.package_id).tracking_number == package.tracking_number
