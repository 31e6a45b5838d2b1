"""`make demo`: 20 orders from a sandbox Amazon store and a sandbox AliExpress store to confirmed shipments,
on the embedded AWS.

Prints a table of the orders (status, tracking number or the reason it stopped, the label's page), in 120
columns, writes the print batch (批量打印) to out/labels/: the merged labels PDF, a page per label in the
warehouse's order, and the pick list (拣货单), with their presigned links in out/labels/links.txt. The
functions' JSON log lines go to out/logs/local.jsonl, not the terminal; their warnings are also said on
stderr. Exits 1 if the flow did not end as it should.
"""

from __future__ import annotations

import logging
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from infra.local import scenario
from parcelflow import deps
from parcelflow.domain.models import Order
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.observability import json_logs_to
from parcelflow.services.packages import freight_report
from parcelflow.services.printing import PrintedBatch

ORDERS = 20
OUT = Path("out/labels")
LINKS = OUT / "links.txt"
LOG_FILE = Path("out/logs/local.jsonl")
WIDTH = 120
Row = tuple[str, str, str, str, str]  # order, to, status, tracking number / reason, label file


def _country(order: Order) -> str:
    return order.shipping_address.country_code if order.shipping_address else "--"


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # boto3 clients of many threads share a pool of 10 connections: its overflow is no news to anyone.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    started = time.monotonic()
    print(
        "Starting the embedded AWS (moto), the Amazon and AliExpress sandboxes and two carriers' sandboxes\n"
        f"(YunExpress, 4PX); the functions' JSON logs go to {LOG_FILE}",
        flush=True,
    )
    with json_logs_to(LOG_FILE), scenario.world() as w:
        scan_api = w.stack.api_urls.get("ScanApi", "")
        print(f"  AWS at {w.stack.endpoint_url}, scan API at {scan_api}/scans")
        print(
            f"Seeding {ORDERS} orders on Amazon and AliExpress; running sync -> review -> waybill -> label\n"
            "-> print -> (a buyer cancels) -> scan -> confirm ...",
            flush=True,
        )
        run = scenario.run_flow(w, ORDERS)
        files = _save_batch(w, run.batch)

        orders = deps.orders()
        rows = []
        for order_id in run.order_ids:
            order = orders.get_order(order_id)
            [package] = orders.get_packages(order.order_id) or [None]
            detail = (
                package.tracking_number
                if package and package.tracking_number
                else (package.failure_reason if package else None) or order.hold_reason or ""
            )
            if order.status == FulfilmentStatus.ON_HOLD:
                detail = f"{package.tracking_number if package else ''} HELD: {order.hold_reason}".strip()
                if order.intercept:
                    detail += " (intercept at the scan)"
            label_file = files.get(package.package_id, "") if package else ""
            rows.append((order.order_id, _country(order), str(order.status), detail, label_file))

        print()
        for line in table_lines(rows):
            print(line)
        print(f"Print batch {run.batch.batch_id}: labels and pick list in {OUT}/, links (15 min) in {LINKS}")
        stop = [t for t, r in run.scans.items() if r.status_code == 409]
        print(f"\nScans: {len(run.scans)}; answered STOP: {len(stop)} {stop}")
        confirmed = scenario.confirmations(w)
        on_aliexpress = sum(
            1 for order_id, _ in confirmed if order_id.startswith(scenario.ALIEXPRESS_STORE_ID)
        )
        print(
            f"Carrier charges: {len(w.carrier.charges)}; marketplace confirmations: {len(confirmed)} "
            f"({len(confirmed) - on_aliexpress} Amazon, {on_aliexpress} AliExpress); labels written to {OUT}/"
        )
        print("\nStores (python -m parcelflow.cli stores):")
        for health in deps.ledger().list_store_health():
            print(f"  {health.store_id}\t{health.state}\t{health.detail or ''}")
        if run.bad_postcode:
            rejected = run.bad_postcode
            print(
                f"\nThe carrier rejected {rejected}. On a deployed stack an operator corrects and resends it:"
            )
            print(f"  python -m parcelflow.cli fix-address {rejected} --postcode <postcode>")
            print(f"  python -m parcelflow.cli retry {rejected}")
        problems = _check(rows, run, w)
        intro = (
            "The ERP at work (配对, 库存, 审核规则, 待处理): a bundle, rules choosing channels and "
            "holding a test order, a listing paired mid-run, a charger out of stock until stock arrives, "
            "rate shopping between YunExpress and 4PX, a heavy order split in two, a customs error caught "
            "before pre-advice ..."
        )
        print("\n" + textwrap.fill(intro, width=100), flush=True)
        erp = scenario.run_erp(w)
        _print_paths(erp)
        _print_packing(erp)
        problems += _check_erp(erp, w)
    print(f"Everything stopped. {time.monotonic() - started:.1f} s.")
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _print_paths(erp: scenario.ErpRun) -> None:
    orders = deps.orders()
    print()
    for order_id, purpose in erp.purpose.items():
        order = orders.get_order(order_id)
        packages = orders.get_packages(order_id)
        channel = ",".join(dict.fromkeys(p.channel_code for p in packages)) if packages else "-"
        if len(packages) > 1:
            channel += f" x{len(packages)}"
        note = order.hold_reason or ", ".join(order.waiting_for) or ""
        print(f"  {order_id:<30} {purpose:<47} {channel}")
        path = " -> ".join(erp.paths[order_id]) + (f": {note}" if note else "")
        print(textwrap.fill(path, width=118, initial_indent="      ", subsequent_indent="        "))


def _print_packing(erp: scenario.ErpRun) -> None:
    """Why each package of the 待处理 orders went as it did, and what the freight came to."""
    orders = deps.orders()
    print("\n  Channels chosen (python -m parcelflow.cli packages ORDER):")
    for order_id, purpose in erp.purpose.items():
        if purpose[0].isdigit() or purpose.startswith(("no HS", "battery")):
            for package in orders.get_packages(order_id):
                print(f"    {package.package_id:<32} {package.weight_g:>5} g")
                print(
                    textwrap.fill(
                        package.channel_reason or "",
                        width=118,
                        initial_indent=" " * 6,
                        subsequent_indent=" " * 8,
                    )
                )
    print("\n  Freight (python -m parcelflow.cli freight --since today):")
    for row in freight_report(datetime.now(UTC) - timedelta(days=1), orders=orders):
        estimated = f" ({row.estimated} of them estimated)" if row.estimated else ""
        print(
            f"    {row.carrier:<10} {row.channel_code:<10} {row.packages:>3} packages  "
            f"{row.freight} {row.currency}{estimated}"
        )


def _check_erp(erp: scenario.ErpRun, w: scenario.World) -> list[str]:
    """Each order of the ERP phase took the path it was there to show."""
    orders = deps.orders()
    wanted = {
        "bundle (1 case + 2 screen protectors)": ("to_print", "YT-GLOBAL"),
        "battery item: battery line by rule": ("to_print", scenario.BATTERY_CHANNEL),
        "Germany: EU line by rule": ("to_print", scenario.EU_CHANNEL),
        "charger order A (one charger in stock)": ("to_print", "YT-GLOBAL"),
        "charger order B (one charger in stock)": ("to_print", "YT-GLOBAL"),
        "listing not paired: waits for its pairing": ("to_print", "YT-GLOBAL"),
        "buyer says test order: held by rule": ("on_hold", "-"),
        "1.2 kg: rate shopping picks 4PX": ("to_print", scenario.FOURPX_CHANNEL),
        "3.6 kg: split into two packages": ("to_print", scenario.FOURPX_CHANNEL),
        "no HS code: customs stops it before pre-advice": ("to_print", "YT-GLOBAL"),
    }
    problems = []
    waited = {"out_of_stock": 0, "needs_pairing": 0}
    for order_id, purpose in erp.purpose.items():
        order = orders.get_order(order_id)
        packages = orders.get_packages(order_id)
        got = (str(order.status), packages[0].channel_code if packages else "-")
        if got != wanted[purpose]:
            problems.append(f"ERP order {order_id} ({purpose}) ended {got}, expected {wanted[purpose]}")
        for tab in waited:
            waited[tab] += tab in erp.paths[order_id]
        if purpose.startswith("3.6 kg") and len(packages) != 2:
            problems.append(f"the heavy order {order_id} went as {len(packages)} packages, expected 2")
        if purpose.startswith("no HS code"):
            if "waybill_failed" not in erp.paths[order_id]:
                problems.append(f"{order_id}: the customs check did not stop it before pre-advice")
            creates = w.carrier.create_calls().get(packages[0].package_id, 0)
            if creates != 1:
                problems.append(f"{order_id}: {creates} creates at the carrier, expected one, after the fix")
    if waited != {"out_of_stock": 1, "needs_pairing": 1}:
        problems.append(f"orders that waited on a tab: {waited}, expected one on each")
    charged = [c["customer_order_number"] for c in w.carrier.charges]
    charged += [c["ref_no"] for c in w.fourpx.charges if c["kind"] == "charge"]
    if len(charged) != len(set(charged)):
        problems.append("a carrier order was charged twice")
    if not any(c["kind"] == "charge" for c in w.fourpx.charges):
        problems.append("4PX was never used: rate shopping did not pick it")
    return problems


def _save_batch(w: scenario.World, batch: PrintedBatch) -> dict[str, str]:
    """The batch's files into out/labels/; package id -> its page in the merged PDF."""
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.glob("*.pdf"):
        stale.unlink()
    links = []
    if batch.files is not None:
        for name, url in (
            ("labels.pdf", batch.files.labels_pdf_url),
            ("pick-list.pdf", batch.files.pick_list_url),
        ):
            if url:
                answer = w.http.get(url)
                answer.raise_for_status()
                (OUT / name).write_bytes(answer.content)
                links.append(f"{name}\t{url}\n")
    LINKS.write_text("".join(links), encoding="utf-8")
    return {p.package_id: f"labels.pdf p{p.page}" for p in batch.printed if p.page}


def table_lines(rows: list[Row], width: int = WIDTH) -> list[str]:
    """The orders' table in `width` columns: the reason column wraps onto lines of its own, nothing is cut."""
    head: Row = ("order", "to", "status", "tracking number / reason", f"label ({OUT}/)")
    widths = [max(len(r[i]) for r in [*rows, head]) for i in range(5)]
    fixed = sum(widths[i] for i in (0, 1, 2, 4)) + 2 * 4  # the other columns and the separators
    widths[3] = max(20, min(widths[3], width - fixed))
    lines = []
    for row in [head, *rows]:
        reason = textwrap.wrap(row[3], widths[3], break_on_hyphens=False) or [""]
        for i, part in enumerate(reason):
            cells = row if i == 0 else ("", "", "", "", "")
            cells = (*cells[:3], part, cells[4])
            lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    return lines


def _check(rows: list[Row], run: scenario.Run, w: scenario.World) -> list[str]:
    statuses = [r[2] for r in rows]
    problems = []
    expected = {"confirmed": ORDERS - 2, "waybill_failed": 1, "on_hold": 1}
    counted = {s: statuses.count(s) for s in set(statuses)}
    if counted != expected:
        problems.append(f"final statuses {counted}, expected {expected}")
    if run.workflow_counts.get("FAILED") or run.workflow_counts.get("TIMED_OUT"):
        problems.append(f"state machine executions: {run.workflow_counts}")
    charged = [c["customer_order_number"] for c in w.carrier.charges]
    if len(charged) != len(set(charged)):
        problems.append("a package was charged twice by the carrier")
    confirmed = scenario.confirmations(w)
    if len(confirmed) != len(set(confirmed)) or len(confirmed) != expected["confirmed"]:
        problems.append(
            f"{len(confirmed)} marketplace confirmations, expected {expected['confirmed']} once each"
        )
    stores = {order_id.split("-")[0] for order_id, _ in confirmed}
    if stores != {scenario.STORE_ID, scenario.ALIEXPRESS_STORE_ID}:
        problems.append(f"confirmations reached only {sorted(stores)}")
    return problems


if __name__ == "__main__":
    raise SystemExit(main())
