from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from trust.demo import seed_demo


class Command(BaseCommand):
    help = "Fill an empty database with a demo shop and its `checkout` experience."

    def handle(self, *args: Any, **options: Any) -> None:
        report = seed_demo()
        if not report.created:
            self.stdout.write("Demo data is already in place; nothing changed.")
            return
        if report.tasks:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created {report.products} products, {report.orders} orders, "
                    f"{report.tasks} fulfillment tasks and {report.shifts} staffing shifts."
                )
            )
        if report.experience_created:
            self.stdout.write(self.style.SUCCESS("Created the `checkout` experience."))
