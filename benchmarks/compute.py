"""
Cold computation benchmark: our database computations against the
row-loading baseline, per metric and for all six, at each dataset size.

"Cold" means no metric cache: the catalog's computations are called
directly (`CATALOG[id].run(now=now)`), as the service does on a miss. For
each size the dataset is generated afresh (`--replace`, same seed, same
`now`), vacuumed and analysed. Each implementation then computes the six
metrics in a row ("a pass") once under tracemalloc, untimed: that gives each
metric's peak Python memory, warms PostgreSQL's buffer cache equally for
both, and checks that they agree on every figure. The timed passes follow
untraced (tracemalloc slows allocation-heavy code by a large factor), ours
and the baseline side by side, the order swapped every other repetition,
so that both meet the same machine noise. "All six" is the whole pass.
"""

from __future__ import annotations

import gc
import logging
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from benchmarks.agreement import check_agreement
from benchmarks.baseline import BASELINE
from fulfillment.datasets import (
    ANALYZED_MODELS,
    DEFAULT_SEED,
    DEFAULT_SKUS,
    DatasetReport,
    Progress,
    generate_dataset,
)
from fulfillment.metrics.catalog import CATALOG
from fulfillment.metrics.snapshots import Figure

logger = logging.getLogger(__name__)

ALL_SIX = "all six"
MIB = 1024 * 1024

Computation = Callable[..., Figure]
Printer = Callable[[str], None]


@dataclass
class Measurement:
    """Times and peak memory of one subject (a metric, or all six) at one size."""

    subject: str
    ours_seconds: list[float] = field(default_factory=list)
    baseline_seconds: list[float] = field(default_factory=list)
    ours_peak_bytes: int = 0
    baseline_peak_bytes: int = 0

    @property
    def ours_median(self) -> float:
        return statistics.median(self.ours_seconds)

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline_seconds)

    @property
    def ratio(self) -> float:
        """How many times faster ours is: baseline median over ours."""
        return self.baseline_median / self.ours_median

    @property
    def ratios(self) -> list[float]:
        """The ratio within each repetition, ours and baseline measured side by side."""
        return [
            baseline / ours
            for ours, baseline in zip(self.ours_seconds, self.baseline_seconds, strict=True)
        ]


@dataclass
class SizeResult:
    label: str
    tasks: int
    repetitions: int
    dataset: DatasetReport
    open_tasks: int
    generation_seconds: float
    measurements: list[Measurement]
    figures: dict[str, Figure]

    def measurement(self, subject: str) -> Measurement:
        return next(m for m in self.measurements if m.subject == subject)


OURS: dict[str, Computation] = {
    metric_id: definition.run for metric_id, definition in CATALOG.items()
}


@dataclass
class Pass:
    """One computation of the six metrics in a row, as `warm_trust_metrics` does."""

    figures: dict[str, Figure] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    # Traced passes only: each metric's peak above what was held when it began,
    # and the peak of the whole pass (the figures already computed included).
    peak_bytes: dict[str, int] = field(default_factory=dict)
    pass_peak_bytes: int = 0


def run_pass(computations: dict[str, Computation], *, now: datetime, traced: bool) -> Pass:
    """Compute the six metrics in catalog order, timing each (and tracing if asked)."""
    result = Pass()
    if traced:
        tracemalloc.start()
    try:
        for metric_id in CATALOG:
            gc.collect()
            held = 0
            if traced:
                held = tracemalloc.get_traced_memory()[0]
                tracemalloc.reset_peak()
            started = time.perf_counter()
            result.figures[metric_id] = computations[metric_id](now=now)
            result.seconds[metric_id] = time.perf_counter() - started
            if traced:
                peak = tracemalloc.get_traced_memory()[1]
                result.peak_bytes[metric_id] = peak - held
                result.pass_peak_bytes = max(result.pass_peak_bytes, peak)
    finally:
        if traced:
            tracemalloc.stop()
    return result


def prepare_dataset(
    *, tasks: int, now: datetime, seed: int, skus: int, echo: Printer
) -> tuple[DatasetReport, float]:
    """Generate `tasks` tasks (replacing any), then VACUUM ANALYZE the tables."""

    def progress(step: Progress) -> None:
        if step.done == step.total or step.percent % 10 == 0:
            echo(
                f"    tasks {step.done}/{step.total} ({step.percent}%) "
                f"{step.elapsed_seconds:.0f}s elapsed, ~{step.remaining_seconds:.0f}s left"
            )

    started = time.perf_counter()
    report = generate_dataset(
        tasks=tasks,
        skus=skus,
        seed=seed,
        replace=True,
        now=now,
        batch_size=max(1_000, min(tasks // 10, 100_000)),
        progress=progress,
        notice=lambda message: echo(f"    {message}"),
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in ANALYZED_MODELS:
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return report, time.perf_counter() - started


def benchmark_size(
    *,
    label: str,
    tasks: int,
    repetitions: int,
    now: datetime,
    echo: Printer,
    seed: int = DEFAULT_SEED,
    skus: int = DEFAULT_SKUS,
) -> SizeResult:
    """Generate one size, check agreement, then measure memory and interleaved times."""
    echo(f"  generating {label} ({tasks} tasks, {skus} SKUs, seed {seed})")
    report, generation_seconds = prepare_dataset(
        tasks=tasks, now=now, seed=seed, skus=skus, echo=echo
    )
    echo(f"    generated and vacuumed in {generation_seconds:.1f}s")

    # One traced pass of each: peak memory, the agreement check, and a warm
    # buffer cache for the timed passes, equally for both.
    ours_traced = run_pass(OURS, now=now, traced=True)
    baseline_traced = run_pass(BASELINE, now=now, traced=True)
    for metric_id in CATALOG:
        check_agreement(
            ours_traced.figures[metric_id],
            baseline_traced.figures[metric_id],
            metric_id=metric_id,
            dataset=f"the {label} dataset ({tasks} tasks, seed {seed}, now {now.isoformat()})",
        )
    echo("    traced pass done; ours and the baseline agree on all six metrics")

    measurements = {subject: Measurement(subject) for subject in [*CATALOG, ALL_SIX]}
    for metric_id in CATALOG:
        measurements[metric_id].ours_peak_bytes = ours_traced.peak_bytes[metric_id]
        measurements[metric_id].baseline_peak_bytes = baseline_traced.peak_bytes[metric_id]
    measurements[ALL_SIX].ours_peak_bytes = ours_traced.pass_peak_bytes
    measurements[ALL_SIX].baseline_peak_bytes = baseline_traced.pass_peak_bytes

    for repetition in range(repetitions):
        if repetition % 2 == 0:
            ours = run_pass(OURS, now=now, traced=False)
            baseline = run_pass(BASELINE, now=now, traced=False)
        else:
            baseline = run_pass(BASELINE, now=now, traced=False)
            ours = run_pass(OURS, now=now, traced=False)
        for metric_id in CATALOG:
            measurements[metric_id].ours_seconds.append(ours.seconds[metric_id])
            measurements[metric_id].baseline_seconds.append(baseline.seconds[metric_id])
        measurements[ALL_SIX].ours_seconds.append(sum(ours.seconds.values()))
        measurements[ALL_SIX].baseline_seconds.append(sum(baseline.seconds.values()))
        echo(
            f"    repetition {repetition + 1}/{repetitions}: all six ours "
            f"{sum(ours.seconds.values()):.3f}s, baseline {sum(baseline.seconds.values()):.3f}s"
        )

    result = SizeResult(
        label=label,
        tasks=tasks,
        repetitions=repetitions,
        dataset=report,
        open_tasks=report.status_counts.get("pending", 0)
        + report.status_counts.get("in_progress", 0),
        generation_seconds=generation_seconds,
        measurements=list(measurements.values()),
        figures=ours_traced.figures,
    )
    everything = result.measurement(ALL_SIX)
    logger.info(
        "compute benchmark size=%s ours_median_s=%.4f baseline_median_s=%.4f ratio=%.1f "
        "ours_peak_mib=%.2f baseline_peak_mib=%.1f",
        label,
        everything.ours_median,
        everything.baseline_median,
        everything.ratio,
        everything.ours_peak_bytes / MIB,
        everything.baseline_peak_bytes / MIB,
    )
    return result


def run_compute_benchmark(
    *,
    sizes: Sequence[tuple[str, int]],
    repetitions: int,
    large_repetitions: int,
    large_threshold: int,
    now: datetime,
    echo: Printer,
) -> list[SizeResult]:
    """Benchmark each size in turn, smallest first (the last one stays in the database)."""
    results = []
    for label, tasks in sorted(sizes, key=lambda size: size[1]):
        reps = large_repetitions if tasks >= large_threshold else repetitions
        results.append(
            benchmark_size(label=label, tasks=tasks, repetitions=reps, now=now, echo=echo)
        )
    return results
