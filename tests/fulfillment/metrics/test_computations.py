from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fulfillment.metrics import computations
from fulfillment.metrics.catalog import CATALOG
from fulfillment.metrics.expressions import interpolated_percentile
from tests import factories
from tests.fulfillment.metrics.builders import (
    DONE,
    OPEN,
    STARTED,
    bulk_tasks,
    completed_with_duration,
    item_for_sku,
    minutes,
    task,
)

pytestmark = pytest.mark.django_db

FAILED = "failed"


# Empty tables ---------------------------------------------------------------


@pytest.mark.parametrize("metric_id", list(CATALOG))
def test_every_metric_on_empty_tables_has_no_value_and_no_samples(metric_id, now):
    figure = CATALOG[metric_id].run(now=now)

    assert figure.value is None
    assert figure.formatted_value == ""
    assert figure.sample_size == 0


# On-time share ---------------------------------------------------------------


def test_on_time_share_counts_completions_at_or_before_schedule(now):
    scheduled = now - minutes(120)
    task(scheduled_at=scheduled, completed_at=scheduled - minutes(30), status=DONE)
    task(scheduled_at=scheduled, completed_at=scheduled, status=DONE)
    task(scheduled_at=scheduled, completed_at=scheduled + minutes(1), status=DONE)
    task(scheduled_at=scheduled, status=STARTED)  # not completed: not measured
    task(completed_at=scheduled, status=DONE)  # never scheduled: not measured

    figure = computations.compute_on_time(now=now)

    assert figure.value == pytest.approx(2 / 3)
    assert figure.formatted_value == "67%"
    assert figure.sample_size == 3
    assert figure.metadata == {"on_time_tasks": 2, "late_tasks": 1}


def test_on_time_share_is_a_fraction_formatted_as_a_whole_percent(now):
    task(scheduled_at=now, completed_at=now - minutes(1), status=DONE)
    task(scheduled_at=now - minutes(10), completed_at=now, status=DONE)

    figure = computations.compute_on_time(now=now)

    assert figure.value == 0.5
    assert figure.formatted_value == "50%"


# First response --------------------------------------------------------------


def test_first_response_is_the_mean_gap_ignoring_negative_and_unstarted(now):
    created = now - minutes(600)
    task(item_for_sku("a", order_created_at=created), started_at=created + minutes(30))
    task(item_for_sku("b", order_created_at=created), started_at=created + minutes(60))
    # Started before the order existed (clock skew, imports): ignored.
    task(item_for_sku("c", order_created_at=created), started_at=created - minutes(15))
    task(item_for_sku("d", order_created_at=created))  # not started

    figure = computations.compute_first_response(now=now)

    assert figure.value == pytest.approx(45.0)
    assert figure.formatted_value == "45m"
    assert figure.sample_size == 2
    assert figure.metadata == {"ignored_negative_gaps": 1}


def test_first_response_counts_a_zero_gap(now):
    created = now - minutes(60)
    task(item_for_sku("a", order_created_at=created), started_at=created)

    figure = computations.compute_first_response(now=now)

    assert figure.value == 0.0
    assert figure.formatted_value == "0m"
    assert figure.sample_size == 1


# NPS -------------------------------------------------------------------------


def test_nps_averages_numeric_scores_and_ignores_strings_booleans_and_nulls(now):
    recent = now - timedelta(days=2)
    for score in [10, 9, 7.5]:
        task(status=DONE, completed_at=recent, result={"nps_score": score})
    for malformed in ["9", True, False, None, ""]:
        task(status=DONE, completed_at=recent, result={"nps_score": malformed})
    task(status=DONE, completed_at=recent, result={"delivered": True})
    task(status=DONE, completed_at=recent, result=None)
    task(status=DONE, completed_at=now - timedelta(days=31), result={"nps_score": 0})
    task(status=FAILED, completed_at=recent, result={"nps_score": 0})

    figure = computations.compute_nps(now=now)

    assert figure.value == pytest.approx(26.5 / 3)
    assert figure.formatted_value == "8.8"
    assert figure.sample_size == 3
    assert figure.metadata == {"window_days": 30, "ignored_scores": 5}


def test_nps_formats_with_one_decimal(now):
    task(status=DONE, completed_at=now - minutes(5), result={"nps_score": 10})

    figure = computations.compute_nps(now=now)

    assert figure.value == 10.0
    assert figure.formatted_value == "10.0"


# Backlog ---------------------------------------------------------------------


def test_backlog_sums_positive_overdue_minutes_of_open_tasks(now):
    task(status=OPEN, scheduled_at=now - minutes(120))
    task(status=STARTED, scheduled_at=None, created_at=now - minutes(30))
    task(status=OPEN, scheduled_at=now + minutes(60))  # not due yet
    task(status=DONE, scheduled_at=now - minutes(500), completed_at=now)  # closed

    figure = computations.compute_backlog(now=now)

    assert figure.value == pytest.approx(150.0)
    assert figure.formatted_value == "2.5h"
    assert figure.sample_size == 3
    assert figure.metadata == {
        "overdue_task_count": 2,
        "outstanding_task_count": 3,
        "average_backlog_minutes": 75.0,
        "total_backlog_minutes": 150.0,
    }


def test_backlog_under_an_hour_is_whole_minutes(now):
    task(status=OPEN, scheduled_at=now - minutes(44.6))

    figure = computations.compute_backlog(now=now)

    assert figure.formatted_value == "45m"


def test_backlog_without_overdue_tasks_has_no_value(now):
    task(status=OPEN, scheduled_at=now + minutes(10))

    figure = computations.compute_backlog(now=now)

    assert figure.value is None
    assert figure.sample_size == 1
    assert figure.metadata["overdue_task_count"] == 0


# Staffing coverage -----------------------------------------------------------


def test_coverage_divides_recent_completions_by_recently_scheduled_open_tasks(now):
    task(status=DONE, completed_at=now - minutes(60))
    task(status=DONE, completed_at=now - timedelta(hours=25))  # too old
    task(status=FAILED, completed_at=now - minutes(60))  # not completed
    task(status=OPEN, scheduled_at=now - minutes(120))
    task(status=STARTED, scheduled_at=now - timedelta(hours=23))
    task(status=OPEN, scheduled_at=now + minutes(60))  # not yet scheduled
    task(status=OPEN, scheduled_at=now - timedelta(hours=30))  # outside the lookback

    figure = computations.compute_staffing_coverage(now=now)

    assert figure.value == 0.5
    assert figure.formatted_value == "50%"
    assert figure.sample_size == 2
    assert figure.metadata == {"lookback_hours": 24, "scheduled_tasks": 2, "completed_tasks": 1}


def test_coverage_with_only_completions_is_full(now):
    task(status=DONE, completed_at=now - minutes(5))

    figure = computations.compute_staffing_coverage(now=now)

    assert figure.value == 1.0
    assert figure.formatted_value == "100%"
    assert figure.sample_size == 0


# Percentiles -----------------------------------------------------------------


def test_interpolated_percentile_matches_the_specified_example():
    durations = [12, 24, 48, 96]

    assert interpolated_percentile(durations, 0.5) == pytest.approx(36)
    assert interpolated_percentile(durations, 0.9) == pytest.approx(81.6)
    assert interpolated_percentile([7], 0.9) == 7
    assert interpolated_percentile([], 0.5) is None


def test_forecast_percentiles_are_interpolated_in_the_database(now):
    item = item_for_sku("alpha")
    for duration in [96, 12, 48, 24]:
        completed_with_duration(item, now=now, duration_minutes=duration)

    figure = computations.compute_delivery_forecast(now=now)

    bands = {"p50": 36.0, "p90": 81.6}
    assert figure.metadata["overall_percentile_bands"] == bands
    (alpha,) = figure.forecast["skus"]
    assert alpha["percentile_bands"] == bands
    assert alpha["average_minutes"] == 45.0
    assert alpha["completed_sample_size"] == 4


# Delivery forecast -----------------------------------------------------------


@pytest.fixture
def mixed_shop(now):
    """
    alpha: 10 open tasks, 4 recent durations, a shift in progress and a later one;
    rush-job (title only): 2 open tasks, 1 duration, nobody rostered;
    charlie: no open tasks, 2 durations.
    """
    alpha = item_for_sku(" Alpha ")
    for _ in range(10):
        task(alpha, status=OPEN, scheduled_at=now + minutes(30))
    for duration in [12, 24, 48, 96]:
        completed_with_duration(alpha, now=now, duration_minutes=duration)
    factories.FulfillmentStaffingShiftFactory(
        sku="ALPHA", starts_at=now - minutes(120), ends_at=now + minutes(120), hourly_capacity=3
    )
    factories.FulfillmentStaffingShiftFactory(
        sku="alpha", starts_at=now + minutes(240), ends_at=now + minutes(480), hourly_capacity=2
    )
    factories.FulfillmentStaffingShiftFactory(  # already over: ignored
        sku="alpha", starts_at=now - minutes(600), ends_at=now - minutes(60), hourly_capacity=50
    )
    factories.FulfillmentStaffingShiftFactory(  # beyond the 36 h horizon: ignored
        sku="alpha", starts_at=now + timedelta(hours=37), hourly_capacity=50
    )

    rush = item_for_sku(None, title="  Rush Job ")
    task(rush, status=STARTED, scheduled_at=now - minutes(10))
    task(rush, status=OPEN, scheduled_at=now + minutes(10))
    completed_with_duration(rush, now=now, duration_minutes=30)

    charlie = item_for_sku("charlie")
    completed_with_duration(charlie, now=now, duration_minutes=20)
    completed_with_duration(charlie, now=now, duration_minutes=40)


def test_forecast_walks_the_roster_from_now_and_finds_the_clearing_time(now, mixed_shop):
    figure = computations.compute_delivery_forecast(now=now)

    skus = {entry["sku"]: entry for entry in figure.forecast["skus"]}
    assert list(skus) == ["alpha", "charlie", "rush-job"]
    alpha = skus["alpha"]
    assert alpha["backlog_tasks"] == 10
    assert [
        (w["capacity_tasks"], w["backlog_at_start"], w["projected_tasks_completed"])
        for w in alpha["windows"]
    ] == [(6, 10, 6), (8, 4, 4)]
    assert [w["backlog_after"] for w in alpha["windows"]] == [4, 0]
    assert alpha["windows"][0]["start"] == (now - minutes(120)).isoformat()
    # The second window starts 4 h from now and drains 4 tasks at 2 an hour.
    assert alpha["estimated_clear_minutes"] == 360.0
    assert alpha["unsupported_reason"] is None


def test_forecast_marks_unstaffed_and_idle_skus(now, mixed_shop):
    figure = computations.compute_delivery_forecast(now=now)

    skus = {entry["sku"]: entry for entry in figure.forecast["skus"]}
    assert skus["rush-job"]["unsupported_reason"] == "no_staffing_capacity"
    assert skus["rush-job"]["estimated_clear_minutes"] is None
    assert skus["charlie"]["estimated_clear_minutes"] == 0.0
    assert skus["charlie"]["unsupported_reason"] is None


def test_forecast_value_alerts_and_metadata(now, mixed_shop):
    figure = computations.compute_delivery_forecast(now=now)

    assert figure.value == 360.0
    assert figure.formatted_value == "6.0h"
    assert figure.sample_size == 7
    assert figure.metadata["forecast_alerts"] == ["sla_breach_risk", "no_staffing_capacity"]
    assert figure.metadata["fallback_copy"] == computations.FALLBACK_COPY["no_staffing_capacity"]
    assert figure.metadata["observed_tasks"] == 7 + 12
    assert figure.metadata["observed_window_days"] == 30
    assert figure.metadata["sku_breakdown"] == figure.forecast["skus"]
    assert figure.forecast["horizon_hours"] == 36
    assert figure.forecast["generated_at"] == now.isoformat()


def test_forecast_extrapolates_when_the_roster_never_drains_the_backlog(now):
    item = item_for_sku("bulk")
    for _ in range(100):
        task(item, status=OPEN, scheduled_at=now)
    for duration in [30, 40, 50, 60, 70]:
        completed_with_duration(item, now=now, duration_minutes=duration)
    factories.FulfillmentStaffingShiftFactory(
        sku="bulk", starts_at=now + minutes(60), ends_at=now + minutes(180), hourly_capacity=5
    )

    figure = computations.compute_delivery_forecast(now=now)

    (entry,) = figure.forecast["skus"]
    assert entry["windows"][0]["backlog_after"] == 90
    # 100 tasks at the roster's average of 10 tasks over 2 hours: 20 hours.
    assert entry["estimated_clear_minutes"] == 1200.0
    assert figure.metadata["forecast_alerts"] == ["sla_breach_risk"]


def test_forecast_with_no_sku_supported_has_no_value(now):
    unstaffed = item_for_sku("unstaffed")
    task(unstaffed, status=OPEN)
    completed_with_duration(unstaffed, now=now, duration_minutes=30)
    new = item_for_sku("brand-new")
    task(new, status=OPEN)
    factories.FulfillmentStaffingShiftFactory(
        sku="brand-new", starts_at=now, ends_at=now + minutes(60), hourly_capacity=4
    )

    figure = computations.compute_delivery_forecast(now=now)

    reasons = {e["sku"]: e["unsupported_reason"] for e in figure.forecast["skus"]}
    assert reasons == {"brand-new": "insufficient_history", "unstaffed": "no_staffing_capacity"}
    assert figure.value is None
    assert figure.formatted_value == ""
    assert figure.metadata["forecast_alerts"] == [
        "forecast_unavailable",
        "limited_history",
        "partial_support",
    ]
    assert figure.metadata["fallback_copy"] == computations.FALLBACK_COPY["forecast_unavailable"]


def test_forecast_sla_watch_between_two_and_four_hours(now):
    item = item_for_sku("watch")
    for _ in range(6):
        task(item, status=OPEN)
    for duration in [30, 40, 50, 60, 70]:
        completed_with_duration(item, now=now, duration_minutes=duration)
    factories.FulfillmentStaffingShiftFactory(
        sku="watch", starts_at=now, ends_at=now + minutes(600), hourly_capacity=2
    )

    figure = computations.compute_delivery_forecast(now=now)

    assert figure.value == 180.0
    assert figure.formatted_value == "3.0h"
    assert figure.metadata["forecast_alerts"] == ["sla_watch"]
    assert figure.metadata["fallback_copy"] == computations.FALLBACK_COPY["sla_watch"]


def test_forecast_drops_negative_durations_and_uses_schedule_without_start(now):
    item = item_for_sku("gamma")
    task(item, status=DONE, started_at=now - minutes(10), completed_at=now - minutes(20))
    task(item, status=DONE, scheduled_at=now - minutes(50), completed_at=now - minutes(20))
    task(item, status=DONE, completed_at=now - minutes(20))  # no start, no schedule

    figure = computations.compute_delivery_forecast(now=now)

    assert figure.sample_size == 1
    assert figure.metadata["overall_percentile_bands"] == {"p50": 30.0, "p90": 30.0}


def test_forecast_with_no_sku_at_all(now):
    figure = computations.compute_delivery_forecast(now=now)

    assert figure.value is None
    assert figure.forecast["skus"] == []
    assert figure.metadata["forecast_alerts"] == ["forecast_unavailable", "limited_history"]


# Cost -----------------------------------------------------------------------


def _queries(metric_id: str, *, now) -> int:
    """Count the SELECTs a computation makes (not its savepoint and session settings)."""
    with CaptureQueriesContext(connection) as captured:
        CATALOG[metric_id].run(now=now)
    return sum(query["sql"].lstrip().upper().startswith("SELECT") for query in captured)


@pytest.mark.parametrize("metric_id", list(CATALOG))
def test_query_count_does_not_grow_with_the_number_of_tasks(metric_id, now):
    bulk_tasks(10, now=now)
    small = _queries(metric_id, now=now)

    bulk_tasks(2000, now=now)
    large = _queries(metric_id, now=now)

    assert small == large
    assert large <= 4
