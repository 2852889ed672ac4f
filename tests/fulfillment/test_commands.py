from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from fulfillment.metrics import catalog
from fulfillment.metrics.service import resolve_metric
from fulfillment.models import MetricCacheEntry

pytestmark = pytest.mark.django_db


def test_warm_computes_and_prints_every_metric():
    output = StringIO()

    call_command("warm_trust_metrics", stdout=output)

    lines = output.getvalue().splitlines()
    for metric_id in catalog.CATALOG:
        assert any(line.startswith(f"{metric_id}: ") for line in lines)
    assert lines[-1] == f"Warmed {len(catalog.CATALOG)} metrics."
    assert MetricCacheEntry.objects.count() == len(catalog.CATALOG)


def test_purge_one_metric_prints_its_id():
    resolve_metric("nps_trailing_30d")
    output = StringIO()

    call_command("purge_trust_metrics", "--metric-id", "nps_trailing_30d", stdout=output)

    assert output.getvalue().strip() == "Purged 1 metric(s): nps_trailing_30d"
    assert not MetricCacheEntry.objects.exists()


def test_purge_all_prints_the_cached_ids_and_is_quiet_at_verbosity_zero():
    resolve_metric("nps_trailing_30d")
    resolve_metric("first_response_minutes")
    output, quiet = StringIO(), StringIO()

    call_command("purge_trust_metrics", stdout=output)
    call_command("purge_trust_metrics", verbosity=0, stdout=quiet)

    assert output.getvalue().strip() == (
        "Purged 2 metric(s): first_response_minutes, nps_trailing_30d"
    )
    assert quiet.getvalue() == ""


def test_purge_with_an_unknown_id_fails_naming_the_valid_ids():
    with pytest.raises(CommandError) as excinfo:
        call_command("purge_trust_metrics", "--metric-id", "bogus", stdout=StringIO())

    assert "bogus" in str(excinfo.value)
    assert ", ".join(catalog.registered_ids()) in str(excinfo.value)
