from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from fulfillment.metrics.service import UnknownMetricError, purge_metrics


class Command(BaseCommand):
    help = "Clear cached metrics from both tiers, in every worker within two seconds."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--metric-id",
            help="Purge only this catalog metric; without it every cached metric is purged.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        metric_id = options["metric_id"]
        verbosity = options["verbosity"]

        try:
            purged = purge_metrics(metric_id=metric_id, actor="manage.py purge_trust_metrics")
        except UnknownMetricError as error:
            raise CommandError(str(error)) from error

        if verbosity:
            listed = ", ".join(purged) if purged else "none were cached"
            self.stdout.write(f"Purged {len(purged)} metric(s): {listed}")
