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
from parcelflow.services.waybills import retry_waybill


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parcelflow")
    commands = parser.add_subparsers(dest="command", required=True)
    printing = commands.add_parser("print", help="hand out the labels waiting to print")
    printing.add_argument("--limit", type=int, default=100)
    listing = commands.add_parser("orders", help="list the orders on one tab")
    listing.add_argument("--status", type=FulfilmentStatus, choices=list(FulfilmentStatus), required=True)
    commands.add_parser("rejected", help="orders the marketplaces sent that could not be taken in")
    retry = commands.add_parser("retry-waybill", help="request a rejected package's waybill again")
    retry.add_argument("order_id")
    retry.add_argument("package_id")
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
    else:
        outcome = retry_waybill(
            args.order_id,
            args.package_id,
            repo=deps.repository(),
            carrier_for=deps.carrier_for,
            by="operator:cli",
        )
        print(f"{outcome.package_id}\t{outcome.status}\t{outcome.tracking_number or ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
