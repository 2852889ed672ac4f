from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from fulfillment.metrics.service import warm_metrics


class Command(BaseCommand):
    help = "Compute every catalog metric ahead of demand and store it in both cache tiers."

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options["verbosity"]

        results = warm_metrics()

        failed = [result for result in results if result.error]
        if verbosity:
            for result in results:
                if result.snapshot is None:
                    self.stdout.write(self.style.ERROR(f"{result.metric_id}: {result.error}"))
                    continue
                snapshot = result.snapshot
                self.stdout.write(
                    f"{snapshot.metric_id}: {snapshot.formatted_value or 'no value'} "
                    f"from {snapshot.sample_size} samples, "
                    f"cached until {snapshot.expires_at:%Y-%m-%d %H:%M:%S %Z}"
                )
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(results)} metrics failed to warm: "
                f"{', '.join(result.metric_id for result in failed)}"
            )
        if verbosity:
            self.stdout.write(self.style.SUCCESS(f"Warmed {len(results)} metrics."))
