"""Operators' command line: the same services the Lambdas call, against the deployed (or local) stack.

python -m parcelflow.cli print [--limit N]          labels to print, as presigned links
python -m parcelflow.cli orders --status STATUS     orders on one tab
python -m parcelflow.cli retry-waybill ORDER_ID PACKAGE_ID
"""

from __future__ import annotations

import argparse
import sys

from parcelflow import deps
from parcelflow.config import get_settings
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.services.labels import print_labels
from parcelflow.services.repairs import correct_address, retry_order


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parcelflow")
    commands = parser.add_subparsers(dest="command", required=True)
    printing = commands.add_parser("print", help="hand out the labels waiting to print")
    printing.add_argument("--limit", type=int, default=100)
    listing = commands.add_parser("orders", help="list the orders on one tab")
    listing.add_argument("--status", type=FulfilmentStatus, choices=list(FulfilmentStatus), required=True)
    commands.add_parser("rejected", help="orders the marketplaces sent that could not be taken in")
    fix = commands.add_parser("fix-address", help="correct the shipping address the carrier rejected")
    fix.add_argument("order_id")
    for field in ("postcode", "line1", "line2", "city", "province", "phone", "name"):
        fix.add_argument(f"--{field}")
    retry = commands.add_parser("retry", help="send an order's rejected packages through the workflow again")
    retry.add_argument("order_id")
    args = parser.parse_args(argv)

    if args.command == "print":
        batch = print_labels(
            repo=deps.repository(),
            labels=deps.labels(),
            expires_in_s=get_settings().label_url_expiry_s,
            by="operator:cli",
            limit=args.limit,
        )
        for label in batch.printed:
            print(f"{label.tracking_number}\t{label.package_id}\t{label.url}")
        for held in batch.held:
            print(f"HELD\t{held.package_id}\t{held.reason}", file=sys.stderr)
    elif args.command == "orders":
        for order in deps.repository().list_orders_by_status(args.status):
            print(f"{order.order_id}\t{order.status}\t{order.hold_reason or ''}\t{order.alert or ''}")
    elif args.command == "rejected":
        for rejected in deps.repository().list_rejected_orders():
            print(f"{rejected.platform_order_id}\t{rejected.error}")
    elif args.command == "fix-address":
        fields = ("postcode", "line1", "line2", "city", "province", "phone", "name")
        changes = {f: getattr(args, f) for f in fields if getattr(args, f) is not None}
        address = correct_address(args.order_id, changes, repo=deps.repository(), by="operator:cli")
        print(address.model_dump_json(exclude_none=True))
    else:
        outcome = retry_order(args.order_id, repo=deps.repository(), workflow=deps.workflow())
        print(f"{outcome.order_id}\tattempt {outcome.attempt}\t{' '.join(outcome.retried_packages)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
