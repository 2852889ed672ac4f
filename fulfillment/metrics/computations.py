"""
The six metric computations.

Each takes the moment of computation and returns a `Figure`. The work is done
by the database: aggregates, conditional counts, JSON key checks and
percentiles, so the Python memory a computation needs does not grow with the
number of tasks. Only the staffing roster (a few rows per SKU) and one row of
aggregates per SKU reach Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Avg, Count, DateTimeField, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThanOrEqual, LessThan

from fulfillment.metrics.expressions import (
    JSONNumber,
    MinutesBetween,
    Percentile,
    normalise_sku_text,
    task_sku,
)
from fulfillment.metrics.snapshots import Figure
from fulfillment.models import FulfillmentStaffingShift, FulfillmentTask

OPEN_STATUSES = FulfillmentTask.OPEN_STATUSES
COMPLETED = FulfillmentTask.Status.COMPLETED

NPS_WINDOW = timedelta(days=30)
COVERAGE_LOOKBACK_HOURS = 24
FORECAST_HISTORY_DAYS = 30
FORECAST_HORIZON_HOURS = 36
SLA_WATCH_MINUTES = 120
SLA_BREACH_RISK_MINUTES = 240
LIMITED_HISTORY_SAMPLES = 5

# Operator-facing copy for the most serious forecast alert, most serious first.
FALLBACK_COPY = {
    "forecast_unavailable": (
        "No live delivery estimate can be made right now; show typical delivery times instead."
    ),
    "no_staffing_capacity": (
        "No staffing capacity is rostered for the open work in the next 36 hours; "
        "add shifts before promising delivery times."
    ),
    "sla_breach_risk": (
        "The queue needs four hours or more to clear; add capacity or soften delivery promises."
    ),
    "partial_support": (
        "Some products cannot be forecast (no roster or no recent history); "
        "the estimate covers the others only."
    ),
    "sla_watch": "The queue needs two hours or more to clear; keep an eye on staffing.",
    "limited_history": "Fewer than five recent completions back this estimate; treat it as rough.",
}


# Database session ---------------------------------------------------------

WORK_MEM_PATTERN = re.compile(r"^[1-9][0-9]*(kB|MB|GB)$")


@contextmanager
def aggregate_session() -> Iterator[None]:
    """
    Run a computation in one transaction; on PostgreSQL, with room to sort.

    The forecast's percentiles sort every duration of the last 30 days, per
    SKU: with PostgreSQL's default 4 MB of `work_mem` that sort spills to disk
    from a few hundred thousand tasks. JIT compilation costs more than it saves
    on these one-off aggregates. Both settings last for this transaction only.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            work_mem = settings.TRUST_METRICS_WORK_MEM
            if not WORK_MEM_PATTERN.match(work_mem):
                raise ImproperlyConfigured(
                    f"TRUST_METRICS_WORK_MEM must look like 64MB, not {work_mem!r}."
                )
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL work_mem = '{work_mem}'")
                cursor.execute("SET LOCAL jit = off")
        yield


# Formatting ---------------------------------------------------------------


def _half_up(number: float, places: int = 0) -> Decimal:
    return Decimal(repr(number)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def format_percent(fraction: float) -> str:
    return f"{_half_up(fraction * 100)}%"


def format_minutes(minutes: float) -> str:
    return f"{_half_up(minutes)}m"


def format_duration(minutes: float) -> str:
    """Hours with one decimal from 60 minutes up ("2.5h"), else whole minutes ("45m")."""
    if minutes >= 60:
        return f"{_half_up(minutes / 60, 1)}h"
    return format_minutes(minutes)


def format_score(score: float) -> str:
    return str(_half_up(score, 1))


def _rounded(number: float | None, places: int = 2) -> float | None:
    return None if number is None else round(number, places)


def _now_value(now: datetime) -> Value:
    return Value(now, output_field=DateTimeField())


# Computations -------------------------------------------------------------


def compute_on_time(*, now: datetime) -> Figure:
    """Share of scheduled, completed tasks completed at or before their schedule."""
    stats = FulfillmentTask.objects.filter(
        scheduled_at__isnull=False, completed_at__isnull=False
    ).aggregate(
        measured=Count("pk"),
        on_time=Count("pk", filter=Q(completed_at__lte=F("scheduled_at"))),
    )
    measured, on_time = stats["measured"], stats["on_time"]
    value = on_time / measured if measured else None
    return Figure(
        value=value,
        formatted_value=format_percent(value) if value is not None else "",
        sample_size=measured,
        metadata={"on_time_tasks": on_time, "late_tasks": measured - on_time},
    )


def compute_first_response(*, now: datetime) -> Figure:
    """Mean minutes from order creation to the task's start; negative gaps ignored."""
    order_created = "order_item__order__created_at"
    stats = FulfillmentTask.objects.filter(started_at__isnull=False).aggregate(
        gaps=Count("pk", filter=Q(started_at__gte=F(order_created))),
        negative_gaps=Count("pk", filter=Q(started_at__lt=F(order_created))),
        mean=Avg(
            MinutesBetween("started_at", order_created),
            filter=Q(started_at__gte=F(order_created)),
        ),
    )
    mean = stats["mean"]
    return Figure(
        value=mean,
        formatted_value=format_minutes(mean) if mean is not None else "",
        sample_size=stats["gaps"],
        metadata={"ignored_negative_gaps": stats["negative_gaps"]},
    )


def compute_nps(*, now: datetime) -> Figure:
    """Mean numeric `result.nps_score` of tasks completed in the last 30 days."""
    score = JSONNumber("result", "nps_score")
    stats = FulfillmentTask.objects.filter(
        status=COMPLETED, completed_at__gt=now - NPS_WINDOW, completed_at__lte=now
    ).aggregate(
        scores=Count(score),
        answered=Count("pk", filter=Q(result__has_key="nps_score")),
        mean=Avg(score),
    )
    mean = stats["mean"]
    return Figure(
        value=mean,
        formatted_value=format_score(mean) if mean is not None else "",
        sample_size=stats["scores"],
        metadata={
            "window_days": NPS_WINDOW.days,
            "ignored_scores": stats["answered"] - stats["scores"],
        },
    )


def compute_backlog(*, now: datetime) -> Figure:
    """Total overdue minutes over open tasks, anchored on schedule, else creation."""
    anchor = Coalesce("scheduled_at", "created_at")
    is_overdue = LessThan(anchor, _now_value(now))
    stats = FulfillmentTask.objects.filter(status__in=OPEN_STATUSES).aggregate(
        outstanding=Count("pk"),
        overdue=Count("pk", filter=is_overdue),
        total=Sum(MinutesBetween(_now_value(now), anchor), filter=is_overdue),
    )
    overdue, total = stats["overdue"], stats["total"]
    value = total if overdue else None
    return Figure(
        value=value,
        formatted_value=format_duration(value) if value is not None else "",
        sample_size=stats["outstanding"],
        metadata={
            "overdue_task_count": overdue,
            "outstanding_task_count": stats["outstanding"],
            "average_backlog_minutes": _rounded(total / overdue) if overdue else None,
            "total_backlog_minutes": _rounded(total) if overdue else 0.0,
        },
    )


def compute_staffing_coverage(*, now: datetime) -> Figure:
    """Tasks completed in the last 24 h over open tasks scheduled in the last 24 h."""
    since = now - timedelta(hours=COVERAGE_LOOKBACK_HOURS)
    completed = Q(status=COMPLETED, completed_at__gte=since, completed_at__lte=now)
    scheduled = Q(status__in=OPEN_STATUSES, scheduled_at__gte=since, scheduled_at__lte=now)
    stats = FulfillmentTask.objects.filter(completed | scheduled).aggregate(
        completed=Count("pk", filter=completed),
        scheduled=Count("pk", filter=scheduled),
    )
    completed_count, scheduled_count = stats["completed"], stats["scheduled"]
    if scheduled_count:
        value: float | None = completed_count / scheduled_count
    else:
        value = 1.0 if completed_count else None
    return Figure(
        value=value,
        formatted_value=format_percent(value) if value is not None else "",
        sample_size=scheduled_count,
        metadata={
            "lookback_hours": COVERAGE_LOOKBACK_HOURS,
            "scheduled_tasks": scheduled_count,
            "completed_tasks": completed_count,
        },
    )


# Delivery forecast --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shift:
    starts_at: datetime
    ends_at: datetime
    hourly_capacity: float


@dataclass(frozen=True, slots=True)
class History:
    size: int = 0
    average: float | None = None
    p50: float | None = None
    p90: float | None = None


def compute_delivery_forecast(*, now: datetime) -> Figure:
    """Minutes until the slowest SKU's backlog clears, projected over the roster."""
    backlog = _backlog_by_sku()
    history, overall = _history_by_sku(now=now)
    roster = _roster_by_sku(now=now)

    skus = [
        project_sku(
            sku,
            backlog=backlog.get(sku, 0),
            history=history.get(sku, History()),
            shifts=roster.get(sku, []),
            now=now,
        )
        for sku in sorted(set(backlog) | set(history))
    ]
    estimates = [
        entry["estimated_clear_minutes"]
        for entry in skus
        if entry["estimated_clear_minutes"] is not None
    ]
    value = max(estimates) if estimates else None
    alerts = forecast_alerts(
        value=value,
        history_size=overall.size,
        reasons=[entry["unsupported_reason"] for entry in skus if entry["unsupported_reason"]],
    )
    bands = {"p50": _rounded(overall.p50), "p90": _rounded(overall.p90)}
    return Figure(
        value=value,
        formatted_value=format_duration(value) if value is not None else "",
        sample_size=overall.size,
        metadata={
            "overall_percentile_bands": bands,
            "sku_breakdown": skus,
            "observed_tasks": overall.size + sum(backlog.values()),
            "observed_window_days": FORECAST_HISTORY_DAYS,
            "forecast_alerts": alerts,
            "fallback_copy": FALLBACK_COPY[most_serious(alerts)] if alerts else None,
        },
        forecast={
            "generated_at": now.isoformat(),
            "horizon_hours": FORECAST_HORIZON_HOURS,
            "skus": skus,
        },
    )


def _backlog_by_sku() -> dict[str, int]:
    rows = (
        FulfillmentTask.objects.filter(status__in=OPEN_STATUSES)
        .annotate(sku=task_sku())
        .values("sku")
        .annotate(tasks=Count("pk"))
        .order_by()
    )
    return {row["sku"]: row["tasks"] for row in rows}


def _history_by_sku(*, now: datetime) -> tuple[dict[str, History], History]:
    duration = MinutesBetween("completed_at", Coalesce("started_at", "scheduled_at"))
    completions = FulfillmentTask.objects.filter(
        GreaterThanOrEqual(duration, 0),
        status=COMPLETED,
        completed_at__gt=now - timedelta(days=FORECAST_HISTORY_DAYS),
        completed_at__lte=now,
    )
    summary = {
        "size": Count("pk"),
        "average": Avg(duration),
        "p50": Percentile(duration, 0.5),
        "p90": Percentile(duration, 0.9),
    }
    per_sku = completions.annotate(sku=task_sku()).values("sku").annotate(**summary).order_by()
    overall = completions.aggregate(**summary)
    return (
        {row.pop("sku"): History(**row) for row in per_sku},
        History(**overall),
    )


def _roster_by_sku(*, now: datetime) -> dict[str, list[Shift]]:
    horizon = now + timedelta(hours=FORECAST_HORIZON_HOURS)
    rows = (
        FulfillmentStaffingShift.objects.filter(ends_at__gt=now, starts_at__lt=horizon)
        .order_by("starts_at", "pk")
        .values_list("sku", "starts_at", "ends_at", "hourly_capacity")
    )
    roster: dict[str, list[Shift]] = {}
    for sku, starts_at, ends_at, hourly_capacity in rows:
        roster.setdefault(normalise_sku_text(sku), []).append(
            Shift(starts_at, ends_at, hourly_capacity)
        )
    return roster


def project_sku(
    sku: str, *, backlog: int, history: History, shifts: Iterable[Shift], now: datetime
) -> dict[str, Any]:
    """Walk one SKU's roster, draining its backlog; return its forecast entry."""
    windows: list[dict[str, Any]] = []
    remaining = backlog
    clear_minutes: float | None = 0.0 if backlog == 0 else None
    total_capacity, total_hours = 0, 0.0
    for shift in shifts:
        effective_start = max(shift.starts_at, now)
        hours = max((shift.ends_at - effective_start).total_seconds() / 3600, 0.0)
        capacity = round(shift.hourly_capacity * hours)
        total_capacity += capacity
        total_hours += hours
        at_start = remaining
        completed = min(remaining, capacity)
        remaining -= completed
        if clear_minutes is None and at_start > 0 and remaining == 0:
            clear_at = effective_start + timedelta(hours=at_start / shift.hourly_capacity)
            clear_minutes = (clear_at - now).total_seconds() / 60
        windows.append(
            {
                "start": shift.starts_at.isoformat(),
                "end": shift.ends_at.isoformat(),
                "hourly_capacity": shift.hourly_capacity,
                "capacity_tasks": capacity,
                "backlog_at_start": at_start,
                "projected_tasks_completed": completed,
                "backlog_after": remaining,
            }
        )

    reason = None
    if backlog and not total_capacity:
        reason = "no_staffing_capacity"
    elif backlog and not history.size:
        reason = "insufficient_history"
    if clear_minutes is None and total_capacity:
        # The roster never drains the backlog: extrapolate at its average rate.
        clear_minutes = backlog / (total_capacity / total_hours) * 60
    if reason:
        clear_minutes = None

    return {
        "sku": sku,
        "backlog_tasks": backlog,
        "completed_sample_size": history.size,
        "average_minutes": _rounded(history.average),
        "percentile_bands": {"p50": _rounded(history.p50), "p90": _rounded(history.p90)},
        "windows": windows,
        "estimated_clear_minutes": _rounded(clear_minutes),
        "unsupported_reason": reason,
    }


def forecast_alerts(*, value: float | None, history_size: int, reasons: list[str]) -> list[str]:
    """Return the forecast's alerts in their fixed order, without duplicates."""
    alerts = []
    if value is None:
        alerts.append("forecast_unavailable")
    elif value >= SLA_BREACH_RISK_MINUTES:
        alerts.append("sla_breach_risk")
    elif value >= SLA_WATCH_MINUTES:
        alerts.append("sla_watch")
    if history_size < LIMITED_HISTORY_SAMPLES:
        alerts.append("limited_history")
    if reasons:
        if all(reason == "no_staffing_capacity" for reason in reasons):
            alerts.append("no_staffing_capacity")
        else:
            alerts.append("partial_support")
    return alerts


def most_serious(alerts: list[str]) -> str | None:
    """Return the alert whose fallback copy an operator should read first."""
    return min(alerts, key=list(FALLBACK_COPY).index) if alerts else None
