from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.views.defaults import server_error

from fulfillment.metrics.service import MetricUnavailableError
from fulfillment.models import MetricCacheEntry
from tests import factories
from trust import preview

pytestmark = pytest.mark.django_db

PREVIEW_TOKEN = "a-long-preview-token"


def cache_row(metric_id: str, *, minutes_ago: float = 0, ttl_minutes: int = 1440, **fields: Any):
    """Store a persistent-tier row, so resolving the metric reads it instead of computing."""
    computed_at = timezone.now() - timedelta(minutes=minutes_ago)
    return factories.MetricCacheEntryFactory(
        metric_id=metric_id,
        computed_at=computed_at,
        expires_at=computed_at + timedelta(minutes=ttl_minutes),
        **fields,
    )


def forecast_row(*, now: datetime) -> MetricCacheEntry:
    def at(hours: float) -> str:
        return (now + timedelta(hours=hours)).isoformat()

    skus = [
        {
            "sku": "logo-refresh",
            "backlog_tasks": 12,
            "completed_sample_size": 8,
            "average_minutes": 95.0,
            "percentile_bands": {"p50": 90.0, "p90": 150.0},
            "windows": [
                {
                    "start": at(-1),
                    "end": at(7),
                    "hourly_capacity": 1.0,
                    "capacity_tasks": 7,
                    "backlog_at_start": 12,
                    "projected_tasks_completed": 7,
                    "backlog_after": 5,
                },
                {
                    "start": at(12),
                    "end": at(20),
                    "hourly_capacity": 1.0,
                    "capacity_tasks": 8,
                    "backlog_at_start": 5,
                    "projected_tasks_completed": 5,
                    "backlog_after": 0,
                },
            ],
            "estimated_clear_minutes": 1020.0,
            "unsupported_reason": None,
        },
        {
            "sku": "rush-consultation",
            "backlog_tasks": 2,
            "completed_sample_size": 0,
            "average_minutes": None,
            "percentile_bands": {"p50": None, "p90": None},
            "windows": [],
            "estimated_clear_minutes": None,
            "unsupported_reason": "no_staffing_capacity",
        },
    ]
    return cache_row(
        "fulfillment_delivery_sla_forecast",
        ttl_minutes=60,
        value=1020.0,
        formatted_value="17.0h",
        sample_size=8,
        metadata_json={
            "source": "fulfillment",
            "overall_percentile_bands": {"p50": 90.0, "p90": 150.0},
            "forecast_alerts": ["sla_breach_risk", "partial_support"],
            "fallback_copy": "Some products cannot be forecast yet.",
        },
        forecast_json={"generated_at": now.isoformat(), "horizon_hours": 36, "skus": skus},
    )


@pytest.fixture
def experience():
    """An experience with one card in each state, every metric read from the cache."""
    experience = factories.TrustExperienceFactory(name="Checkout modules", slug="checkout")
    factories.AssurancePointFactory(
        experience=experience,
        position=1,
        title="Work lands on schedule",
        metric_id="fulfillment_sla_on_time_pct",
        metric_source="fulfillment",
        provenance_note="Scheduled tasks with a completion time.",
    )
    factories.PerformanceSnapshotFactory(
        experience=experience,
        position=1,
        label="Customer score",
        fallback_value="9.1",
        metric_id="nps_trailing_30d",
        freshness_window_minutes=60,
    )
    factories.PerformanceSnapshotFactory(
        experience=experience,
        position=2,
        label="Queue delay",
        fallback_value="Under 1h",
        metric_id="fulfillment_backlog_minutes",
    )
    factories.PerformanceSnapshotFactory(
        experience=experience,
        position=3,
        label="Retired figure",
        fallback_value="n/a",
        metric_id="retired_metric",
    )
    factories.PerformanceSnapshotFactory(
        experience=experience,
        position=4,
        label="Happy customers",
        fallback_value="1,200+",
        preview_state="missing",
    )
    factories.SupportChannelFactory(experience=experience, label="Email us")
    factories.TestimonialFactory(experience=experience, quote="Quick and careful.")
    factories.BundleOfferFactory(experience=experience, title="Launch kit")
    factories.DeliveryTimelineFactory(
        experience=experience, metric_id="fulfillment_delivery_sla_forecast"
    )

    cache_row("fulfillment_sla_on_time_pct", value=0.97, formatted_value="97%", sample_size=40)
    cache_row("nps_trailing_30d", minutes_ago=180, value=8.4, formatted_value="8.4")
    cache_row("fulfillment_backlog_minutes", value=None, formatted_value="", sample_size=0)
    forecast_row(now=timezone.now())
    return experience


def preview_url(slug: str = "checkout") -> str:
    return reverse("trust:preview", args=[slug])


def card_html(content: str, anchor: str) -> str:
    """Return the HTML of the card pair with id `anchor`."""
    start = content.index(f'id="{anchor}"')
    end = content.find('<div class="pair"', start + 1)
    return content[start : end if end != -1 else None]


def live_half(pair: str) -> str:
    return pair[pair.index("card--live") :]


def edited_half(pair: str) -> str:
    return pair[: pair.index("card--live")]


# Rendering ---------------------------------------------------------------------


def test_preview_pairs_edited_copy_and_live_overlay_for_every_section(staff_client, experience):
    response = staff_client.get(preview_url())

    assert response.status_code == 200
    content = response.content.decode()
    for section in ("Guarantee", "Assurance points", "Performance snapshots", "Support channels"):
        assert section in content
    for section in ("Testimonials", "Bundle offers", "Delivery timeline"):
        assert section in content
    pairs = content.count('<div class="pair')
    assert content.count('class="card card--edited"') == pairs
    assert content.count('class="card card--live') == pairs
    assert "Email us" in card_html(content, "support_channels-email-us")


@pytest.mark.parametrize(
    ("anchor", "state", "text"),
    [
        ("assurances-work-lands-on-schedule", "fresh", "✓</span> fresh"),
        ("performance_snapshots-customer-score", "stale", "◷</span> stale"),
        ("performance_snapshots-queue-delay", "missing", "∅</span> missing"),
        ("performance_snapshots-retired-figure", "unsupported", "⚠</span> unsupported"),
        ("performance_snapshots-happy-customers", "preview", "◐</span> preview · missing"),
    ],
)
def test_each_card_shows_its_state_badge_with_an_icon_and_a_word(
    staff_client, experience, anchor, state, text
):
    content = staff_client.get(preview_url()).content.decode()

    live = live_half(card_html(content, anchor))
    assert f"card--{state}" in live
    assert f'data-state="{state}"' in live
    assert text in live
    assert 'aria-label="State: ' in live


def test_attention_summary_lists_cards_that_are_not_fresh(staff_client, experience):
    content = staff_client.get(preview_url()).content.decode()

    summary = content[content.index('id="summary-title"') : content.index('id="legend-title"')]
    assert "2 of 5</strong> bound figures are fresh" in summary
    assert 'href="#performance_snapshots-customer-score"' in summary
    assert 'href="#performance_snapshots-retired-figure"' in summary
    assert 'href="#assurances-work-lands-on-schedule"' not in summary


def test_fresh_card_shows_value_raw_value_and_provenance(staff_client, experience):
    content = staff_client.get(preview_url()).content.decode()

    live = live_half(card_html(content, "assurances-work-lands-on-schedule"))
    assert '<strong class="figure" data-field="shown-value">97%</strong>' in live
    assert '<dd data-field="raw-value">0.97</dd>' in live
    assert '<dd data-field="sample-size">40</dd>' in live
    assert 'data-cache-layer="persistent"' in live
    assert "Scheduled tasks with a completion time." in live


@pytest.mark.parametrize(
    ("anchor", "fallback"),
    [
        ("performance_snapshots-happy-customers", "1,200+"),  # unbound
        ("performance_snapshots-queue-delay", "Under 1h"),  # bound, metric missing
        ("performance_snapshots-retired-figure", "n/a"),  # bound, metric unsupported
    ],
)
def test_card_without_a_figure_shows_its_fallback_value(staff_client, experience, anchor, fallback):
    content = staff_client.get(preview_url()).content.decode()

    live = live_half(card_html(content, anchor))
    assert f'data-field="shown-value">{fallback}</strong>' in live
    assert "fallback value" in live


def test_stale_card_shows_its_figure_not_the_fallback(staff_client, experience):
    content = staff_client.get(preview_url()).content.decode()

    live = live_half(card_html(content, "performance_snapshots-customer-score"))
    assert 'data-field="shown-value">8.4</strong>' in live
    assert "live figure" in live


def test_edited_column_shows_the_binding_without_live_figures(staff_client, experience):
    content = staff_client.get(preview_url()).content.decode()

    custom = edited_half(card_html(content, "performance_snapshots-customer-score"))
    default = edited_half(card_html(content, "performance_snapshots-queue-delay"))
    unknown = edited_half(card_html(content, "performance_snapshots-retired-figure"))
    assert "<code>nps_trailing_30d</code>" in custom
    assert '<dd data-field="window">60 min</dd>' in custom
    assert "8.4" not in custom
    assert '<dd data-field="window">default (120 min)</dd>' in default
    assert "not in the catalog" in unknown


def test_delivery_timeline_shows_resolved_figures_and_alerts(staff_client, experience):
    content = staff_client.get(preview_url()).content.decode()

    timeline = content[content.index('id="delivery-timeline"') :]
    assert '<dd data-field="min">17 h</dd>' in timeline
    assert '<dd data-field="average">1 h 30 min</dd>' in timeline
    assert '<dd data-field="max">17 h</dd>' in timeline
    assert '<strong data-field="confidence">live</strong>' in timeline
    assert "<code>sla_breach_risk</code>" in timeline
    assert "Some products cannot be forecast yet." in timeline


def test_chart_draws_each_staffing_window_with_backlog_before_and_after(staff_client, experience):
    content = staff_client.get(preview_url()).content.decode()

    chart = content[content.index("<svg") : content.index("</svg>")]
    assert '<title id="timeline-chart-title">' in chart
    assert "<desc id=" in chart
    assert 'data-sku="logo-refresh"' in chart
    assert 'data-backlog-before="12" data-backlog-after="5"' in chart
    assert 'data-backlog-before="5" data-backlog-after="0"' in chart
    assert "backlog 12 before, 5 after" in chart
    assert "2 open · no shifts" in chart
    assert "Staffing windows as a table" in content


def test_preview_page_needs_no_script_and_is_not_indexed(staff_client, experience):
    response = staff_client.get(preview_url())

    content = response.content.decode()
    assert "<script" not in content
    assert "<link" not in content
    assert '<meta name="robots" content="noindex, nofollow">' in content
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-cache", "no-store", "max-age=0"} <= cache_control


def test_preview_renders_fallbacks_when_metrics_are_unavailable(
    staff_client, experience, monkeypatch, caplog
):
    def unavailable(*args: object, **kwargs: object) -> None:
        raise MetricUnavailableError("nps_trailing_30d", "the database is unreachable")

    monkeypatch.setattr("trust.selectors.resolve_metrics", unavailable)

    with caplog.at_level(logging.WARNING, logger="trust.views"):
        response = staff_client.get(preview_url())

    assert response.status_code == 200
    content = response.content.decode()
    assert "Live figures are unavailable right now" in content
    assert "the database is unreachable" in content
    score = live_half(card_html(content, "performance_snapshots-customer-score"))
    assert 'data-field="shown-value">9.1</strong>' in score
    assert 'data-state="unavailable"' in score
    happy = live_half(card_html(content, "performance_snapshots-happy-customers"))
    assert "preview · missing" in happy
    assert '<strong data-field="confidence">fallback</strong>' in content
    assert "live metrics unavailable" in caplog.text
    assert "slug=checkout" in caplog.text


# Access ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "offered", "status"),
    [
        (PREVIEW_TOKEN, PREVIEW_TOKEN, 200),
        (PREVIEW_TOKEN, "wrong-token", 404),
        (PREVIEW_TOKEN, PREVIEW_TOKEN[:-1], 404),
        (PREVIEW_TOKEN, None, 404),
        ("", "", 404),
        ("", "anything", 404),
    ],
)
def test_token_opens_the_preview_only_when_it_matches_the_setting(
    client, settings, experience, configured, offered, status
):
    settings.CHECKOUT_PREVIEW_TOKEN = configured
    query = {} if offered is None else {"token": offered}

    response = client.get(preview_url(), query)

    assert response.status_code == status


@pytest.mark.parametrize(
    "user_fields",
    [{"is_staff": False}, {"is_staff": True, "is_active": False}],
    ids=["not-staff", "inactive-staff"],
)
def test_signed_in_users_without_staff_access_get_404(client, experience, user_fields):
    user = get_user_model().objects.create_user(username="shopper", **user_fields)
    client.force_login(user)

    response = client.get(preview_url())

    assert response.status_code == 404


def test_unknown_slug_and_other_environment_get_404(staff_client, experience):
    factories.TrustExperienceFactory(slug="elsewhere", environment="production")

    assert staff_client.get(preview_url("no-such-slug")).status_code == 404
    assert staff_client.get(preview_url("elsewhere")).status_code == 404


def test_refused_and_unknown_look_the_same(client, settings, experience):
    settings.DEBUG = False
    settings.CHECKOUT_PREVIEW_TOKEN = PREVIEW_TOKEN

    refused = client.get(preview_url(), {"token": "wrong"})
    unknown = client.get(preview_url("no-such-slug"), {"token": PREVIEW_TOKEN})

    assert refused.status_code == unknown.status_code == 404
    assert refused.content == unknown.content


def test_preview_refuses_posts(staff_client, experience):
    assert staff_client.post(preview_url()).status_code == 405


# Error pages -------------------------------------------------------------------


def test_unknown_url_gets_the_site_404_page_when_debug_is_off(client, settings):
    settings.DEBUG = False

    response = client.get("/no/such/page/")

    assert response.status_code == 404
    content = response.content.decode()
    assert "<title>Page not found</title>" in content
    assert "Django" not in content


def test_server_error_page_renders_without_a_request_context():
    standalone = render_to_string("500.html")
    response = server_error(RequestFactory().get("/"))

    assert "Something went wrong" in standalone
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_csrf_failure_gets_the_site_page_when_debug_is_off(settings):
    from django.test import Client

    settings.DEBUG = False
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("admin:login"), {"username": "x", "password": "y"})

    assert response.status_code == 403
    assert "This form could not be sent" in response.content.decode()


# Chart layout ------------------------------------------------------------------


def test_chart_layout_keeps_every_window_inside_the_plot():
    now = timezone.now()
    row = forecast_row(now=now)
    metric = {"forecast": row.forecast_json}
    resolved = {"min_minutes": 60, "average_minutes": 90, "max_minutes": 1020, "confidence": "live"}

    chart = preview.timeline_chart(metric, resolved, now=now)

    logo, rush = chart.lanes
    assert [window.backlog_at_start for window in logo.windows] == [12, 5]
    for window in logo.windows:
        assert window.x >= preview.PLOT_LEFT
        assert window.x + window.width <= preview.PLOT_RIGHT + 0.1
    first = logo.windows[0]
    assert first.before.height > first.after.height > 0
    assert logo.windows[1].after.height == 0
    assert rush.windows == []
    assert "now" in [tick.label for tick in chart.ticks]
    assert [label.text for label in chart.estimate.labels] == [
        "min 1 h",
        "avg 1 h 30 min",
        "max 17 h",
    ]
    assert chart.window_count == 2


def test_chart_without_a_forecast_draws_only_the_fallback_estimate():
    resolved = {"min_minutes": 120, "average_minutes": 240, "max_minutes": 480}

    chart = preview.timeline_chart(None, resolved, now=timezone.now())

    assert chart.lanes == []
    assert chart.estimate is not None
    assert len(chart.estimate.markers) == 3
    assert "no staffing windows" in chart.description


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(None, "—"), (0, "0 min"), (44.6, "45 min"), (60, "1 h"), (185, "3 h 05 min")],
)
def test_minutes_read_as_hours_and_minutes(minutes, text):
    assert preview.format_minutes(minutes) == text
