"""
Probes for load balancers and orchestrators.

`/healthz` says the process is up and does no I/O; `/readyz` says whether it
can serve: the database and both caches answer.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache(alias: str) -> None:
    cache = caches[alias]
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("a value written could not be read back")
    cache.delete(key)


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": _check_database,
        "default_cache": lambda: _check_cache("default"),
        "metrics_cache": lambda: _check_cache(settings.TRUST_METRICS_MEMORY_CACHE_ALIAS),
    }
    failed = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as error:  # any failure means "not ready", whatever raised it
            failed[name] = f"{type(error).__name__}: {error}".strip()
    if failed:
        logger.warning("readiness check failed failed=%s", sorted(failed))
        return JsonResponse({"status": "unavailable", "failed": failed}, status=503)
    return JsonResponse({"status": "ready", "checks": sorted(checks)})
