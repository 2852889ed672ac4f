"""An operator edits copy in admin, previews it, and purges its metrics, in a real browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from trust.demo import seed_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-browser-test-password"
BOUND_CARDS = [
    "#assurances-on-schedule",
    "#assurances-fast-start",
    "#performance_snapshots-nps",
    "#performance_snapshots-backlog",
    "#performance_snapshots-coverage",
    "#delivery-timeline",
]


def inline_prefix(page, key: str) -> str:
    """Return the form prefix of the inline whose key field holds `key`."""
    name = page.locator(f'input[name$="-key"][value="{key}"]').get_attribute("name")
    return name.removesuffix("-key")


def layers_of(page) -> list[str]:
    return [
        page.locator(f"{card} .card--live [data-cache-layer]").get_attribute("data-cache-layer")
        for card in BOUND_CARDS
    ]


def test_operator_edits_previews_and_purges(live_server, chromium, artifacts: Path):
    from playwright.sync_api import expect

    # given a demo shop and an operator
    seed_demo()
    get_user_model().objects.create_superuser("operator", "op@example.com", PASSWORD)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    admin_url = f"{live_server.url}/admin/"

    # when the operator logs in and edits the checkout experience
    page.goto(f"{admin_url}login/?next=/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page).to_have_url(admin_url)
    page.goto(f"{admin_url}trust/trustexperience/")
    expect(page.locator("td.field-fresh_metrics")).to_have_text("0 / 6")
    page.click("text=Checkout trust modules")
    change_url = page.url

    customers = inline_prefix(page, "customers")
    page.fill(f'[name="{customers}-fallback_value"]', "2,500+")
    page.select_option(f'[name="{customers}-preview_state"]', "missing")
    backlog = inline_prefix(page, "backlog")
    page.fill(f'[name="{backlog}-freshness_window_minutes"]', "30")
    page.click('input[name="_continue"]')
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    # then the preview shows the new copy, the new window and the expected badges
    page.click("a.previewlink")
    expect(page).to_have_url(re.compile(r"/trust-preview/checkout/$"))
    card = page.locator("#performance_snapshots-customers")
    expect(card.locator(".card--edited")).to_contain_text("2,500+")
    expect(card.locator(".card--live [data-field=shown-value]")).to_have_text("2,500+")
    expect(card.locator(".card--live .badge")).to_have_text("◐ preview · missing")
    expect(page.locator('#performance_snapshots-backlog [data-field="window"]')).to_have_text(
        "30 min"
    )
    for selector in BOUND_CARDS:
        expect(page.locator(f"{selector} .card--live .badge").first).to_have_text("✓ fresh")
    assert layers_of(page) == ["computed"] * 6
    expect(page.locator("svg.timeline-chart g.window").first).to_be_attached()

    # and a reload is answered from this process's memory tier
    page.reload()
    assert layers_of(page) == ["memory"] * 6
    page.screenshot(path=str(artifacts / "preview.png"), full_page=True)
    page.goto(f"{admin_url}fulfillment/metriccacheentry/")
    expect(page.locator("td.field-layer_state").first).to_have_text("memory + persistent")
    page.goto(f"{admin_url}trust/trustexperience/")
    expect(page.locator("td.field-fresh_metrics")).to_have_text("6 / 6")

    # when the operator purges the bound metrics from admin
    page.goto(change_url)
    page.click("button.purge-metrics")
    expect(page.locator(".messagelist")).to_contain_text("Purged 6 metrics bound by")

    # then the preview computes every one of them afresh
    page.goto(f"{live_server.url}/trust-preview/checkout/")
    assert layers_of(page) == ["computed"] * 6
    context.close()


def test_preview_reads_well_on_a_phone_without_javascript(live_server, chromium, artifacts: Path):
    from playwright.sync_api import expect

    seed_demo()
    get_user_model().objects.create_superuser("operator", "op@example.com", PASSWORD)
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, java_script_enabled=False, is_mobile=True
    )
    page = context.new_page()

    page.goto(f"{live_server.url}/admin/login/?next=/trust-preview/checkout/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    expect(page).to_have_url(re.compile(r"/trust-preview/checkout/$"))
    expect(page.locator("h1")).to_have_text("Checkout trust modules")
    expect(page.locator("svg.timeline-chart")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    page.screenshot(path=str(artifacts / "preview-phone.png"), full_page=True)
    context.close()
