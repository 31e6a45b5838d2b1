"""打印: the direct command line's printing commands (the operator's `parcelflow` console has the same ones
through the operator API). Kept apart from cli.py, which holds the rest.

  print [--channel C] [--carrier K] [--store S] [--sku SKU] [--ship-by-before T] [--limit N]
        [--format pdf|zpl] [--save DIR]
                            批量打印: the labels waiting to print as one merged file (channel, SKU, bin order)
                            and a pick list, as links of at most 15 minutes; --save writes the files
  print-again BATCH [--save DIR]   the batch's labels again (jammed printer, expired link); each reprint
                            goes into the package's history; parcels that left are skipped, named
  reprint ORDER PACKAGE [--format pdf|zpl] [--save DIR]   one label again (or its first print)
  batches                   the print batches, newest first
  labels-report             labels never printed, and labels printed more than once
  note ORDER TEXT           卖家备注: set the seller's note printed on the order's labels
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

import httpx

from parcelflow import deps
from parcelflow.domain.models import LabelFormat
from parcelflow.domain.printing import PrintFilter
from parcelflow.services.notes import set_seller_note
from parcelflow.services.printing import (
    PrintedBatch,
    list_print_batches,
    print_batch,
    print_batch_again,
    print_label,
    print_report,
)

COMMANDS = ("print", "print-again", "reprint", "batches", "labels-report", "note")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    printing = commands.add_parser("print", help="批量打印: a print batch of the labels waiting to print")
    for name, what in (
        ("channel", "channel code"),
        ("carrier", "carrier (yunexpress, 4px)"),
        ("store", "store id"),
        ("sku", "SKU the package holds"),
    ):
        printing.add_argument(f"--{name}", action="append", default=[], help=f"{what}; may repeat")
    printing.add_argument("--ship-by-before", type=datetime.fromisoformat, help="ISO time with its zone")
    printing.add_argument("--limit", type=int, default=500)
    printing.add_argument("--format", type=LabelFormat, choices=list(LabelFormat), help="the printer's")
    printing.add_argument("--save", type=Path, help="write the batch's files into this folder")
    again = commands.add_parser("print-again", help="print a batch again")
    again.add_argument("batch_id")
    again.add_argument("--save", type=Path)
    reprint = commands.add_parser("reprint", help="print one label again")
    reprint.add_argument("order_id")
    reprint.add_argument("package_id")
    reprint.add_argument("--format", type=LabelFormat, choices=list(LabelFormat))
    reprint.add_argument("--save", type=Path)
    commands.add_parser("batches", help="the print batches, newest first")
    commands.add_parser("labels-report", help="labels never printed, and printed more than once")
    note = commands.add_parser("note", help="卖家备注: the seller's note printed on the order's labels")
    note.add_argument("order_id")
    note.add_argument("text")


def run(args: argparse.Namespace, by: str) -> int:
    printing = deps.printing()
    if args.command == "print":
        filters = PrintFilter(
            channels=args.channel,
            carriers=args.carrier,
            stores=args.store,
            skus=args.sku,
            ship_by_before=args.ship_by_before,
            limit=args.limit,
        )
        _show(print_batch(filters, printing=printing, by=by, label_format=args.format), args.save)
    elif args.command == "print-again":
        _show(print_batch_again(args.batch_id, printing=printing, by=by), args.save)
    elif args.command == "reprint":
        label = print_label(
            args.order_id, args.package_id, printing=printing, by=by, label_format=args.format
        )
        print(f"{label.tracking_number}\t{label.package_id}\tprint {label.print_count}\t{label.url}")
        if args.save:
            _save(args.save, f"{label.package_id}.{label.label_format}", label.url)
    elif args.command == "batches":
        for batch in list_print_batches(batches=printing.batches):
            last = batch.last_printed_at.isoformat(timespec="seconds") if batch.last_printed_at else "-"
            print(
                f"{batch.batch_id}\t{batch.status}\t{batch.labels} labels\t{batch.prints} prints\t"
                f"{batch.created_by}\tlast {last}\t{batch.filters}"
            )
    elif args.command == "labels-report":
        report = print_report(orders=printing.orders, batches=printing.batches)
        for state in report.never_printed:
            print(f"NEVER PRINTED\t{state.package_id}\t{state.tracking_number or ''}\t{state.channel_code}")
        for state in report.printed_more_than_once:
            times = f"PRINTED {state.print_count}x"
            print(f"{times}\t{state.package_id}\t{state.tracking_number}\t{state.channel_code}")
        for batch_id in report.unfinished_batches:
            print(f"UNFINISHED BATCH\t{batch_id}\tprint it again to finish it", file=sys.stderr)
    elif args.command == "note":
        order = set_seller_note(args.order_id, args.text, orders=printing.orders, by=by)
        print(f"{order.order_id}\t{order.seller_note or ''}")
    return 0


def _show(batch: PrintedBatch, save: Path | None) -> None:
    print(f"batch {batch.batch_id}\tprint {batch.print_number}\t{len(batch.printed)} labels")
    for label in batch.printed:
        print(f"{label.tracking_number}\t{label.package_id}\t{label.channel_code}")
    for held in batch.held:
        print(f"HELD\t{held.package_id}\t{held.reason}", file=sys.stderr)
    for package_id, why in batch.skipped.items():
        print(f"SKIPPED\t{package_id}\t{why}", file=sys.stderr)
    files = batch.files
    if files is None:
        return
    for name, url in (
        ("labels.pdf", files.labels_pdf_url),
        ("labels.zpl", files.labels_zpl_url),
        ("pick-list.pdf", files.pick_list_url),
    ):
        if url:
            print(f"{name}\t{url}")
            if save:
                _save(save, f"{batch.batch_id}-{batch.print_number}-{name}", url)


def _save(folder: Path, name: str, url: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    answer = httpx.get(url, timeout=60)
    answer.raise_for_status()
    (folder / name).write_bytes(answer.content)
    print(f"saved {folder / name}", file=sys.stderr)
