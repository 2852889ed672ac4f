"""The report's verdicts against the issue's targets, on made-up measurements."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from benchmarks.compute import ALL_SIX, MIB, Measurement, SizeResult
from benchmarks.report import DASH, FORECAST, TIMES, Results, render, verdicts
from benchmarks.run import parse_options
from fulfillment.datasets import DatasetReport
from fulfillment.metrics.catalog import CATALOG
from fulfillment.metrics.snapshots import Figure

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
MACHINE = dict.fromkeys(
    ("cpu", "memory", "load", "os", "python", "django", "postgresql", "redis"), "x"
)


def _size(tasks: int, *, ours_mib: float, forecast_mib: float, windows: int) -> SizeResult:
    measurements = []
    for subject in [*CATALOG, ALL_SIX]:
        peak = {FORECAST: forecast_mib, ALL_SIX: ours_mib}.get(subject, 0.05)
        measurements.append(
            Measurement(
                subject,
                ours_seconds=[1.0, 1.2],
                baseline_seconds=[12.0, 12.0],
                ours_peak_bytes=int(peak * MIB),
                baseline_peak_bytes=tasks * 300,
            )
        )
    forecast = {"skus": [{"windows": [{}] * windows}]}
    figures = {
        metric_id: Figure(value=1.0, formatted_value="1", sample_size=1, forecast=forecast)
        for metric_id in CATALOG
    }
    return SizeResult(
        label=f"{tasks // 1000}k",
        tasks=tasks,
        repetitions=2,
        dataset=DatasetReport(tasks=tasks),
        open_tasks=1,
        generation_seconds=1.0,
        measurements=measurements,
        figures=figures,
    )


def _results(*sizes: SizeResult) -> Results:
    return Results(
        started_at=NOW,
        now=NOW,
        command="python -m benchmarks.run",
        machine=MACHINE,
        options=parse_options(["--output", str(Path("/dev/null"))]),
        compute=list(sizes),
    )


def test_flat_memory_and_a_tenfold_speedup_are_met():
    results = _results(
        _size(10_000, ours_mib=0.30, forecast_mib=0.25, windows=300),
        _size(1_000_000, ours_mib=0.31, forecast_mib=0.26, windows=300),
    )

    speed, memory, *_ = verdicts(results)

    assert speed.met is True
    assert speed.measured.startswith("10.9")
    assert memory.met is True


def test_memory_growing_only_with_the_roster_is_partly_met():
    results = _results(
        _size(10_000, ours_mib=0.30, forecast_mib=0.25, windows=300),
        _size(1_000_000, ours_mib=2.0, forecast_mib=1.9, windows=3_000),
    )

    memory = verdicts(results)[1]

    assert memory.met == "partly"
    assert "grows with the roster, not the tasks" in memory.measured


def test_memory_growing_faster_than_the_roster_is_not_met():
    results = _results(
        _size(10_000, ours_mib=0.30, forecast_mib=0.25, windows=300),
        _size(1_000_000, ours_mib=20.0, forecast_mib=19.0, windows=600),
    )

    assert verdicts(results)[1].met is False


def test_targets_without_their_measurements_are_not_measured_and_the_report_renders():
    results = _results(_size(10_000, ours_mib=0.30, forecast_mib=0.25, windows=300))

    text = render(results)

    assert [verdict.met for verdict in verdicts(results)] == [None] * 5
    assert f"| **all six** | 1.10 s | 12.00 s | 10.9{TIMES} (10.0{DASH}12.0) |" in text
    assert "## Requests: warm throughput" not in text
