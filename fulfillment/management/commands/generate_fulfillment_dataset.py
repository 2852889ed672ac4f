"""`manage.py generate_fulfillment_dataset`: a large fulfillment dataset for benchmarks."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fulfillment.datasets import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_SEED,
    DEFAULT_SKUS,
    DatasetError,
    Progress,
    generate_dataset,
)

SUFFIXES = {"k": 1_000, "m": 1_000_000}


def count(value: str) -> int:
    """Parse a count such as `100000`, `100_000`, `100k` or `1m`."""
    text = value.strip().lower()
    factor = SUFFIXES.get(text[-1:], 1)
    if factor != 1:
        text = text[:-1]
    try:
        return int(text) * factor
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number such as 100000 or 100k, got {value!r}"
        ) from None


class Command(BaseCommand):
    help = (
        "Generate a large fulfillment dataset for benchmarks: products, orders, order items, "
        "N fulfillment tasks over the last 30 days (and some older) in every status, and a "
        "staffing roster for the next 36 hours. Runs in one transaction; uses COPY on "
        "PostgreSQL and bulk_create elsewhere."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tasks", type=count, required=True, metavar="N", help="Tasks to create, e.g. 1m."
        )
        parser.add_argument(
            "--skus",
            type=count,
            default=DEFAULT_SKUS,
            help=f"Products to sell, one per SKU (default {DEFAULT_SKUS}).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"Random seed; one seed builds the same data relative to now "
            f"(default {DEFAULT_SEED}).",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Delete all fulfillment data (and cached metrics) first. Without it, a "
            "database that has fulfillment tasks is refused.",
        )
        parser.add_argument(
            "--batch-size",
            type=count,
            default=DEFAULT_BATCH_SIZE,
            metavar="B",
            help=f"Tasks written per batch and progress line (default {DEFAULT_BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity: int = options["verbosity"]
        try:
            report = generate_dataset(
                tasks=options["tasks"],
                skus=options["skus"],
                seed=options["seed"],
                replace=options["replace"],
                batch_size=options["batch_size"],
                progress=self._progress if verbosity >= 1 else None,
                notice=self._notice if verbosity >= 1 else None,
            )
        except DatasetError as error:
            raise CommandError(str(error)) from error
        if verbosity < 1:
            return
        statuses = ", ".join(f"{status} {n}" for status, n in report.status_counts.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {report.tasks} tasks ({statuses}), {report.order_items} order items "
                f"({report.title_only_items} without a product), {report.orders} orders, "
                f"{report.products} products and {report.shifts} staffing shifts in "
                f"{report.elapsed_seconds:.1f}s with {report.method} (seed {report.seed})."
            )
        )

    def _progress(self, progress: Progress) -> None:
        self.stdout.write(
            f"tasks {progress.done}/{progress.total} ({progress.percent}%) "
            f"{progress.elapsed_seconds:.0f}s elapsed, ~{progress.remaining_seconds:.0f}s left"
        )
        self.stdout.flush()

    def _notice(self, message: str) -> None:
        self.stdout.write(message)
