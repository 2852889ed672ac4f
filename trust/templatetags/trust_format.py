"""Filters the preview page and the storefront fragment share."""

from __future__ import annotations

from django import template

from trust import preview

register = template.Library()

ALERT_TEXT = {
    "forecast_unavailable": "No forecast could be made from the current data.",
    "sla_breach_risk": "The slowest queue needs 4 hours or more to clear.",
    "sla_watch": "The slowest queue needs 2 hours or more to clear.",
    "limited_history": "Fewer than 5 completed tasks to learn durations from.",
    "no_staffing_capacity": "Open work has no staffing capacity in the roster.",
    "partial_support": "Some SKUs could not be forecast.",
}


@register.filter
def minutes(value: float | None) -> str:
    """Render minutes as "45 min", "2 h" or "3 h 05 min"; "—" for none."""
    return preview.format_minutes(value)


@register.filter
def raw_number(value: float | None) -> str:
    """Render a raw metric value with up to four decimals, "—" for none."""
    if value is None:
        return "—"
    return f"{value:.4f}".rstrip("0").rstrip(".")


register.filter("has_figure", preview.has_figure)


@register.filter
def alert_text(code: str) -> str:
    """Return the operator-facing sentence for a forecast alert code."""
    return ALERT_TEXT.get(code, code.replace("_", " "))
