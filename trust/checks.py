"""
Deployment checks: `manage.py check --deploy` refuses the development
defaults once DEBUG is off.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

LOCMEM_BACKEND = "django.core.cache.backends.locmem.LocMemCache"
# Django marks generated development keys this way, and so does trustsite.settings.
INSECURE_KEY_PREFIX = "django-insecure-"

E001 = checks.Error(
    "SECRET_KEY is the development key while DEBUG is off.",
    hint="Set the SECRET_KEY environment variable to a long random value of your own.",
    id="trust.E001",
)
W001 = checks.Warning(
    "CHECKOUT_API_KEY is empty while DEBUG is off: the storefront API answers anyone.",
    hint="Set CHECKOUT_API_KEY to the key storefronts send in the X-API-Key header.",
    id="trust.W001",
)
W002 = checks.Warning(
    "The default cache is local memory while DEBUG is off: each worker keeps its own, so "
    "one worker's invalidations (admin edits through cachalot) never reach the others.",
    hint="Set CACHE_URL to the shared Redis, e.g. redis://redis.internal:6379/0.",
    id="trust.W002",
)


@checks.register(checks.Tags.security)
def check_secret_key(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Refuse a development secret key outside DEBUG, on every command that checks."""
    if not settings.DEBUG and settings.SECRET_KEY.startswith(INSECURE_KEY_PREFIX):
        return [E001]
    return []


@checks.register(checks.Tags.security, deploy=True)
def check_api_key(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if not settings.DEBUG and not settings.CHECKOUT_API_KEY:
        return [W001]
    return []


@checks.register(checks.Tags.caches, deploy=True)
def check_shared_default_cache(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if not settings.DEBUG and settings.CACHES["default"]["BACKEND"] == LOCMEM_BACKEND:
        return [W002]
    return []
