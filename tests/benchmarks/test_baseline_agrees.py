"""
The row-loading baseline of the benchmarks and our database computations
must give the same figures: a cross-check of both, written independently
from SPEC §5.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from benchmarks.agreement import DisagreementError, check_agreement, figure_differences
from benchmarks.baseline import BASELINE, percentile, sku_of
from fulfillment.datasets import generate_dataset
from fulfillment.metrics.catalog import CATALOG
from fulfillment.metrics.snapshots import Figure
from trust.demo import seed_demo

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def _differences(*, now: datetime) -> dict[str, list[str]]:
    differences = {}
    for metric_id, definition in CATALOG.items():
        ours = definition.run(now=now)
        theirs = BASELINE[metric_id](now=now)
        differences[metric_id] = figure_differences(ours, theirs, metric_id=metric_id)
    return differences


def test_the_baseline_covers_the_whole_catalog():
    assert list(BASELINE) == list(CATALOG)


def test_both_agree_on_an_empty_shop():
    differences = _differences(now=NOW)

    assert differences == {metric_id: [] for metric_id in CATALOG}


def test_both_agree_on_the_demo_shop():
    # given the demo shop of `manage.py seed_demo`
    seed_demo(now=NOW)

    # when every metric is computed both ways
    differences = _differences(now=NOW)

    # then every value, count, metadata entry and forecast window agrees
    assert differences == {metric_id: [] for metric_id in CATALOG}


def test_both_agree_on_a_generated_dataset():
    generate_dataset(tasks=2_000, skus=20, seed=7, now=NOW)

    differences = _differences(now=NOW)

    assert differences == {metric_id: [] for metric_id in CATALOG}


def test_a_generated_dataset_gives_every_metric_a_figure():
    """Agreement on null figures alone would prove little."""
    generate_dataset(tasks=2_000, skus=20, seed=7, now=NOW)

    figures = {metric_id: BASELINE[metric_id](now=NOW) for metric_id in CATALOG}

    assert all(figure.value is not None for figure in figures.values()), figures
    forecast = figures["fulfillment_delivery_sla_forecast"].forecast
    reasons = {entry["unsupported_reason"] for entry in forecast["skus"]}
    assert {None, "no_staffing_capacity"} <= reasons


def test_a_disagreement_is_reported_with_the_dataset_and_the_path():
    ours = Figure(value=0.5, formatted_value="50%", sample_size=4, metadata={"a": [1.0, 2]})
    theirs = Figure(
        value=0.5000000001, formatted_value="50%", sample_size=4, metadata={"a": [1.0, 3]}
    )

    with pytest.raises(DisagreementError) as raised:
        check_agreement(ours, theirs, metric_id="m", dataset="10k tasks")

    assert str(raised.value) == (
        "m disagrees with the baseline on 10k tasks:\n  m.metadata.a[1]: ours 2, baseline 3"
    )


def test_the_baseline_percentile_interpolates_between_closest_ranks():
    assert percentile([96, 12, 48, 24], 0.5) == 36
    assert percentile([12, 24, 48, 96], 0.9) == pytest.approx(81.6)
    assert percentile([], 0.5) is None


def test_the_baseline_sku_rule():
    assert sku_of(slug=" Logo-Refresh ", title="ignored") == "logo-refresh"
    assert sku_of(slug=None, title=" Rush Consultation ") == "rush-consultation"
    assert sku_of(slug="", title="") == "unknown-sku"
