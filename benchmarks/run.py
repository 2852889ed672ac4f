"""
Run every benchmark with one command and write docs/benchmarks.md:

    .venv/bin/python -m benchmarks.run            # or: make bench
    .venv/bin/python -m benchmarks.run --sizes 10k,100k --repetitions 2 --duration 5

It works in a scratch database of its own (`trust_bench_<pid>`) on the
PostgreSQL server named by `--database-url`, dropped at the end whatever
happens, and in one Redis database (`--redis-url`, flushed first).

1. query counts per request, cold and warm, in this process (demo shop);
2. request throughput and latency against a gunicorn server with two workers
   (demo shop), as ratios to /healthz;
3. cold computation of the six metrics at each dataset size, ours against
   the row-loading baseline, which must agree on every figure (exit status
   1 with the differences when they do not).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
DEFAULT_SIZES = "10k,100k,1m"
DEFAULT_OUTPUT = PROJECT_DIR / "docs" / "benchmarks.md"
LARGE_TASKS = 1_000_000
SUFFIXES = {"k": 1_000, "m": 1_000_000}

logger = logging.getLogger("benchmarks.run")


def echo(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def size(text: str) -> tuple[str, int]:
    """Parse `10k`, `1m` or `2500` into (label, tasks)."""
    label = text.strip().lower()
    factor = SUFFIXES.get(label[-1:], 1)
    digits = label[:-1] if factor != 1 else label
    if not digits.isdigit() or int(digits) < 1:
        raise argparse.ArgumentTypeError(f"expected a size such as 10k, 1m or 2500, got {text!r}")
    return label, int(digits) * factor


def sizes(text: str) -> list[tuple[str, int]]:
    return [size(part) for part in text.split(",") if part.strip()]


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Run every benchmark and write the report (docs/benchmarks.md).",
    )
    parser.add_argument(
        "--sizes",
        type=sizes,
        default=sizes(DEFAULT_SIZES),
        metavar="LIST",
        help=f"dataset sizes in tasks (default {DEFAULT_SIZES})",
    )
    parser.add_argument(
        "--repetitions",
        type=int,
        default=5,
        metavar="N",
        help="timed repetitions per size below 1m (default 5)",
    )
    parser.add_argument(
        "--large-repetitions",
        type=int,
        default=3,
        metavar="N",
        help="timed repetitions at 1m tasks and above (default 3)",
    )
    parser.add_argument(
        "--duration",
        type=int,
        default=10,
        metavar="SECONDS",
        help="seconds of load per endpoint per round (default 10)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        metavar="N",
        help="rounds of healthz, resolve, enriched (default 5)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=8,
        metavar="N",
        help="open connections of the load generator (default 8)",
    )
    parser.add_argument(
        "--threads", type=int, default=2, metavar="N", help="threads of wrk (default 2)"
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        metavar="URL",
        help="PostgreSQL server to make the scratch database on",
    )
    parser.add_argument(
        "--redis-url",
        default=DEFAULT_REDIS_URL,
        metavar="URL",
        help=f"Redis database for the server's cache, flushed first (default {DEFAULT_REDIS_URL})",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        metavar="PATH",
        help="where to write the report (default docs/benchmarks.md)",
    )
    parser.add_argument(
        "--skip",
        default="",
        metavar="LIST",
        help="parts to leave out: queries, requests, compute (comma-separated)",
    )
    parser.add_argument(
        "--no-install-wrk",
        action="store_true",
        help="never apt-get install wrk; fall back to the asyncio client",
    )
    return parser


@dataclass
class Options:
    sizes: list[tuple[str, int]]
    repetitions: int
    large_repetitions: int
    duration: int
    rounds: int
    connections: int
    threads: int
    database_url: str
    redis_url: str
    output: Path
    skip: set[str] = field(default_factory=set)
    install_wrk: bool = True
    argv: list[str] = field(default_factory=list)


def parse_options(argv: list[str]) -> Options:
    namespace = parser().parse_args(argv)
    skip = {part.strip() for part in namespace.skip.split(",") if part.strip()}
    unknown = skip - {"queries", "requests", "compute"}
    if unknown:
        parser().error(f"unknown parts to skip: {', '.join(sorted(unknown))}")
    for name in ("repetitions", "large_repetitions", "duration", "rounds", "connections"):
        if getattr(namespace, name) < 1:
            parser().error(f"--{name.replace('_', '-')} must be at least 1")
    return Options(
        sizes=namespace.sizes,
        repetitions=namespace.repetitions,
        large_repetitions=namespace.large_repetitions,
        duration=namespace.duration,
        rounds=namespace.rounds,
        connections=namespace.connections,
        threads=namespace.threads,
        database_url=namespace.database_url,
        redis_url=namespace.redis_url,
        output=namespace.output,
        skip=skip,
        install_wrk=not namespace.no_install_wrk,
        argv=argv,
    )


def _configure_django(*, database_url: str, redis_url: str) -> None:
    """Point this process's settings at the scratch database, before Django starts."""
    from tests.processes.harness import server_environment

    environment = server_environment(database_url=database_url, cache_url=redis_url)
    environment["ALLOWED_HOSTS"] += ",testserver"
    environment["LOG_LEVEL"] = "WARNING"
    os.environ.update(environment)
    os.environ["DJANGO_SETTINGS_MODULE"] = "trustsite.settings"

    import django

    django.setup()


def main(argv: list[str] | None = None) -> int:
    options = parse_options(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    sys.path.insert(0, str(PROJECT_DIR))
    os.chdir(PROJECT_DIR)

    from tests.processes.harness import ProcessDatabase

    server = urllib.parse.urlsplit(options.database_url)
    database = ProcessDatabase(
        name=f"trust_bench_{os.getpid()}",
        host=server.hostname or "127.0.0.1",
        port=server.port or 5432,
        user=urllib.parse.unquote(server.username or "postgres"),
        password=urllib.parse.unquote(server.password or ""),
    )
    echo(f"benchmarks: scratch database {database.name} on {database.host}:{database.port}")
    # A terminated run still drops its scratch database (the `finally` below).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    database.create()
    try:
        _configure_django(database_url=database.url(), redis_url=options.redis_url)
        return _run(options, database_url=database.url())
    finally:
        _close_connections()
        database.drop()
        echo(f"benchmarks: dropped {database.name}")


def _close_connections() -> None:
    try:
        from django.db import connections
    except ImportError:  # Django never started
        return
    connections.close_all()


def _run(options: Options, *, database_url: str) -> int:
    from django.core.management import call_command
    from django.utils import timezone

    from benchmarks import report
    from benchmarks.agreement import DisagreementError
    from trust.demo import seed_demo

    started = time.monotonic()
    machine = report.describe_machine()
    now = timezone.now().replace(microsecond=0).astimezone(UTC)
    results = report.Results(
        started_at=datetime.now(tz=UTC),
        now=now,
        command=_command(options),
        machine=machine,
        options=options,
    )

    echo("== migrate and seed the demo shop")
    call_command("migrate", "--noinput", verbosity=0)
    seed_demo(now=now)

    if "queries" not in options.skip:
        from benchmarks.queries import count_queries

        echo("== query counts per request (in process, demo shop)")
        results.query_counts = count_queries()
        for count in results.query_counts:
            echo(
                f"  {count.endpoint}: cold {count.cold}, warm {count.warm}, "
                f"warm past the check interval {count.warm_past_interval}"
            )

    if "requests" not in options.skip:
        from benchmarks.load import run_load_benchmark

        echo("== requests: gunicorn, 2 workers, PostgreSQL and Redis (demo shop)")
        results.load = run_load_benchmark(
            database_url=database_url,
            redis_url=options.redis_url,
            dataset="demo shop (`seed_demo`)",
            seconds=options.duration,
            rounds=options.rounds,
            connections=options.connections,
            threads=options.threads,
            install_wrk=options.install_wrk,
            echo=echo,
        )

    if "compute" not in options.skip:
        from benchmarks.compute import run_compute_benchmark

        echo("== cold computation: ours against the row-loading baseline")
        try:
            results.compute = run_compute_benchmark(
                sizes=options.sizes,
                repetitions=options.repetitions,
                large_repetitions=options.large_repetitions,
                large_threshold=LARGE_TASKS,
                now=now,
                echo=echo,
            )
        except DisagreementError as error:
            echo(f"FAILED: {error}")
            return 1

    results.machine_after = report.describe_machine()
    results.elapsed_seconds = time.monotonic() - started
    report.write(results, path=options.output)
    echo(f"== wrote {options.output} ({results.elapsed_seconds / 60:.1f} minutes in all)")
    return 0


def _command(options: Options) -> str:
    words = [".venv/bin/python", "-m", "benchmarks.run", *options.argv]
    return " ".join(words)


if __name__ == "__main__":
    sys.exit(main())
