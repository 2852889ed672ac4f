"""
Request benchmark: one gunicorn server with two workers on PostgreSQL and
Redis (started with tests/processes/harness.py), driven by a load generator
on the same machine.

Three endpoints, warm: POST /api/v1/trust/experiences with the six metrics,
GET /api/v1/trust/experiences/checkout/ (the enriched read) and /healthz
(no I/O at all: the ceiling of this server on this machine). They run one
after another for a bounded time each, in rounds (healthz, resolve,
enriched, healthz, ...), so that each endpoint's throughput can be divided
by the /healthz throughput measured in the same round. The load generator
is `wrk` when it is installed (Debian package `wrk`), else a small asyncio
client; either way it shares the machine's cores with the server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis

from fulfillment.metrics.catalog import CATALOG
from tests.processes.harness import API_KEY, Server, request, server_environment

logger = logging.getLogger(__name__)

WORKERS = 2
RESOLVE_PATH = "/api/v1/trust/experiences"
ENRICHED_PATH = "/api/v1/trust/experiences/checkout/"
HEALTH_PATH = "/healthz"
RESOLVE_BODY = json.dumps({"slug": "checkout", "metrics": [{"metric_id": m} for m in CATALOG]})
WARM_STREAK = 12  # consecutive all-memory answers before the workers count as warm
WARM_ATTEMPTS = 300

Printer = Callable[[str], None]


@dataclass(frozen=True)
class Target:
    name: str
    method: str
    path: str
    body: str | None = None


HEALTH = Target("/healthz", "GET", HEALTH_PATH)
RESOLVE = Target("POST resolve (six metrics)", "POST", RESOLVE_PATH, RESOLVE_BODY)
ENRICHED = Target("GET enriched experience", "GET", ENRICHED_PATH)
TARGETS = (HEALTH, RESOLVE, ENRICHED)


@dataclass(frozen=True)
class Run:
    """One bounded run of the load generator against one endpoint."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass
class EndpointResult:
    name: str
    response_bytes: int
    runs: list[Run] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)  # to /healthz, round by round

    @property
    def rps(self) -> float:
        return statistics.median(run.rps for run in self.runs)

    @property
    def p50_ms(self) -> float:
        return statistics.median(run.p50_ms for run in self.runs)

    @property
    def p99_ms(self) -> float:
        return statistics.median(run.p99_ms for run in self.runs)

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def errors(self) -> int:
        return sum(run.errors for run in self.runs)


@dataclass
class LoadResult:
    tool: str
    duration_seconds: int
    rounds: int
    connections: int
    threads: int
    workers: int
    dataset: str
    endpoints: list[EndpointResult]
    computed_during_load: int = 0

    def endpoint(self, name: str) -> EndpointResult:
        return next(e for e in self.endpoints if e.name == name)


# Load generators ----------------------------------------------------------------


def ensure_wrk(*, install: bool, echo: Printer) -> str | None:
    """Return the path of `wrk`, installing Debian's package first when allowed."""
    found = shutil.which("wrk")
    if found or not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    echo("  wrk is missing; installing the Debian package (apt-get install wrk)")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        done = subprocess.run(command, env=environment, capture_output=True, check=False)
        if done.returncode:
            logger.warning("could not install wrk command=%s", command)
            return None
    return shutil.which("wrk")


WRK_SCRIPT = """
wrk.method = "{method}"
wrk.headers["X-API-Key"] = "{api_key}"
{body}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH {{\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p99_us\\": %d, "
    .. "\\"errors\\": %d}}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def _wrk_script(target: Target, directory: Path) -> Path:
    body = ""
    if target.body is not None:
        body = (
            'wrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = {json.dumps(target.body)}"
        )
    path = directory / f"{re.sub(r'[^a-z]+', '-', target.name.lower()).strip('-')}.lua"
    path.write_text(WRK_SCRIPT.format(method=target.method, api_key=API_KEY, body=body))
    return path


def run_wrk(
    wrk: str,
    *,
    server: Server,
    target: Target,
    seconds: int,
    connections: int,
    threads: int,
    scripts: Path,
) -> Run:
    command = [
        wrk,
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={_wrk_script(target, scripts)}",
        server.base_url + target.path,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    match = re.search(r"^BENCH (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode or not match:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    figures = json.loads(match.group(1))
    return Run(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        errors=figures["errors"],
    )


def _raw_request(target: Target, *, host: str, port: int) -> bytes:
    body = (target.body or "").encode()
    head = [
        f"{target.method} {target.path} HTTP/1.1",
        f"Host: {host}:{port}",
        f"X-API-Key: {API_KEY}",
        "Connection: close",
    ]
    if target.body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _client_loop(
    payload: bytes, *, host: str, port: int, deadline: float, latencies: list[float]
) -> int:
    errors = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(payload)
            await writer.drain()
            reply = await reader.read()
            writer.close()
        except OSError:
            errors += 1
            continue
        if not reply.startswith(b"HTTP/1.1 200"):
            errors += 1
        latencies.append(time.perf_counter() - started)
    return errors


def run_asyncio_client(*, server: Server, target: Target, seconds: int, connections: int) -> Run:
    """A fallback load generator: `connections` clients, one request per connection."""
    host, port = "127.0.0.1", server.port
    payload = _raw_request(target, host=host, port=port)
    latencies: list[float] = []

    async def drive() -> int:
        deadline = time.perf_counter() + seconds
        loops = [
            _client_loop(payload, host=host, port=port, deadline=deadline, latencies=latencies)
            for _ in range(connections)
        ]
        return sum(await asyncio.gather(*loops))

    started = time.perf_counter()
    errors = asyncio.run(drive())
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return Run(
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=cuts[49] * 1000,
        p99_ms=cuts[98] * 1000,
        errors=errors,
    )


# The benchmark -------------------------------------------------------------------------


def _all_from_memory(server: Server) -> bool:
    reply = request(server, "POST", RESOLVE_PATH, payload=json.loads(RESOLVE_BODY))
    if reply.status != 200:
        raise RuntimeError(f"resolve answered {reply.status}: {reply.text[:500]}")
    layers = {metric["provenance"]["cache_layer"] for metric in reply.json()["metrics"]}
    return layers == {"memory"}


def warm_up(server: Server) -> None:
    """Resolve until both workers answer every metric from memory, many times in a row."""
    streak = 0
    for _ in range(WARM_ATTEMPTS):
        streak = streak + 1 if _all_from_memory(server) else 0
        if streak >= WARM_STREAK:
            break
    else:
        raise RuntimeError("the workers never answered all six metrics from memory")
    for target in (ENRICHED, HEALTH):
        for _ in range(2 * WARM_STREAK):
            reply = request(server, target.method, target.path)
            if reply.status != 200:
                raise RuntimeError(f"{target.path} answered {reply.status}: {reply.text[:500]}")


def _response_bytes(server: Server, target: Target) -> int:
    payload = json.loads(target.body) if target.body else None
    return len(request(server, target.method, target.path, payload=payload).body)


def run_load_benchmark(
    *,
    database_url: str,
    redis_url: str,
    dataset: str,
    seconds: int,
    rounds: int,
    connections: int,
    threads: int,
    install_wrk: bool,
    echo: Printer,
) -> LoadResult:
    """Start the server, warm it, and run the endpoints in interleaved rounds."""
    redis.Redis.from_url(redis_url).flushdb()
    wrk = ensure_wrk(install=install_wrk, echo=echo)
    tool = "wrk" if wrk else "asyncio client (benchmarks/load.py)"
    if wrk:
        version = subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout
        tool = version.splitlines()[0].split(" Copyright")[0] if version else "wrk"

    with tempfile.TemporaryDirectory(prefix="trust-bench-") as directory:
        scripts = Path(directory)
        environment = server_environment(database_url=database_url, cache_url=redis_url)
        server = Server("bench", environment, scripts / "gunicorn.log", workers=WORKERS)
        echo(f"  starting gunicorn with {WORKERS} workers on {_redacted(database_url)}")
        server.start()
        try:
            warm_up(server)
            results = [
                EndpointResult(target.name, response_bytes=_response_bytes(server, target))
                for target in TARGETS
            ]

            def drive(target: Target, duration: int) -> Run:
                if wrk:
                    return run_wrk(
                        wrk,
                        server=server,
                        target=target,
                        seconds=duration,
                        connections=connections,
                        threads=threads,
                        scripts=scripts,
                    )
                return run_asyncio_client(
                    server=server, target=target, seconds=duration, connections=connections
                )

            for target in TARGETS:  # an untimed second each, to settle the workers
                drive(target, 1)
            computed_before = len(_computations(server.log()))
            for round_number in range(rounds):
                runs = [drive(target, seconds) for target in TARGETS]
                for result, run in zip(results, runs, strict=True):
                    result.runs.append(run)
                    result.ratios.append(run.rps / runs[0].rps)
                echo(
                    f"    round {round_number + 1}/{rounds}: "
                    + ", ".join(
                        f"{target.name} {run.rps:.0f} rps"
                        for target, run in zip(TARGETS, runs, strict=True)
                    )
                )
            computed_during_load = len(_computations(server.log())) - computed_before
        finally:
            server.stop()
    if computed_during_load:
        logger.warning("metrics were computed during the load count=%d", computed_during_load)
    return LoadResult(
        tool=tool,
        duration_seconds=seconds,
        rounds=rounds,
        connections=connections,
        threads=threads if wrk else 1,
        workers=WORKERS,
        dataset=dataset,
        endpoints=results,
        computed_during_load=computed_during_load,
    )


def _computations(log: str) -> Sequence[str]:
    return re.findall(r"metric computed metric_id=(\S+)", log)


def _redacted(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")).geturl()
