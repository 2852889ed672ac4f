from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import caches

from trust.selectors import forget_loaded_experiences


@pytest.fixture(autouse=True)
def _empty_caches() -> Iterator[None]:
    """Start every test with empty caches, also when `default` is a shared Redis."""
    for cache in caches.all(initialized_only=False):
        cache.clear()
    # Frozen clocks give cachalot the same invalidation stamps in every test.
    forget_loaded_experiences()
    yield


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser(
        username="operator", email="operator@example.com", password="not-a-real-password"
    )
    client.force_login(user)
    return client
