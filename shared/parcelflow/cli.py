"""Operators' command line: the same services the Lambdas call, against the deployed (or local) stack.

Commands (`python -m parcelflow.cli COMMAND --help` for each):
  register-store FILE       add or replace a store, from JSON (see docs/examples/store.json)
  register-channel FILE     add or replace a logistics channel (see docs/examples/channel.json)
  print, print-again, reprint, batches, labels-report, note   打印 (see parcelflow/cli_print.py)
  orders --status STATUS    the orders on one tab (pending_review, on_hold, waybill_failed, ...)
  rejected                  orders a marketplace sent that could not be taken in, and why
  fix-address ORDER [--postcode P] [--line1 L] [--city C] ...   correct what the carrier rejected
  retry ORDER               send the order's rejected packages through the workflow again
  stores                    every store with how its last sync went (ok, paused, credentials_rejected...)
  sync-now [STORE ...]      queue a sync of these stores (all when none given) now, whatever their schedule
  correct-tracking ORDER PACKAGE NUMBER   replace a confirmed package's tracking number on the platform
  reconcile                 restart workflows that died, send lost confirmations again (the schedule does
                            this every 5 minutes); prints what it did and what needs an operator
  dead-letters              confirmations that failed every delivery and wait in the dead-letter queue
  redrive-confirmations     send every dead-lettered confirmation again (after fixing why it failed)
  products import FILE      add or replace the warehouse's products from CSV or JSON, all or nothing
                            (see docs/examples/products.csv); every bad row is named with line and field
  products list             the catalogue: SKU, names, HS code, declared value, weight, attributes
  pairings add PLATFORM_SKU WAREHOUSE_SKU[:QTY] ... [--store S | --marketplace M] [--match KIND]
                            商品配对 (KIND: exact, case_insensitive, strip_prefix, strip_suffix; a strip rule
                            takes no components); every order waiting on it goes on by itself
  pairings list             every pairing
  stock receive SKU QTY     goods in; the orders waiting for the SKU get it, earliest ship-by first
  stock import FILE [--ref R]   goods in from a CSV (sku,quantity[,why]), all or nothing, once per line
  stock [--low]             on hand, reserved, available per SKU (--low: at or under the reorder point)
  stock reorder SKU N       set the reorder point
  stock movements SKU       why the figure is what it is: every change, newest first
  stock purchase-list [--csv]   what to buy: waiting demand, reorder point, sales of 7 and 30 days
  rules apply FILE          replace the review rules with a YAML or JSON file (docs/examples/rules.yaml)
  rules show                the rules in force, as JSON
  rules explain ORDER|--pending   which rule matches the order (or each pending one) and why, and where
                            each other one stops
  approve|hold|release|cancel ORDER ... --note NOTE   an operator's decision, audited
  channels import FILE      add or replace logistics channels (limits, rate tables) from JSON or YAML,
                            all or nothing (docs/examples/channels.json); every error names the field
  channels list             every channel with its limits and rates
  packages ORDER            an order's packages: channel and why, estimate, weight, size, declaration
  split ORDER SKU=N[,SKU=N] ... [--channel C]   拆包 by hand: one package per argument, the rest in one
                            more; refused once any package has a waybill
  merge ORDER PACKAGE PACKAGE ...   合包: these packages become one, if the channel's limits allow
  customs edit (--sku S ... | --order O ...) [--name-en T] [--name-local T] [--hs-code H]
                            [--unit-value V --currency C] [--unit-weight-g G] [--origin CC]
                            批量修改报关信息 before pre-advice; then `retry` the orders it failed
  cancel-waybill ORDER PACKAGE --note NOTE   cancel the waybill of a held (intercepted) or cancelled
                            order at the carrier, to recover the freight
  attach-tracking ORDER PACKAGE NUMBER [--label FILE.pdf]   手动上传: a tracking number from elsewhere,
                            no pre-advice; printed with our label, or with the carrier's PDF given
  freight --since DATE [--until DATE]   the freight of the waybills bought, per carrier and channel
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from parcelflow import cli_print, deps, envfile
from parcelflow.config import get_settings
from parcelflow.domain.channels import describe_rates, parse_channels
from parcelflow.domain.errors import BusinessError
from parcelflow.domain.models import Channel, Marketplace, Package, Store
from parcelflow.domain.pairing import Component, Match, MatchKind, Pairing, Scope
from parcelflow.domain.review_rules import RulesInvalid, load_rules
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.services import decisions
from parcelflow.services.catalogue import import_products
from parcelflow.services.packages import edit_declarations, freight_report, merge_packages, split_order
from parcelflow.services.reconcile import reconcile, redrive_confirmations
from parcelflow.services.repairs import correct_address, correct_tracking, retry_order
from parcelflow.services.resume import add_pairing, import_stock, receive_stock
from parcelflow.services.review import explain_order
from parcelflow.services.stock_report import PurchaseLine, low_stock, purchase_list
from parcelflow.services.stores import store_overview
from parcelflow.services.sync import sync_now
from parcelflow.services.waybill_changes import attach_tracking, cancel_waybill

OPERATOR = "operator:cli"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parcelflow")
    commands = parser.add_subparsers(dest="command", required=True)
    for kind in ("store", "channel"):
        register = commands.add_parser(f"register-{kind}", help=f"add or replace a {kind} from a JSON file")
        register.add_argument("file", type=Path)
    cli_print.add_commands(commands)
    listing = commands.add_parser("orders", help="list the orders on one tab")
    listing.add_argument("--status", type=FulfilmentStatus, choices=list(FulfilmentStatus), required=True)
    commands.add_parser("rejected", help="orders the marketplaces sent that could not be taken in")
    fix = commands.add_parser("fix-address", help="correct the shipping address the carrier rejected")
    fix.add_argument("order_id")
    for field in ("postcode", "line1", "line2", "city", "province", "phone", "name"):
        fix.add_argument(f"--{field}")
    retry = commands.add_parser("retry", help="send an order's rejected packages through the workflow again")
    retry.add_argument("order_id")
    commands.add_parser("stores", help="every store and how its last sync went")
    sync = commands.add_parser("sync-now", help="queue a sync of these stores now (all when none given)")
    sync.add_argument("store_ids", nargs="*")
    tracking = commands.add_parser("correct-tracking", help="replace a confirmed package's tracking number")
    for name in ("order_id", "package_id", "tracking_number"):
        tracking.add_argument(name)
    commands.add_parser("reconcile", help="restart workflows that died and send lost confirmations again")
    commands.add_parser("dead-letters", help="confirmations waiting in the dead-letter queue")
    commands.add_parser("redrive-confirmations", help="send the dead-lettered confirmations again")
    products = commands.add_parser("products", help="the warehouse's SKU catalogue")
    product_commands = products.add_subparsers(dest="products_command", required=True)
    product_import = product_commands.add_parser("import", help="add or replace products from CSV or JSON")
    product_import.add_argument("file", type=Path)
    product_commands.add_parser("list", help="every product of the catalogue")
    pairings = commands.add_parser("pairings", help="商品配对: platform SKU to warehouse SKUs")
    pairing_commands = pairings.add_subparsers(dest="pairings_command", required=True)
    pairing_add = pairing_commands.add_parser("add", help="add or replace a pairing")
    pairing_add.add_argument("platform_sku")
    pairing_add.add_argument("components", nargs="*", help="WAREHOUSE_SKU[:QTY], QTY 1 by default")
    scope = pairing_add.add_mutually_exclusive_group()
    scope.add_argument("--store")
    scope.add_argument("--marketplace", choices=[m.value for m in Marketplace])
    pairing_add.add_argument("--match", choices=[k.value for k in MatchKind], default=MatchKind.EXACT.value)
    pairing_commands.add_parser("list", help="every pairing")
    stock = commands.add_parser("stock", help="库存: on hand, reserved, available")
    stock.add_argument("--low", action="store_true")
    stock_commands = stock.add_subparsers(dest="stock_command")
    receive = stock_commands.add_parser("receive", help="goods in")
    receive.add_argument("sku")
    receive.add_argument("quantity", type=int)
    receive.add_argument("--why", default="goods received")
    stock_import = stock_commands.add_parser("import", help="goods in from a CSV file (sku,quantity[,why])")
    stock_import.add_argument("file", type=Path)
    stock_import.add_argument("--ref", help="the receipt's reference (the file's digest by default)")
    reorder = stock_commands.add_parser("reorder", help="set a SKU's reorder point")
    reorder.add_argument("sku")
    reorder.add_argument("reorder_point", type=int)
    movements = stock_commands.add_parser("movements", help="a SKU's stock movements")
    movements.add_argument("sku")
    purchase = stock_commands.add_parser("purchase-list", help="采购建议: what to buy")
    purchase.add_argument("--csv", action="store_true")
    rules_parser = commands.add_parser("rules", help="审核规则 and 物流规则")
    rule_commands = rules_parser.add_subparsers(dest="rules_command", required=True)
    rules_apply = rule_commands.add_parser("apply", help="replace the rules with a file")
    rules_apply.add_argument("file", type=Path)
    rule_commands.add_parser("show", help="the rules in force")
    rules_explain = rule_commands.add_parser(
        "explain", help="how the rules see an order (or every pending one)"
    )
    target = rules_explain.add_mutually_exclusive_group(required=True)
    target.add_argument("order_id", nargs="?")
    target.add_argument("--pending", action="store_true", help="every order waiting for review")
    for decision in ("approve", "hold", "release", "cancel"):
        decide = commands.add_parser(decision, help=f"{decision} orders (audited)")
        decide.add_argument("order_ids", nargs="+")
        decide.add_argument("--note", required=True)
    _add_packing_commands(commands)
    args = parser.parse_args(argv)
    try:
        return envfile.run_cli(lambda: _run(args), args.command)
    except BusinessError as exc:  # the operator reads why, not a traceback
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:

    if args.command in ("register-store", "register-channel"):
        return _register(args.command, args.file)
    if args.command in cli_print.COMMANDS:
        return cli_print.run(args, OPERATOR)
    if args.command == "orders":
        for order in deps.orders().list_orders_by_status(args.status):
            waiting = ", ".join(order.waiting_for)
            notes = [order.hold_reason or "", waiting, order.manual_review or "", order.alert or ""]
            if order.status == FulfilmentStatus.WAYBILL_FAILED:  # the reason is on the packages
                notes += [
                    f"{p.package_id}: {p.failure_reason}"
                    for p in deps.orders().get_packages(order.order_id)
                    if p.status == FulfilmentStatus.WAYBILL_FAILED and p.failure_reason
                ]
            print("\t".join([order.order_id, str(order.status), *notes]).rstrip())
    elif args.command == "rejected":
        for rejected in deps.ledger().list_rejected_orders():
            print(f"{rejected.platform_order_id}\t{rejected.error}")
    elif args.command == "fix-address":
        fields = ("postcode", "line1", "line2", "city", "province", "phone", "name")
        changes = {f: getattr(args, f) for f in fields if getattr(args, f) is not None}
        corrected = correct_address(
            args.order_id,
            changes,
            orders=deps.orders(),
            by=OPERATOR,
            carrier_for=deps.carrier_for,
            workflow=deps.workflow(),
        )
        print(corrected.address.model_dump_json(exclude_none=True))
        for line in corrected.reissued:
            print(f"waybill cancelled, pre-advised again: {line}")
        for line in corrected.kept:
            print(f"NOT cancelled (that parcel keeps the old address): {line}", file=sys.stderr)
    elif args.command == "retry":
        outcome = retry_order(args.order_id, orders=deps.orders(), workflow=deps.workflow())
        print(f"{outcome.order_id}\tattempt {outcome.attempt}\t{' '.join(outcome.retried_packages)}")
    elif args.command == "stores":
        for store_id, marketplace, health in store_overview(deps.catalogue(), deps.ledger()):
            if health is None:
                print(f"{store_id}\t{marketplace}\tnever synced")
                continue
            last_ok = f"{health.last_success_at:%Y-%m-%d %H:%M} UTC" if health.last_success_at else "never"
            print(f"{store_id}\t{marketplace}\t{health.state}\tlast success {last_ok}\t{health.detail or ''}")
    elif args.command == "sync-now":
        queued = sync_now(args.store_ids or None, catalogue=deps.catalogue(), queue=deps.store_syncs())
        print(f"sync queued for {' '.join(queued) or 'no store'}")
    elif args.command == "reconcile":
        report = reconcile(
            orders=deps.orders(),
            workflow=deps.workflow(),
            confirmations=deps.confirmations(),
            dead_letters=deps.dead_letters(),
            stock=deps.stock(),
            events=deps.order_events(),
            due_within=get_settings().ship_by_alert_within,
        )
        for order_id in report.restarted:
            print(f"RESTARTED\t{order_id}")
        for package_id in report.requeued:
            print(f"RESENT\t{package_id}")
        for order_id in report.deducted:
            print(f"STOCK OUT\t{order_id}\t(shipped, its reserved stock deducted now)")
        for line in report.gave_up:
            print(f"NEEDS OPERATOR\t{line}")
        for order_id in report.still_stuck:
            print(f"STILL STUCK\t{order_id}\t(parcelflow retry {order_id})")
        for package_id in report.dead_lettered:
            print(f"DEAD LETTER\t{package_id}")
        for due in report.due_soon:
            ship_by = f"{due.ship_by:%Y-%m-%d %H:%M} UTC"
            print(f"DUE SOON\t{due.order_id}\t{due.status}\tship by {ship_by} ({due.hours_left} h left)")
        for order_id in report.late:
            print(f"LATE\t{order_id}\t(past its ship-by, not shipped)")
    elif args.command == "products":
        return _products(args)
    elif args.command == "pairings":
        return _pairings(args)
    elif args.command == "stock":
        return _stock(args)
    elif args.command == "rules":
        return _rules(args)
    elif args.command in ("approve", "hold", "release", "cancel"):
        return _decide(args)
    elif args.command in _PACKING_COMMANDS:
        return _packing(args)
    elif args.command == "dead-letters":
        for letter in deps.dead_letters().peek():
            sent = f"{letter.first_sent_at:%Y-%m-%d %H:%M} UTC" if letter.first_sent_at else "?"
            print(f"{letter.order_id}\t{letter.package_id}\t{letter.receive_count} deliveries\tsent {sent}")
    elif args.command == "redrive-confirmations":
        redriven = redrive_confirmations(orders=deps.orders(), dead_letters=deps.dead_letters())
        print(f"sent again: {' '.join(redriven.moved) or 'nothing was waiting'}")
    else:
        package = correct_tracking(
            args.order_id,
            args.package_id,
            args.tracking_number,
            orders=deps.orders(),
            ledger=deps.ledger(),
            marketplace_for=deps.marketplace_for,
            by="operator:cli",
        )
        print(f"{package.package_id}\t{package.tracking_number}")
    return 0


def _pairings(args: argparse.Namespace) -> int:
    if args.pairings_command == "list":
        for pairing in deps.catalogue().list_pairings():
            parts = " + ".join(f"{c.quantity} x {c.warehouse_sku}" for c in pairing.components)
            print(f"{pairing.scope.key}\t{pairing.match.kind}\t{pairing.match.value}\t{parts}")
        return 0
    try:
        components = [_component(text) for text in args.components]
        scope = (
            Scope.for_store(args.store)
            if args.store
            else Scope.for_marketplace(Marketplace(args.marketplace))
            if args.marketplace
            else Scope.all_stores()
        )
        pairing = Pairing(
            scope=scope, match=Match(kind=args.match, value=args.platform_sku), components=components
        )
    except (ValidationError, ValueError) as exc:
        print(f"pairings add: {exc}", file=sys.stderr)
        return 2
    resumed = add_pairing(
        pairing, catalogue=deps.catalogue(), orders=deps.orders(), workflow=deps.workflow(), by=OPERATOR
    )
    print(f"pairing kept; orders sent on: {' '.join(resumed.resumed) or 'none'}")
    return 0


def _component(text: str) -> Component:
    sku, _, quantity = text.partition(":")
    return Component(warehouse_sku=sku, quantity=int(quantity or 1))


def _stock(args: argparse.Namespace) -> int:
    stock = deps.stock()
    if args.stock_command == "receive":
        level, resumed = receive_stock(
            args.sku,
            args.quantity,
            stock=stock,
            events=deps.stock_events(),
            orders=deps.orders(),
            workflow=deps.workflow(),
            by=OPERATOR,
            why=args.why,
        )
        print(f"{level.sku}\ton hand {level.on_hand}\tavailable {level.available}")
        print(f"orders sent on: {' '.join(resumed.resumed) or 'none'}")
    elif args.stock_command == "import":
        imported = import_stock(
            args.file.read_bytes(),
            reference=args.ref,
            stock=stock,
            events=deps.stock_events(),
            orders=deps.orders(),
            workflow=deps.workflow(),
            by=OPERATOR,
        )
        for problem in imported.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        if imported.problems:
            print(f"{args.file}: nothing received", file=sys.stderr)
            return 2
        listed = " ".join(f"{sku} {n}" for sku, n in imported.received.items())
        print(f"received: {listed} (a line received before under the same reference counts once)")
        print(f"orders sent on: {' '.join(imported.resumed.resumed) or 'none'}")
    elif args.stock_command == "reorder":
        level = stock.set_reorder_point(args.sku, args.reorder_point)
        print(f"{level.sku}\treorder point {level.reorder_point}")
    elif args.stock_command == "movements":
        for m in stock.movements(args.sku):
            print(
                f"{m.at:%Y-%m-%d %H:%M:%S}\t{m.kind}\t{m.on_hand_delta:+d}\t{m.reserved_delta:+d}\t"
                f"{m.order_id or ''}\t{m.by}\t{m.why}"
            )
    elif args.stock_command == "purchase-list":
        lines = purchase_list(stock=stock, orders=deps.orders())
        fields = list(PurchaseLine.model_fields)
        if args.csv:
            writer = csv.writer(sys.stdout)
            writer.writerow(fields)
            writer.writerows([getattr(line, f) for f in fields] for line in lines)
        else:
            for line in lines:
                print("\t".join(f"{f} {getattr(line, f)}" for f in fields))
    else:
        levels = low_stock(stock) if args.low else stock.list_levels()
        for level in levels:
            print(
                f"{level.sku}\ton hand {level.on_hand}\treserved {level.reserved}\t"
                f"available {level.available}\treorder point {level.reorder_point}"
            )
    return 0


def _rules(args: argparse.Namespace) -> int:
    if args.rules_command == "show":
        print(deps.rulebook().get_rules().model_dump_json(indent=2))
        return 0
    if args.rules_command == "apply":
        try:
            rule_set = load_rules(args.file.read_text(encoding="utf-8"), filename=args.file.name)
        except RulesInvalid as exc:
            for problem in exc.problems:
                print(f"{args.file}: {problem}", file=sys.stderr)
            print(f"{args.file}: the rules in force are unchanged", file=sys.stderr)
            return 2
        for rule in rule_set.rules:
            for code in rule.actions.channels or ():
                deps.catalogue().get_channel(code)  # ChannelNotFound names it
        deps.rulebook().put_rules(rule_set)
        print(f"{len(rule_set.rules)} rules in force")
        return 0
    order_ids = (
        [o.order_id for o in deps.orders().list_orders_by_status(FulfilmentStatus.PENDING_REVIEW, limit=1000)]
        if args.pending
        else [args.order_id]
    )
    for order_id in order_ids:
        traces = explain_order(
            order_id, orders=deps.orders(), catalogue=deps.catalogue(), rulebook=deps.rulebook()
        )
        for trace in traces:
            detail = "; ".join(trace.held) if trace.status == "matched" else (trace.failed or "")
            prefix = f"{order_id}\t" if args.pending else ""
            print(f"{prefix}{trace.position}\t{trace.name}\t{trace.status}\t{detail}")
    return 0


def _decide(args: argparse.Namespace) -> int:
    orders, stock, workflow = deps.orders(), deps.stock(), deps.workflow()
    if args.command == "approve":
        outcome = decisions.approve(args.order_ids, args.note, orders=orders, workflow=workflow, by=OPERATOR)
    elif args.command == "release":
        outcome = decisions.release(
            args.order_ids, args.note, orders=orders, stock=stock, workflow=workflow, by=OPERATOR
        )
    elif args.command == "hold":
        outcome = decisions.hold(args.order_ids, args.note, orders=orders, stock=stock, by=OPERATOR)
    else:
        outcome = decisions.cancel(args.order_ids, args.note, orders=orders, stock=stock, by=OPERATOR)
    for order_id in outcome.done:
        print(f"{args.command}\t{order_id}")
    for refusal in outcome.refused:
        print(f"refused\t{refusal}", file=sys.stderr)
    return 1 if outcome.refused else 0


def _products(args: argparse.Namespace) -> int:
    if args.products_command == "list":
        for product in deps.catalogue().list_products():
            value = f"{product.declared_value.amount} {product.declared_value.currency}"
            marks = ",".join(sorted([*product.attributes, *product.tags]))
            print(
                f"{product.sku}\t{product.name_en}\t{product.name_zh}\t{product.hs_code or ''}\t{value}\t"
                f"{product.unit_weight_g} g\t{marks}"
            )
        return 0
    outcome = import_products(
        args.file.read_bytes(), filename=args.file.name, catalogue=deps.catalogue(), stock=deps.stock()
    )
    for problem in outcome.problems:
        print(f"{args.file}: {problem}", file=sys.stderr)
    if outcome.problems_not_shown:
        print(f"{args.file}: and {outcome.problems_not_shown} more problems", file=sys.stderr)
    if outcome.problems:
        print(f"{args.file}: nothing imported", file=sys.stderr)
        return 2
    print(f"{outcome.imported} products imported")
    return 0


_PACKING_COMMANDS = (
    "channels",
    "packages",
    "split",
    "merge",
    "customs",
    "cancel-waybill",
    "attach-tracking",
    "freight",
)


def _add_packing_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    channels = commands.add_parser("channels", help="物流渠道: logistics channels, their limits and rates")
    channel_commands = channels.add_subparsers(dest="channels_command", required=True)
    channel_import = channel_commands.add_parser("import", help="add or replace channels from JSON or YAML")
    channel_import.add_argument("file", type=Path)
    channel_commands.add_parser("list", help="every channel")
    packages = commands.add_parser("packages", help="an order's packages")
    packages.add_argument("order_id")
    split = commands.add_parser("split", help="拆包 by hand, before pre-advice")
    split.add_argument("order_id")
    split.add_argument("groups", nargs="+", help="SKU=N[,SKU=N]: one package each; the rest in one more")
    split.add_argument("--channel", help="the channel of the new packages (the order's by default)")
    merge = commands.add_parser("merge", help="合包: packages of an order become one")
    merge.add_argument("order_id")
    merge.add_argument("package_ids", nargs="+")
    customs = commands.add_parser("customs", help="报关信息")
    customs_commands = customs.add_subparsers(dest="customs_command", required=True)
    edit = customs_commands.add_parser("edit", help="批量修改报关信息, before pre-advice")
    edit.add_argument("--sku", action="append", default=[], help="a warehouse SKU (repeat for more)")
    edit.add_argument("--order", action="append", default=[], help="an order id (repeat for more)")
    for name in ("name-en", "name-local", "hs-code", "unit-value", "currency", "origin"):
        edit.add_argument(f"--{name}")
    edit.add_argument("--unit-weight-g", type=int)
    cancel = commands.add_parser("cancel-waybill", help="cancel a held or cancelled order's waybill")
    cancel.add_argument("order_id")
    cancel.add_argument("package_id")
    cancel.add_argument("--note", required=True)
    attach = commands.add_parser("attach-tracking", help="手动上传: attach a tracking number from elsewhere")
    attach.add_argument("order_id")
    attach.add_argument("package_id")
    attach.add_argument("tracking_number")
    attach.add_argument("--label", type=Path, help="the carrier's label as a PDF, printed instead of ours")
    freight = commands.add_parser("freight", help="freight of the waybills bought, per carrier and channel")
    freight.add_argument("--since", type=_date, required=True, help="YYYY-MM-DD (UTC)")
    freight.add_argument("--until", type=_date, help="YYYY-MM-DD (UTC), exclusive")


def _date(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-12-01") from exc


def _packing(args: argparse.Namespace) -> int:
    orders, catalogue = deps.orders(), deps.catalogue()
    if args.command == "channels":
        if args.channels_command == "list":
            for channel in catalogue.list_channels():
                print(f"{channel.code}\t{channel.carrier}\t{channel.product_code}\t{channel.name}")
                for line in describe_channel(channel):
                    print(f"    {line}")
            return 0
        parsed = parse_channels(args.file.read_bytes(), filename=args.file.name)
        for problem in parsed.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        if not parsed.ok:
            print(f"{args.file}: nothing imported", file=sys.stderr)
            return 2
        for channel in parsed.channels:
            catalogue.put_channel(channel)
        print(f"{len(parsed.channels)} channels imported: {', '.join(c.code for c in parsed.channels)}")
    elif args.command == "packages":
        for package in orders.get_packages(args.order_id):
            _print_package(package)
    elif args.command == "split":
        groups = [_group(text) for text in args.groups]
        made = split_order(
            args.order_id,
            groups,
            orders=orders,
            catalogue=catalogue,
            workflow=deps.workflow(),
            by=OPERATOR,
            channel_code=args.channel,
        )
        for package in made:
            _print_package(package)
    elif args.command == "merge":
        merged = merge_packages(
            args.order_id,
            args.package_ids,
            orders=orders,
            catalogue=catalogue,
            workflow=deps.workflow(),
            by=OPERATOR,
        )
        for package in merged:
            _print_package(package)
    elif args.command == "customs":
        outcome = edit_declarations(
            _declaration_changes(args), orders=orders, order_ids=args.order, skus=args.sku, by=OPERATOR
        )
        for line in outcome.changed:
            print(f"edited\t{line}")
        for line in outcome.refused:
            print(f"refused\t{line}", file=sys.stderr)
        if not outcome.changed and not outcome.refused:
            print("no declaration line matched", file=sys.stderr)
            return 1
        return 1 if outcome.refused else 0
    elif args.command == "cancel-waybill":
        package = cancel_waybill(
            args.order_id,
            args.package_id,
            orders=orders,
            carrier_for=deps.carrier_for,
            note=args.note,
            by=OPERATOR,
        )
        print(f"cancelled\t{package.package_id}\tnext pre-advice as {package.customer_order_number}")
    elif args.command == "attach-tracking":
        package = attach_tracking(
            args.order_id,
            args.package_id,
            args.tracking_number,
            orders=orders,
            workflow=deps.workflow(),
            labels=deps.labels(),
            by=OPERATOR,
            carrier_pdf=args.label.read_bytes() if args.label else None,
        )
        print(f"attached\t{package.package_id}\t{package.tracking_number}")
    else:
        for row in freight_report(args.since, orders=orders, until=args.until):
            estimated = f"\t({row.estimated} estimated)" if row.estimated else ""
            print(
                f"{row.carrier}\t{row.channel_code}\t{row.packages} packages\t"
                f"{row.freight} {row.currency}{estimated}"
            )
    return 0


def _group(text: str) -> dict[str, int]:
    group: dict[str, int] = {}
    for part in text.split(","):
        selector, _, count = part.partition("=")
        if not selector.strip() or not count.strip().isdigit():
            raise BusinessError(f"{part!r}: write SKU=N, e.g. CASE-IP15-BLK=2")
        group[selector.strip()] = group.get(selector.strip(), 0) + int(count)
    return group


def _declaration_changes(args: argparse.Namespace) -> dict[str, object]:
    changes: dict[str, object] = {}
    for flag, field in (
        ("name_en", "name_en"),
        ("name_local", "name_local"),
        ("hs_code", "hs_code"),
        ("origin", "origin"),
    ):
        if getattr(args, flag) is not None:
            changes[field] = getattr(args, flag)
    if args.unit_weight_g is not None:
        changes["unit_weight_g"] = args.unit_weight_g
    if args.unit_value is not None:
        if args.currency is None:
            raise BusinessError("--unit-value needs --currency (e.g. USD)")
        changes["unit_value"] = {"amount": args.unit_value, "currency": args.currency.upper()}
    if not changes:
        raise BusinessError(
            "say what changes: --name-en, --name-local, --hs-code, --unit-value, --unit-weight-g, --origin"
        )
    return changes


def _print_package(package: Package) -> None:
    size = package.size_cm
    dims = f"{size.length_cm}x{size.width_cm}x{size.height_cm} cm" if size else "size unknown"
    estimate = (
        f"{package.freight_estimate.amount} {package.freight_estimate.currency}"
        if package.freight_estimate
        else "-"
    )
    print(
        f"{package.package_id}\t{package.status}\t{package.channel_code}\t{package.weight_g} g\t{dims}\t"
        f"est. {estimate}\t{package.tracking_number or ''}"
    )
    if package.channel_reason:
        print(f"    why: {package.channel_reason}")
    for line in package.declaration:
        print(
            f"    {line.sku} x{line.quantity}\t{line.name_en} / {line.name_local}\tHS {line.hs_code or '-'}\t"
            f"{line.unit_value.amount} {line.unit_value.currency}\t{line.unit_weight_g} g\t{line.origin}"
        )
    if package.failure_reason:
        print(f"    failed: {package.failure_reason}")


def describe_channel(channel: Channel) -> list[str]:
    limits = [f"max {channel.max_weight_g} g"]
    for name, value in (
        ("length", channel.max_length_cm),
        ("width", channel.max_width_cm),
        ("height", channel.max_height_cm),
        ("girth", channel.max_girth_cm),
    ):
        if value is not None:
            limits.append(f"{name} {value} cm")
    if channel.max_declared_value:
        limits.append(
            f"declared <= {channel.max_declared_value.amount} {channel.max_declared_value.currency}"
        )
    limits.append(
        "battery" + (" (apart)" if channel.battery_separate else "")
        if channel.battery_allowed
        else "no battery"
    )
    limits.append("countries " + (",".join(sorted(channel.countries)) if channel.countries else "all"))
    return ["limits: " + "; ".join(limits), *describe_rates(channel)]


def _register(command: str, file: Path) -> int:
    try:
        if command == "register-store":
            store = Store.model_validate_json(file.read_bytes())
            deps.catalogue().put_store(store)
            print(f"store {store.store_id} registered")
        else:
            channel = Channel.model_validate_json(file.read_bytes())
            deps.catalogue().put_channel(channel)
            print(f"channel {channel.code} registered")
    except ValidationError as exc:
        for error in exc.errors():
            print(f"{file}: {'.'.join(map(str, error['loc']))}: {error['msg']}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
