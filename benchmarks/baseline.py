"""
The six metrics computed the way the earlier system did: load the rows into
Python, then aggregate them there.

This module exists only to be measured against `fulfillment.metrics` and to
check it. It is written from SPEC §5 and docs/metrics.md, not from
`computations.py`: the row filters (status, time windows) go to the
database as plain ORM filters, and everything else (the SKU rule, the
percentiles, the JSON number check, the roster walk, the alerts) is done
here in plain Python over every matching row, materialised in a list. Only
the formatting helpers and the operators' fallback texts are shared, since
they are wording, not arithmetic.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q

from fulfillment.metrics.computations import (
    FALLBACK_COPY,
    format_duration,
    format_minutes,
    format_percent,
    format_score,
)
from fulfillment.metrics.snapshots import Figure
from fulfillment.models import FulfillmentStaffingShift, FulfillmentTask

OPEN = ("pending", "in_progress")
COMPLETED = "completed"
TRAILING_DAYS = 30
LOOKBACK_HOURS = 24
HORIZON_HOURS = 36
UNKNOWN_SKU = "unknown-sku"
# docs/metrics.md, "Fallback copy": the most serious alert first.
SERIOUSNESS = (
    "forecast_unavailable",
    "no_staffing_capacity",
    "sla_breach_risk",
    "partial_support",
    "sla_watch",
    "limited_history",
)

BaselineComputation = Callable[..., Figure]


def _minutes(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60


def _round2(number: float | None) -> float | None:
    return None if number is None else round(number, 2)


def _mean(numbers: Sequence[float]) -> float | None:
    return sum(numbers) / len(numbers) if numbers else None


def _is_json_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Percentile by linear interpolation between the closest ranks of sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    below = int(position)
    if below + 1 >= len(ordered):
        return ordered[-1]
    weight = position - below
    return ordered[below] * (1 - weight) + ordered[below + 1] * weight


def sku_of(*, slug: str | None, title: str | None) -> str:
    """A task's SKU: its product's slug, else its item's title, else `unknown-sku`."""
    slug_text = (slug or "").strip().lower()
    if slug_text:
        return slug_text
    return shift_sku(title)


def shift_sku(label: str | None) -> str:
    text = "-".join((label or "").strip().lower().split(" "))
    return text or UNKNOWN_SKU


# The five simple metrics ------------------------------------------------------------


def on_time(*, now: datetime) -> Figure:
    rows = list(
        FulfillmentTask.objects.filter(
            scheduled_at__isnull=False, completed_at__isnull=False
        ).values_list("scheduled_at", "completed_at")
    )
    punctual = sum(1 for scheduled, completed in rows if completed <= scheduled)
    share = punctual / len(rows) if rows else None
    return Figure(
        value=share,
        formatted_value="" if share is None else format_percent(share),
        sample_size=len(rows),
        metadata={"on_time_tasks": punctual, "late_tasks": len(rows) - punctual},
    )


def first_response(*, now: datetime) -> Figure:
    rows = list(
        FulfillmentTask.objects.filter(started_at__isnull=False).values_list(
            "started_at", "order_item__order__created_at"
        )
    )
    gaps = [_minutes(started, ordered) for started, ordered in rows if started >= ordered]
    average = _mean(gaps)
    return Figure(
        value=average,
        formatted_value="" if average is None else format_minutes(average),
        sample_size=len(gaps),
        metadata={"ignored_negative_gaps": len(rows) - len(gaps)},
    )


def nps(*, now: datetime) -> Figure:
    results = list(
        FulfillmentTask.objects.filter(
            status=COMPLETED,
            completed_at__gt=now - timedelta(days=TRAILING_DAYS),
            completed_at__lte=now,
        ).values_list("result", flat=True)
    )
    answers = [
        result["nps_score"]
        for result in results
        if isinstance(result, dict) and "nps_score" in result
    ]
    scores = [float(answer) for answer in answers if _is_json_number(answer)]
    average = _mean(scores)
    return Figure(
        value=average,
        formatted_value="" if average is None else format_score(average),
        sample_size=len(scores),
        metadata={"window_days": TRAILING_DAYS, "ignored_scores": len(answers) - len(scores)},
    )


def backlog(*, now: datetime) -> Figure:
    rows = list(
        FulfillmentTask.objects.filter(status__in=OPEN).values_list("scheduled_at", "created_at")
    )
    overdue = [
        _minutes(now, anchor)
        for anchor in (scheduled or created for scheduled, created in rows)
        if anchor < now
    ]
    total = sum(overdue) if overdue else None
    return Figure(
        value=total,
        formatted_value="" if total is None else format_duration(total),
        sample_size=len(rows),
        metadata={
            "overdue_task_count": len(overdue),
            "outstanding_task_count": len(rows),
            "average_backlog_minutes": _round2(_mean(overdue)),
            "total_backlog_minutes": _round2(total) if total is not None else 0.0,
        },
    )


def staffing_coverage(*, now: datetime) -> Figure:
    since = now - timedelta(hours=LOOKBACK_HOURS)
    rows = list(
        FulfillmentTask.objects.filter(
            Q(completed_at__range=(since, now)) | Q(scheduled_at__range=(since, now))
        ).values_list("status", "scheduled_at", "completed_at")
    )
    done = sum(
        1
        for status, _, completed in rows
        if status == COMPLETED and completed is not None and since <= completed <= now
    )
    planned = sum(
        1
        for status, scheduled, _ in rows
        if status in OPEN and scheduled is not None and since <= scheduled <= now
    )
    if planned:
        ratio: float | None = done / planned
    elif done:
        ratio = 1.0
    else:
        ratio = None
    return Figure(
        value=ratio,
        formatted_value="" if ratio is None else format_percent(ratio),
        sample_size=planned,
        metadata={
            "lookback_hours": LOOKBACK_HOURS,
            "scheduled_tasks": planned,
            "completed_tasks": done,
        },
    )


# Delivery forecast ------------------------------------------------------------------


def delivery_forecast(*, now: datetime) -> Figure:
    open_rows = list(
        FulfillmentTask.objects.filter(status__in=OPEN).values_list(
            "order_item__product__slug", "order_item__product_title"
        )
    )
    queue = Counter(sku_of(slug=slug, title=title) for slug, title in open_rows)

    history_rows = list(
        FulfillmentTask.objects.filter(
            status=COMPLETED,
            completed_at__gt=now - timedelta(days=TRAILING_DAYS),
            completed_at__lte=now,
        ).values_list(
            "order_item__product__slug",
            "order_item__product_title",
            "started_at",
            "scheduled_at",
            "completed_at",
        )
    )
    durations: dict[str, list[float]] = defaultdict(list)
    every_duration: list[float] = []
    for slug, title, started, scheduled, completed in history_rows:
        began = started if started is not None else scheduled
        if began is None:
            continue
        minutes = _minutes(completed, began)
        if minutes < 0:
            continue
        durations[sku_of(slug=slug, title=title)].append(minutes)
        every_duration.append(minutes)

    shift_rows = list(
        FulfillmentStaffingShift.objects.filter(
            ends_at__gt=now, starts_at__lt=now + timedelta(hours=HORIZON_HOURS)
        ).values_list("pk", "sku", "starts_at", "ends_at", "hourly_capacity")
    )
    shift_rows.sort(key=lambda row: (row[2], row[0]))
    roster: dict[str, list[tuple[datetime, datetime, float]]] = defaultdict(list)
    for _, label, starts_at, ends_at, hourly in shift_rows:
        roster[shift_sku(label)].append((starts_at, ends_at, hourly))

    entries = [
        _sku_entry(
            sku,
            queued=queue.get(sku, 0),
            durations=durations.get(sku, []),
            shifts=roster.get(sku, []),
            now=now,
        )
        for sku in sorted(set(queue) | set(durations))
    ]
    estimates = [e["estimated_clear_minutes"] for e in entries]
    known = [estimate for estimate in estimates if estimate is not None]
    slowest = max(known) if known else None
    alerts = _alerts(
        value=slowest,
        samples=len(every_duration),
        reasons=[e["unsupported_reason"] for e in entries if e["unsupported_reason"]],
    )
    return Figure(
        value=slowest,
        formatted_value="" if slowest is None else format_duration(slowest),
        sample_size=len(every_duration),
        metadata={
            "overall_percentile_bands": {
                "p50": _round2(percentile(every_duration, 0.5)),
                "p90": _round2(percentile(every_duration, 0.9)),
            },
            "sku_breakdown": entries,
            "observed_tasks": len(every_duration) + len(open_rows),
            "observed_window_days": TRAILING_DAYS,
            "forecast_alerts": alerts,
            "fallback_copy": FALLBACK_COPY[_most_serious(alerts)] if alerts else None,
        },
        forecast={
            "generated_at": now.isoformat(),
            "horizon_hours": HORIZON_HOURS,
            "skus": entries,
        },
    )


def _sku_entry(
    sku: str,
    *,
    queued: int,
    durations: Sequence[float],
    shifts: Iterable[tuple[datetime, datetime, float]],
    now: datetime,
) -> dict[str, Any]:
    windows = []
    left = queued
    cleared_at: datetime | None = now if queued == 0 else None
    offered_tasks = 0
    offered_hours = 0.0
    for starts_at, ends_at, hourly in shifts:
        begins = starts_at if starts_at > now else now
        hours = (ends_at - begins).total_seconds() / 3600 if ends_at > begins else 0.0
        tasks = round(hourly * hours)
        offered_tasks += tasks
        offered_hours += hours
        before = left
        drained = tasks if tasks < left else left
        left = before - drained
        if cleared_at is None and before and not left:
            cleared_at = begins + timedelta(hours=before / hourly)
        windows.append(
            {
                "start": starts_at.isoformat(),
                "end": ends_at.isoformat(),
                "hourly_capacity": hourly,
                "capacity_tasks": tasks,
                "backlog_at_start": before,
                "projected_tasks_completed": drained,
                "backlog_after": left,
            }
        )

    estimate = None if cleared_at is None else _minutes(cleared_at, now)
    if estimate is None and offered_tasks > 0:
        estimate = queued * 60 * offered_hours / offered_tasks
    reason = None
    if queued and offered_tasks == 0:
        reason = "no_staffing_capacity"
    elif queued and not durations:
        reason = "insufficient_history"
    return {
        "sku": sku,
        "backlog_tasks": queued,
        "completed_sample_size": len(durations),
        "average_minutes": _round2(_mean(durations)),
        "percentile_bands": {
            "p50": _round2(percentile(durations, 0.5)),
            "p90": _round2(percentile(durations, 0.9)),
        },
        "windows": windows,
        "estimated_clear_minutes": None if reason else _round2(estimate),
        "unsupported_reason": reason,
    }


def _alerts(*, value: float | None, samples: int, reasons: list[str]) -> list[str]:
    alerts: list[str] = []
    if value is None:
        alerts.append("forecast_unavailable")
    elif value >= 240:
        alerts.append("sla_breach_risk")
    elif value >= 120:
        alerts.append("sla_watch")
    if samples < 5:
        alerts.append("limited_history")
    if reasons:
        every_one_unstaffed = set(reasons) == {"no_staffing_capacity"}
        alerts.append("no_staffing_capacity" if every_one_unstaffed else "partial_support")
    return list(dict.fromkeys(alerts))


def _most_serious(alerts: list[str]) -> str:
    return next(alert for alert in SERIOUSNESS if alert in alerts)


BASELINE: dict[str, BaselineComputation] = {
    "fulfillment_sla_on_time_pct": on_time,
    "first_response_minutes": first_response,
    "nps_trailing_30d": nps,
    "fulfillment_backlog_minutes": backlog,
    "fulfillment_staffing_coverage_pct": staffing_coverage,
    "fulfillment_delivery_sla_forecast": delivery_forecast,
}
