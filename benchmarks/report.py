"""
Write docs/benchmarks.md from one run's results, so that the document
always says what the last run measured, on which machine, and when.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import django
import redis
from django.conf import settings
from django.db import connection

from benchmarks.compute import ALL_SIX, MIB, SizeResult
from benchmarks.load import ENRICHED, HEALTH, RESOLVE, LoadResult
from benchmarks.queries import QueryCount
from fulfillment.metrics.catalog import CATALOG

if TYPE_CHECKING:
    from benchmarks.run import Options

TIMES = "\N{MULTIPLICATION SIGN}"
DASH = "\N{EN DASH}"
SPEED_TARGET = 10.0  # all six, cold, at 1m tasks: at least this many times faster
RESOLVE_TARGET = 0.5  # warm resolve of six metrics: share of /healthz throughput
ENRICHED_TARGET = 0.4  # warm enriched read: share of /healthz throughput
# "Does not grow": ours may use this much more memory at the largest size than
# at the smallest, to allow for allocator and driver noise.
MEMORY_GROWTH_ALLOWANCE = 1.10
LARGEST_SIZE = 1_000_000
SMALLEST_SIZE = 10_000


@dataclass
class Results:
    started_at: datetime
    now: datetime
    command: str
    machine: dict[str, str]
    options: Options
    machine_after: dict[str, str] = field(default_factory=dict)
    query_counts: list[QueryCount] = field(default_factory=list)
    load: LoadResult | None = None
    compute: list[SizeResult] = field(default_factory=list)
    elapsed_seconds: float = 0.0


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def describe_machine() -> dict[str, str]:
    """Cores, memory, load and software versions of this machine and its services."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    total_kib = next(
        (
            int(line.split()[1])
            for line in _read("/proc/meminfo").splitlines()
            if line.startswith("MemTotal:")
        ),
        0,
    )
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (postgres,) = cursor.fetchone()
    try:
        client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
        redis_version = str(client.info("server")["redis_version"])
    except (redis.RedisError, KeyError, TypeError):
        redis_version = "unknown"
    load = os.getloadavg()
    return {
        "cpu": f"{os.cpu_count()} cores ({model})",
        "memory": f"{total_kib / 1024 / 1024:.1f} GiB",
        "load": f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1, 5, 15 min)",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": postgres,
        "redis": redis_version,
    }


# Formatting ------------------------------------------------------------------------------


def _seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def _mib(value: int) -> str:
    return f"{value / MIB:.2f} MiB" if value < 10 * MIB else f"{value / MIB:.0f} MiB"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _tasks(tasks: int) -> str:
    return f"{tasks:,}"


def _table(header: list[str], rows: list[list[str]], *, align: str = "") -> list[str]:
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def _met(flag: bool | str | None) -> str:
    if isinstance(flag, str):
        return f"**{flag} met**"
    return {True: "**met**", False: "**not met**", None: "not measured"}[flag]


# Targets --------------------------------------------------------------------------------


@dataclass
class Verdict:
    target: str
    measured: str
    met: bool | str | None


def verdicts(results: Results) -> list[Verdict]:
    found: list[Verdict] = []
    by_tasks = {size.tasks: size for size in results.compute}
    largest = by_tasks.get(LARGEST_SIZE)
    smallest = by_tasks.get(SMALLEST_SIZE)

    speed = f"at least 10{TIMES} faster than the baseline, all six metrics, cold, at 1M tasks"
    if largest:
        everything = largest.measurement(ALL_SIX)
        found.append(
            Verdict(
                speed,
                f"{everything.ratio:.1f}{TIMES} ({_seconds(everything.ours_median)} against "
                f"{_seconds(everything.baseline_median)})",
                everything.ratio >= SPEED_TARGET,
            )
        )
    else:
        found.append(Verdict(speed, "the 1m size was not run", None))

    memory = "peak Python memory of ours does not grow from 10k to 1M tasks (the baseline's does)"
    if largest and smallest:
        found.append(_memory_verdict(memory, smallest=smallest, largest=largest))
    else:
        found.append(Verdict(memory, "the 10k and 1m sizes were not both run", None))

    for target, share, text in (
        (RESOLVE, RESOLVE_TARGET, "warm resolve of six metrics: at least 50% of /healthz rps"),
        (ENRICHED, ENRICHED_TARGET, "warm enriched read: at least 40% of /healthz rps"),
    ):
        if results.load:
            endpoint = results.load.endpoint(target.name)
            found.append(
                Verdict(
                    text,
                    f"{endpoint.ratio:.0%} ({endpoint.rps:.0f} against "
                    f"{results.load.endpoint(HEALTH.name).rps:.0f} rps)",
                    endpoint.ratio >= share,
                )
            )
        else:
            found.append(Verdict(text, "the request benchmark was skipped", None))

    text = "warm requests: no database query beyond the purge-generation check"
    if results.query_counts:
        warm = [count for count in results.query_counts if "purge" not in count.endpoint]
        worst = max(max(count.warm, count.warm_past_interval) for count in warm)
        found.append(
            Verdict(
                text,
                f"at most {worst} warm query per request, and only the purge-generation check"
                if worst
                else "no warm query at all",
                all(count.warm_queries_are_only_the_purge_check for count in warm),
            )
        )
    else:
        found.append(Verdict(text, "the query counts were skipped", None))
    return found


FORECAST = "fulfillment_delivery_sla_forecast"


def staffing_windows(size: SizeResult) -> int:
    """Shifts in the forecast's 36-hour horizon, over all SKUs (its windows)."""
    forecast = size.figures[FORECAST].forecast or {}
    return sum(len(entry["windows"]) for entry in forecast.get("skus", []))


def aggregate_peak(size: SizeResult) -> int:
    """Ours' largest peak among the five metrics that are pure aggregates."""
    return max(m.ours_peak_bytes for m in size.measurements if m.subject not in (FORECAST, ALL_SIX))


def _memory_verdict(target: str, *, smallest: SizeResult, largest: SizeResult) -> Verdict:
    """
    Met when ours' whole-pass peak stays flat; partly met when only the
    forecast grows, and no faster than its staffing windows (the roster the
    generator sizes to the shop's volume), the five aggregates staying flat.
    """
    ours = [size.measurement(ALL_SIX).ours_peak_bytes for size in (smallest, largest)]
    base = [size.measurement(ALL_SIX).baseline_peak_bytes for size in (smallest, largest)]
    aggregates = [aggregate_peak(size) for size in (smallest, largest)]
    forecast = [size.measurement(FORECAST).ours_peak_bytes for size in (smallest, largest)]
    windows = [staffing_windows(size) for size in (smallest, largest)]
    measured = (
        f"ours {_mib(ours[0])} → {_mib(ours[1])} ({TIMES}{ours[1] / ours[0]:.1f}): the five "
        f"aggregates {_mib(aggregates[0])} → {_mib(aggregates[1])}, the forecast "
        f"{_mib(forecast[0])} → {_mib(forecast[1])} with its staffing windows "
        f"{windows[0]:,} → {windows[1]:,}; baseline {_mib(base[0])} → {_mib(base[1])} "
        f"({TIMES}{base[1] / base[0]:.0f})"
    )
    baseline_grows = base[1] > base[0] * 10
    if ours[1] <= ours[0] * MEMORY_GROWTH_ALLOWANCE and baseline_grows:
        return Verdict(target, measured, True)
    aggregates_flat = aggregates[1] <= aggregates[0] * MEMORY_GROWTH_ALLOWANCE
    follows_roster = forecast[1] / forecast[0] <= max(windows[1] / max(windows[0], 1), 1.0)
    if aggregates_flat and follows_roster and baseline_grows:
        return Verdict(target, measured + "; grows with the roster, not the tasks", "partly")
    return Verdict(target, measured, False)


# Sections -------------------------------------------------------------------------------


def _header(results: Results) -> list[str]:
    machine = results.machine
    after = results.machine_after or machine
    return [
        "# Benchmarks",
        "",
        f"Written by `python -m benchmarks.run` on {results.started_at:%Y-%m-%d} (run started "
        f"{results.started_at:%H:%M} UTC, {results.elapsed_seconds / 60:.0f} minutes in all). "
        "Do not edit by hand: run the benchmarks again.",
        "",
        "## How to reproduce",
        "",
        "```sh",
        "make bench    # the defaults, as below",
        results.command,
        "```",
        "",
        "It needs PostgreSQL and Redis on 127.0.0.1 (as the test suite on PostgreSQL does), "
        "creates a scratch database `trust_bench_<pid>` and drops it at the end, and uses "
        "Redis database 9 (flushed first). It exits non-zero, writing nothing, if the "
        "baseline and our computations disagree on any figure. `--help` lists the options "
        "(sizes, repetitions, load duration and rounds).",
        "",
        "## Machine",
        "",
        *_table(
            ["", "this run"],
            [
                ["CPU", machine["cpu"]],
                ["memory", machine["memory"]],
                ["load average at start", machine["load"]],
                ["load average at end", after["load"]],
                ["OS", machine["os"]],
                ["Python", machine["python"]],
                ["Django", machine["django"]],
                ["PostgreSQL", machine["postgresql"]],
                ["Redis", machine["redis"]],
                ["load generator", results.load.tool if results.load else "not run"],
            ],
            align="ll",
        ),
        "",
        "The machine is shared and noisy. No figure here is an absolute promise: what "
        "carries over to another machine are the ratios (ours and the baseline, or an "
        "endpoint and /healthz, measured side by side in the same minutes) and the counts "
        "(queries, rows), which do not vary.",
        "",
    ]


def _targets(results: Results) -> list[str]:
    rows = [[v.target, v.measured, _met(v.met)] for v in verdicts(results)]
    return [
        "## Where we stand",
        "",
        *_table(["target (issue 7)", "measured", ""], rows, align="lll"),
        "",
    ]


def _compute(results: Results) -> list[str]:
    if not results.compute:
        return ["## Cold computation", "", "Skipped in this run.", ""]
    lines = [
        "## Cold computation: ours against the row-loading baseline",
        "",
        "**Ours** is `fulfillment/metrics/computations.py` called directly through the "
        "catalog (`CATALOG[id].run(now=now)`): no cache tier, as on a miss. The "
        "**baseline** (`benchmarks/baseline.py`) computes the same six figures the way the "
        "earlier system did: the plain row filters (status, time window) go to the "
        "database, every matching row is loaded into a Python list with `values_list`, and "
        "the aggregation (counts, means, the SKU rule, the JSON number check, percentiles, "
        "the roster walk) happens in Python. It is written from SPEC §5 and "
        "docs/metrics.md, sharing only the formatting helpers and the fallback texts.",
        "",
        "For each size, in one run: the dataset is generated afresh "
        "(`generate_fulfillment_dataset` logic, seed "
        f"{results.compute[0].dataset.seed}, 50 SKUs, `--replace`), relative to one fixed "
        f"`now` ({results.now.isoformat()}) that both implementations also compute with, "
        "and the tables are `VACUUM ANALYZE`d. A *pass* computes the six metrics in a row "
        "in catalog order, as `warm_trust_metrics` does, timing each; **all six** is the "
        "whole pass. Each implementation first makes one untimed pass under "
        "`tracemalloc`: it gives each metric's peak Python memory (above what the pass "
        "already held when the metric began) and the pass's peak, warms PostgreSQL's "
        "buffer cache equally for both, and checks that both agree on every value, "
        "formatted value, sample size, metadata entry and forecast window (floats within "
        "1e-6 relative; the run stops with the differences if not). The timed passes "
        "follow untraced, since tracemalloc slows allocation-heavy code by a large factor "
        "and would flatter ours: ours and the baseline side by side, the order swapped "
        f"every other repetition ({results.options.repetitions} repetitions per size, "
        f"{results.options.large_repetitions} from 1m tasks on, where one baseline pass "
        "takes about a minute; this keeps the whole run near 20 minutes). Times are "
        f"medians; **{TIMES}** is the baseline's median "
        "over ours, and the range after it is the lowest and highest ratio within one "
        "repetition. Peak memory counts Python allocations (what `tracemalloc` sees); the "
        "result set that psycopg holds in C memory while Django turns it into rows comes "
        "on top, for the baseline far more than for ours.",
        "",
    ]
    dataset_rows = [
        [
            size.label,
            _tasks(size.dataset.tasks),
            _tasks(size.dataset.orders),
            _tasks(size.dataset.order_items),
            _tasks(size.open_tasks),
            _tasks(size.dataset.shifts),
            str(size.repetitions),
            f"{size.generation_seconds:.0f} s",
        ]
        for size in results.compute
    ]
    lines += [
        "### Datasets",
        "",
        *_table(
            [
                "size",
                "tasks",
                "orders",
                "order items",
                "open tasks",
                "staffing shifts",
                "timed repetitions",
                "generation + VACUUM ANALYZE",
            ],
            dataset_rows,
        ),
        "",
    ]
    for size in results.compute:
        rows = []
        for measurement in size.measurements:
            ratios = measurement.ratios
            rows.append(
                [
                    f"**{measurement.subject}**"
                    if measurement.subject == ALL_SIX
                    else f"`{measurement.subject}`",
                    _seconds(measurement.ours_median),
                    _seconds(measurement.baseline_median),
                    f"{measurement.ratio:.1f}{TIMES} ({min(ratios):.1f}{DASH}{max(ratios):.1f})",
                    _mib(measurement.ours_peak_bytes),
                    _mib(measurement.baseline_peak_bytes),
                ]
            )
        lines += [
            f"### {size.label}: {_tasks(size.tasks)} tasks",
            "",
            *_table(
                [
                    "metric",
                    "ours",
                    "baseline",
                    TIMES,
                    "ours peak memory",
                    "baseline peak memory",
                ],
                rows,
            ),
            "",
        ]
    lines += ["### The figures both computed", "", *_figures(results.compute), ""]
    return lines


def _figures(sizes: list[SizeResult]) -> list[str]:
    rows = []
    for metric_id in CATALOG:
        cells = []
        for size in sizes:
            figure = size.figures[metric_id]
            cells.append(f"{figure.formatted_value or '—'} (n={figure.sample_size:,})")
        rows.append([f"`{metric_id}`", *cells])
    return _table(["metric", *(size.label for size in sizes)], rows)


def _requests(results: Results) -> list[str]:
    load = results.load
    if load is None:
        return ["## Requests", "", "Skipped in this run.", ""]
    rows = []
    for endpoint in load.endpoints:
        rows.append(
            [
                endpoint.name,
                f"{endpoint.response_bytes:,} B",
                f"{endpoint.rps:.0f}",
                f"{endpoint.p50_ms:.1f} ms",
                f"{endpoint.p99_ms:.1f} ms",
                f"{endpoint.ratio:.0%} "
                f"({min(endpoint.ratios):.0%}{DASH}{max(endpoint.ratios):.0%})",
                str(endpoint.errors),
            ]
        )
    return [
        "## Requests: warm throughput against /healthz",
        "",
        f"One gunicorn server (`trustsite/gunicorn.conf.py`: sync workers, access log on) "
        f"with {load.workers} workers, started by `tests/processes/harness.py` on the scratch "
        f"PostgreSQL database holding the {load.dataset}, its `default` cache on Redis. "
        "Before measuring, the six metrics are resolved until both workers answer all of "
        "them from their memory tier many times in a row, and each endpoint gets an "
        f"untimed second of load. Then {_count(load.rounds, 'round')} of "
        f"{load.duration_seconds} s per endpoint (healthz, resolve, enriched, in that "
        f"order) with {load.tool}: {_count(load.threads, 'thread')}, "
        f"{_count(load.connections, 'connection')}. The load generator runs "
        "on the same two cores as the server, so every endpoint's absolute figures are "
        "lower than on a dedicated machine; /healthz (no I/O, no database) is the ceiling "
        "of this server on this machine in the same minutes, and **share** is each "
        "round's rps divided by that round's /healthz rps (median, and the range over "
        "rounds). rps, p50 and p99 are medians over rounds. "
        + (
            "No metric was computed during the measured rounds."
            if not load.computed_during_load
            else f"{_count(load.computed_during_load, 'metric computation')} happened "
            "during the measured rounds (see the server log): those requests were not warm."
        )
        + (
            ""
            if load.tool.startswith("wrk")
            else " The Python client tops out before the server does on /healthz, so its "
            "shares are higher than wrk's would be."
        ),
        "",
        "The demo shop rather than a generated dataset: a warm request never reads the "
        "fulfillment tables, so their size changes nothing; what it pays for is the "
        "response, and the demo's `checkout` experience binds every catalog metric.",
        "",
        "- resolve: `POST /api/v1/trust/experiences` with the six catalog metrics;",
        "- enriched: `GET /api/v1/trust/experiences/checkout/`, every bound card with its "
        "resolved metric.",
        "",
        *_table(["endpoint", "response", "rps", "p50", "p99", "share of /healthz", "errors"], rows),
        "",
    ]


def _queries(results: Results) -> list[str]:
    if not results.query_counts:
        return ["## Query counts", "", "Skipped in this run.", ""]
    rows = [
        [count.endpoint, str(count.cold), str(count.warm), str(count.warm_past_interval)]
        for count in results.query_counts
    ]
    sample = next(
        (sql for count in results.query_counts for sql in count.warm_past_interval_sql), None
    )
    lines = [
        "## Query counts per request",
        "",
        "Counted in process with Django's test client and `CaptureQueriesContext`, on the "
        "demo shop (`benchmarks/queries.py`). **Cold**: both metric tiers and cachalot's "
        "cache empty, a new purge tracker. **Warm**: the same request again, within the "
        "purge tracker's one-second check interval. **Past the interval**: the same again "
        "1.5 s later (the tracker's clock is moved, not waited for). For the purge, warm "
        "means with all six metrics cached. These counts are exact and machine-independent.",
        "",
        *_table(["request", "cold", "warm", "warm, past the interval"], rows),
        "",
    ]
    if sample:
        lines += [
            "The one warm query, at most once a second per worker process, is the "
            "purge-generation check (SPEC §6: a purge made anywhere reaches every worker "
            "within 2 seconds):",
            "",
            "```sql",
            sample,
            "```",
            "",
        ]
    return lines


def _meaning(results: Results) -> list[str]:
    lines = ["## What the figures mean", ""]
    by_tasks = {size.tasks: size for size in results.compute}
    if results.compute:
        first, last = results.compute[0], results.compute[-1]
        pass_first, pass_last = first.measurement(ALL_SIX), last.measurement(ALL_SIX)
        forecast_share = last.measurement(FORECAST).ours_median / pass_last.ours_median
        lines += [
            f"- **Computation.** From {first.label} to {last.label} tasks "
            f"({TIMES}{last.tasks / first.tasks:.0f}), all six metrics take "
            f"{_seconds(pass_first.ours_median)} → {_seconds(pass_last.ours_median)} with "
            f"ours and {_seconds(pass_first.baseline_median)} → "
            f"{_seconds(pass_last.baseline_median)} with the baseline "
            f"({pass_first.ratio:.1f}{TIMES} → {pass_last.ratio:.1f}{TIMES}). Both make "
            "PostgreSQL read the same rows; the baseline then ships every matching row to "
            "Python and builds objects from it. Ours is bound by PostgreSQL's own work: at "
            f"{last.label} the delivery forecast is {forecast_share:.0%} of ours' time "
            "(per-SKU percentiles over a computed SKU key, a join to items and products, "
            "and a second scan for the overall bands), so that is where the next speed-up "
            "is, not in Python.",
            f"- **Memory.** Ours peaks at {_mib(pass_first.ours_peak_bytes)} → "
            f"{_mib(pass_last.ours_peak_bytes)} for the whole pass. What reaches Python is "
            "one row of aggregates per query, one row per SKU, and the shifts of the next "
            "36 hours: the five aggregate metrics stay at "
            f"{_mib(aggregate_peak(first))} → {_mib(aggregate_peak(last))}, and the forecast "
            f"grows with its staffing windows ({staffing_windows(first):,} → "
            f"{staffing_windows(last):,}; the generator sizes the roster to the shop's "
            "volume), which are the forecast's own output. The baseline peaks at "
            f"{_mib(pass_first.baseline_peak_bytes)} → {_mib(pass_last.baseline_peak_bytes)}, "
            "in proportion to the rows it loads.",
        ]
    if LARGEST_SIZE in by_tasks:
        lines.append(
            "- **In service**, a cold computation happens once per metric per freshness "
            "window for the whole deployment (single flight, the persistent tier), so these "
            "times are what the one unlucky request, or `warm_trust_metrics`, pays; every "
            "other request is a memory hit."
        )
    if results.load:
        health = results.load.endpoint(HEALTH.name)
        resolve = results.load.endpoint(RESOLVE.name)
        enriched = results.load.endpoint(ENRICHED.name)
        lines.append(
            f"- **Requests.** /healthz, which does nothing, answers {health.rps:.0f} rps on "
            f"this machine; a warm resolve of six metrics {resolve.rps:.0f} "
            f"({resolve.ratio:.0%}) and the enriched read {enriched.rps:.0f} "
            f"({enriched.ratio:.0%}). Neither touches the database when warm (see the "
            "query counts); the difference is CPU time in the worker. A cProfile of the "
            "same requests in one process puts it in Django REST framework's request "
            "handling and the strict validation of the resolve request (its serializers), "
            "unpickling the six snapshots from the local-memory tier, building the "
            "per-request fields (state, elapsed minutes) and encoding the JSON "
            f"({resolve.response_bytes:,} and {enriched.response_bytes:,} bytes); the "
            "enriched read adds one look-up of cachalot's invalidation stamps in Redis "
            "(the experience itself is kept in the worker until they move). Responses "
            "are built straight from the selectors' dictionaries (`trust/api/wire.py`), "
            "not through the output serializers, which cost more than everything else "
            "together. None of it grows with the fulfillment tables."
        )
    if results.query_counts:
        lines.append(
            "- **Queries.** A warm request costs the database nothing, except the one "
            "purge-generation read a worker makes at most once a second; a cold one costs "
            "the computations' aggregate queries, the cache writes and, for the enriched "
            "read, the experience's queries."
        )
    lines.append("")
    return lines


def render(results: Results) -> str:
    lines: list[Any] = [
        *_header(results),
        *_targets(results),
        *_compute(results),
        *_requests(results),
        *_queries(results),
        *_meaning(results),
    ]
    return "\n".join(lines).rstrip() + "\n"


def write(results: Results, *, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(results))
