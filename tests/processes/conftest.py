from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable, Iterator

import pytest
import redis
from django.conf import settings

from tests.processes.harness import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    ProcessDatabase,
    Server,
    manage,
    server_environment,
    services_missing_reason,
)

# Redis database the worker processes share; the suite itself uses CACHE_URL's.
PROCESS_REDIS_DB = 7


@pytest.fixture(scope="module")
def shared_cache_url() -> str:
    reason = services_missing_reason()
    if reason:
        pytest.skip(reason)
    location = urllib.parse.urlsplit(settings.CACHES["default"]["LOCATION"])
    url = location._replace(path=f"/{PROCESS_REDIS_DB}").geturl()
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture(scope="module")
def process_database(shared_cache_url: str, request) -> Iterator[ProcessDatabase]:
    """A migrated database with the demo shop and an admin login, dropped afterwards."""
    module = request.module.__name__.rsplit(".", 1)[-1]
    database = ProcessDatabase.from_settings(f"trust_{module}_{os.getpid()}")
    database.create()
    environment = server_environment(database_url=database.url(), cache_url=shared_cache_url)
    manage("migrate", "--noinput", env=environment)
    manage("seed_demo", env=environment)
    manage(
        "createsuperuser",
        "--noinput",
        "--username",
        ADMIN_USERNAME,
        "--email",
        "operator@example.com",
        env={**environment, "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD},
    )
    yield database
    database.drop()


@pytest.fixture
def start_server(
    process_database: ProcessDatabase, shared_cache_url: str, tmp_path
) -> Iterator[Callable[..., Server]]:
    """Start gunicorn servers on the process database; stop them all afterwards."""
    started: list[Server] = []

    def start(name: str, *, workers: int = 1, database_url: str | None = None) -> Server:
        environment = server_environment(
            database_url=database_url or process_database.url(), cache_url=shared_cache_url
        )
        server = Server(name, environment, tmp_path / f"{name}.log", workers=workers)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
