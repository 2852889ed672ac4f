"""
What the operator preview page shows, worked out in Python so that templates
only place it: one row per card pairing the edited copy with the live
overlay, each figure's state badge, and the delivery timeline chart.

Everything live comes from `trust.selectors.enrich_experience`; the edited
copy comes from the saved models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import models

from fulfillment.metrics import catalog
from fulfillment.metrics.snapshots import VerificationState
from trust.models import DeliveryTimeline, MetricBinding, TrustExperience
from trust.selectors import BOUND_SECTIONS, SECTIONS, TIMELINE_FIELDS

SECTION_TITLES = {
    "assurances": "Assurance points",
    "performance_snapshots": "Performance snapshots",
    "support_channels": "Support channels",
    "testimonials": "Testimonials",
    "bundle_offers": "Bundle offers",
}


# Badges ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Badge:
    """A state badge: a colour (`kind`), an icon and a word, never colour alone."""

    kind: str
    icon: str
    text: str
    description: str

    @property
    def needs_attention(self) -> bool:
        return self.kind != VerificationState.FRESH


STATE_BADGES = {
    VerificationState.FRESH: ("✓", "Computed within its freshness window."),
    VerificationState.STALE: ("◷", "Computed longer ago than its freshness window allows."),
    VerificationState.MISSING: ("∅", "Nothing to measure yet: no value, or no samples."),
    VerificationState.UNSUPPORTED: (
        "⚠",
        "The metric is not in the catalog, so nothing was computed.",
    ),
}


PREVIEW_BADGE_DESCRIPTION = (
    "No live figure is resolved; this is the state the operator set for the preview."
)


def legend() -> list[Badge]:
    """Return one badge of each kind, for the page's key."""
    badges = [
        Badge(state, icon, state, description)
        for state, (icon, description) in STATE_BADGES.items()
    ]
    return [*badges, Badge("preview", "◐", "preview · state", PREVIEW_BADGE_DESCRIPTION)]


def badge_for(*, bound: bool, metric: dict[str, Any] | None, preview_state: str) -> Badge | None:
    """
    Return the live overlay's badge for one card.

    A resolved metric shows its verification state. A card without one shows
    the operator's preview state when there is one (an unbound card, or a
    bound card whose metric could not be resolved), a bound card without one
    says the figure is unavailable, and an unbound card gets no badge.
    """
    if metric is not None:
        state = metric["verification_state"]
        icon, description = STATE_BADGES[state]
        return Badge(state, icon, state, description)
    if preview_state:
        return Badge("preview", "◐", f"preview · {preview_state}", PREVIEW_BADGE_DESCRIPTION)
    if bound:
        return Badge(
            "unavailable",
            "\N{VECTOR OR CROSS PRODUCT}",
            "unavailable",
            "The live figure could not be resolved right now.",
        )
    return None


# Cards ----------------------------------------------------------------------


def has_figure(metric: dict[str, Any] | None) -> bool:
    """Return whether a resolved metric may be shown to shoppers: fresh or stale."""
    return bool(metric) and metric["verification_state"] in (
        VerificationState.FRESH,
        VerificationState.STALE,
    )


@dataclass(frozen=True, slots=True)
class Binding:
    """A card's binding as saved in admin, for the edited-copy column."""

    metric_id: str
    metric_label: str
    source: str
    window: str
    preview_state: str
    provenance_note: str
    registered: bool


@dataclass(frozen=True, slots=True)
class PreviewCard:
    key: str
    anchor: str
    title: str
    edited_fields: list[tuple[str, Any]]
    live_fields: list[tuple[str, Any]]
    binding: Binding | None
    preview_state: str
    metric: dict[str, Any] | None
    badge: Badge | None
    show_value: bool = False
    shown_value: str | None = None
    uses_fallback: bool = False


@dataclass(frozen=True, slots=True)
class PreviewSection:
    name: str
    title: str
    bindable: bool
    cards: list[PreviewCard]


@dataclass(frozen=True, slots=True)
class PreviewTimeline:
    anchor: str
    title: str
    edited: DeliveryTimeline
    edited_fields: list[tuple[str, Any]]
    binding: Binding | None
    preview_state: str
    metric: dict[str, Any] | None
    badge: Badge | None
    resolved: dict[str, Any]
    chart: TimelineChart


@dataclass(frozen=True, slots=True)
class Preview:
    experience: TrustExperience
    enriched: dict[str, Any]
    live_available: bool
    sections: list[PreviewSection]
    timeline: PreviewTimeline | None
    attention: list[PreviewCard | PreviewTimeline] = field(default_factory=list)
    bound_count: int = 0
    fresh_count: int = 0


def binding_of(card: MetricBinding) -> Binding | None:
    """Return the card's binding as the operator saved it, or None when unbound."""
    if not card.is_bound:
        return None
    definition = catalog.get_definition(card.metric_id)
    if card.freshness_window_minutes is not None:
        window = f"{card.freshness_window_minutes} min"
    elif definition is not None:
        window = f"default ({definition.default_freshness_minutes} min)"
    else:
        window = "default (metric not in the catalog)"
    source = card.metric_source or (
        f"{definition.binding_source} (from the catalog)" if definition else ""
    )
    return Binding(
        metric_id=card.metric_id,
        metric_label=definition.label if definition else "not in the catalog",
        source=source,
        window=window,
        preview_state=card.preview_state,
        provenance_note=card.provenance_note,
        registered=definition is not None,
    )


def _labelled(model: type[models.Model], values: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        (str(model._meta.get_field(name).verbose_name).capitalize(), value)
        for name, value in values.items()
    ]


def _card(name: str, entry: models.Model, live: dict[str, Any]) -> PreviewCard:
    fields = SECTIONS[name]
    model = type(entry)
    binding = binding_of(entry) if name in BOUND_SECTIONS else None
    preview_state = getattr(entry, "preview_state", "")
    metric = live.get("metric")
    shown_value, uses_fallback = None, False
    if name == "performance_snapshots":
        shown_value = live["value"]
        uses_fallback = not (has_figure(metric) and metric["formatted_value"])
    elif has_figure(metric):
        shown_value = metric["formatted_value"]
    return PreviewCard(
        key=entry.key,
        anchor=f"{name}-{entry.key}",
        title=str(entry),
        edited_fields=_labelled(model, {field: getattr(entry, field) for field in fields}),
        live_fields=_labelled(model, {field: live[field] for field in fields}),
        binding=binding,
        preview_state=preview_state,
        metric=metric,
        badge=badge_for(bound=binding is not None, metric=metric, preview_state=preview_state),
        show_value=name == "performance_snapshots" or binding is not None,
        shown_value=shown_value,
        uses_fallback=uses_fallback,
    )


def build_preview(
    experience: TrustExperience,
    enriched: dict[str, Any],
    *,
    live_available: bool,
    now: datetime,
) -> Preview:
    """Pair every saved entry of `experience` with its entry in `enriched`."""
    sections = []
    for name in SECTIONS:
        live_by_key = {item["key"]: item for item in enriched[name]}
        cards = [
            _card(name, entry, live_by_key[entry.key])
            for entry in getattr(experience, name).all()
            if entry.key in live_by_key
        ]
        sections.append(PreviewSection(name, SECTION_TITLES[name], name in BOUND_SECTIONS, cards))

    timeline = None
    if enriched["delivery_timeline"] is not None:
        timeline = _timeline(experience.delivery_timeline, enriched["delivery_timeline"], now=now)

    bound: list[PreviewCard | PreviewTimeline] = [
        card for section in sections for card in section.cards if card.binding is not None
    ]
    if timeline is not None and timeline.binding is not None:
        bound.append(timeline)
    return Preview(
        experience=experience,
        enriched=enriched,
        live_available=live_available,
        sections=sections,
        timeline=timeline,
        attention=[card for card in bound if card.badge and card.badge.needs_attention],
        bound_count=len(bound),
        fresh_count=sum(
            1 for card in bound if card.badge and card.badge.kind == VerificationState.FRESH
        ),
    )


def _timeline(edited: DeliveryTimeline, live: dict[str, Any], *, now: datetime) -> PreviewTimeline:
    binding = binding_of(edited)
    metric = live["metric"]
    return PreviewTimeline(
        anchor="delivery-timeline",
        title=edited.headline,
        edited=edited,
        edited_fields=_labelled(
            DeliveryTimeline, {name: getattr(edited, name) for name in TIMELINE_FIELDS}
        ),
        binding=binding,
        preview_state=edited.preview_state,
        metric=metric,
        badge=badge_for(
            bound=binding is not None, metric=metric, preview_state=edited.preview_state
        ),
        resolved=live["resolved"],
        chart=timeline_chart(metric, live["resolved"], now=now),
    )


# Delivery timeline chart ------------------------------------------------------

CHART_WIDTH = 720
LABEL_RIGHT = 176
PLOT_LEFT = 188
PLOT_RIGHT = 700
STRIP_TOP = 8
STRIP_HEIGHT = 64
AXIS_LABEL_Y = STRIP_TOP + STRIP_HEIGHT + 18
LANES_TOP = AXIS_LABEL_Y + 8
LANE_HEIGHT = 44
LANE_GAP = 8
BAR_WIDTH = 6
BAR_HEADROOM = 14  # room above the tallest bar for the window's label
EDGE_LABEL_ROOM = 90  # a figure label closer than this to an edge is anchored inwards
TICK_STEPS_HOURS = (1, 2, 3, 6, 12, 24, 48)
SKU_REASON_NOTES = {
    "no_staffing_capacity": "no shifts",
    "insufficient_history": "no history",
}
MAX_TICKS = 8


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class ChartLabel:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True, slots=True)
class EstimateStrip:
    """Minimum, average and maximum minutes on their own scale, from zero."""

    label_y: float
    band: Bar | None
    markers: list[Bar]
    labels: list[ChartLabel]
    scale: list[Tick]
    scale_label_y: float
    baseline_y: float


@dataclass(frozen=True, slots=True)
class ChartWindow:
    x: float
    width: float
    y: float
    height: float
    before: Bar
    after: Bar
    drain: tuple[float, float, float, float]
    label: ChartLabel | None
    title: str
    starts_at: datetime
    ends_at: datetime
    hourly_capacity: float
    capacity_tasks: int
    backlog_at_start: int
    projected_tasks_completed: int
    backlog_after: int


@dataclass(frozen=True, slots=True)
class ChartLane:
    sku: str
    label: str
    note: str
    y: float
    height: float
    floor_y: float
    label_y: float
    note_y: float
    windows: list[ChartWindow]


@dataclass(frozen=True, slots=True)
class TimelineChart:
    width: int
    height: float
    plot_left: float
    plot_right: float
    label_right: float
    estimate: EstimateStrip | None
    axis_label_y: float
    grid_top: float
    ticks: list[Tick]
    now_x: float | None
    lanes: list[ChartLane]
    title: str
    description: str

    @property
    def window_count(self) -> int:
        return sum(len(lane.windows) for lane in self.lanes)


def format_minutes(minutes: float | None) -> str:
    """Return minutes as a shopper reads them: "45 min", "2 h", "3 h 05 min"."""
    if minutes is None:
        return "—"
    whole = round(minutes)
    if whole < 60:
        return f"{whole} min"
    hours, rest = divmod(whole, 60)
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


def _scale(low: float, high: float) -> Any:
    """Return a function mapping [low, high] onto the plot's x range, clamped."""
    span = (high - low) or 1.0

    def x_at(value: float) -> float:
        share = min(max((value - low) / span, 0.0), 1.0)
        return round(PLOT_LEFT + share * (PLOT_RIGHT - PLOT_LEFT), 1)

    return x_at


def timeline_chart(
    metric: dict[str, Any] | None, resolved: dict[str, Any], *, now: datetime
) -> TimelineChart:
    """
    Lay out the delivery timeline chart: a strip with the resolved minimum,
    average and maximum minutes, and under it one lane per SKU on a time axis
    starting now, each staffing window a band whose bars give the backlog
    before and after it.
    """
    forecast = (metric or {}).get("forecast") or {}
    origin = datetime.fromisoformat(forecast["generated_at"]) if forecast else now
    skus = list(forecast.get("skus", []))
    figures = (
        resolved.get("min_minutes"),
        resolved.get("average_minutes"),
        resolved.get("max_minutes"),
    )
    estimate = _estimate_strip(figures)

    windows = [window for sku in skus for window in sku["windows"]]
    ticks: list[Tick] = []
    now_x = None
    lanes: list[ChartLane] = []
    height = STRIP_TOP + STRIP_HEIGHT
    if skus:
        offsets = [
            _minutes_between(origin, window[edge])
            for window in windows
            for edge in ("start", "end")
        ]
        low = min([0.0, *offsets])
        high = max([forecast.get("horizon_hours", 0) * 60.0, 60.0, *offsets])
        x_at = _scale(low, high)
        step = _tick_step_minutes(high - low)
        ticks = [
            Tick(x_at(k * step), _tick_label(k * step))
            for k in range(math.ceil(low / step), math.floor(high / step) + 1)
        ]
        now_x = x_at(0)
        tallest = max([1, *(window["backlog_at_start"] for window in windows)])
        lanes = [
            _lane(
                sku,
                y=LANES_TOP + i * (LANE_HEIGHT + LANE_GAP),
                tallest=tallest,
                x_at=x_at,
                origin=origin,
            )
            for i, sku in enumerate(skus)
        ]
        height = LANES_TOP + len(lanes) * (LANE_HEIGHT + LANE_GAP)

    description = (
        f"Minimum {format_minutes(figures[0])}, average {format_minutes(figures[1])}, "
        f"maximum {format_minutes(figures[2])} ({resolved.get('confidence', 'fallback')}). "
    )
    if skus:
        description += (
            f"{len(skus)} SKUs and {len(windows)} staffing windows over the next "
            f"{forecast.get('horizon_hours')} hours; each window shows the backlog "
            "before and after it."
        )
    else:
        description += "There is no live forecast, so no staffing windows are drawn."
    return TimelineChart(
        width=CHART_WIDTH,
        height=height,
        plot_left=PLOT_LEFT,
        plot_right=PLOT_RIGHT,
        label_right=LABEL_RIGHT,
        estimate=estimate,
        axis_label_y=AXIS_LABEL_Y,
        grid_top=AXIS_LABEL_Y + 4,
        ticks=ticks,
        now_x=now_x,
        lanes=lanes,
        title="Delivery timeline: estimate and staffing windows",
        description=description,
    )


def _minutes_between(origin: datetime, moment: str) -> float:
    return (datetime.fromisoformat(moment) - origin) / timedelta(minutes=1)


def _tick_step_minutes(span: float) -> int:
    for hours in TICK_STEPS_HOURS:
        if span / (hours * 60) <= MAX_TICKS:
            return hours * 60
    return TICK_STEPS_HOURS[-1] * 60


def _tick_label(minutes: int) -> str:
    if minutes == 0:
        return "now"
    sign = "+" if minutes > 0 else "\N{MINUS SIGN}"
    return f"{sign}{abs(minutes) // 60} h"


def _scale_end(top: float) -> int:
    step = 30 if top <= 360 else 60 if top <= 1440 else 360
    return max(step, math.ceil(top * 1.05 / step) * step)


def _estimate_strip(figures: tuple[float | None, ...]) -> EstimateStrip | None:
    given = [figure for figure in figures if figure is not None]
    if not given:
        return None
    end = _scale_end(max(given))
    x_at = _scale(0, end)
    band_y, band_height = STRIP_TOP + 18, 16
    low, average, high = figures

    band = None
    if low is not None and high is not None:
        band = Bar(x_at(low), band_y, max(round(x_at(high) - x_at(low), 1), 2), band_height)
    markers, labels = [], []
    for name, figure, above in (("min", low, False), ("avg", average, True), ("max", high, False)):
        if figure is None:
            continue
        x = x_at(figure)
        markers.append(Bar(round(x - 1.5, 1), band_y - 4, 3, band_height + 8))
        if x - PLOT_LEFT < EDGE_LABEL_ROOM:
            anchor = "start"
        elif PLOT_RIGHT - x < EDGE_LABEL_ROOM:
            anchor = "end"
        else:
            anchor = {"min": "end", "avg": "middle", "max": "start"}[name]
        y = band_y - 8 if above else band_y + band_height + 16
        labels.append(ChartLabel(x, y, f"{name} {format_minutes(figure)}", anchor))
    return EstimateStrip(
        label_y=band_y + 12,
        band=band,
        markers=markers,
        labels=labels,
        scale=[Tick(x_at(0), "0"), Tick(x_at(end), format_minutes(end))],
        scale_label_y=band_y - 8,
        baseline_y=band_y + band_height / 2,
    )


def _lane(sku: dict[str, Any], *, y: float, tallest: int, x_at: Any, origin: datetime) -> ChartLane:
    bottom = y + LANE_HEIGHT
    scale = (LANE_HEIGHT - BAR_HEADROOM) / tallest
    windows = []
    for window in sku["windows"]:
        starts_at = datetime.fromisoformat(window["start"])
        ends_at = datetime.fromisoformat(window["end"])
        left = x_at((starts_at - origin) / timedelta(minutes=1))
        width = max(x_at((ends_at - origin) / timedelta(minutes=1)) - left, BAR_WIDTH * 2 + 2)
        before, after = window["backlog_at_start"], window["backlog_after"]
        before_top = round(bottom - max(before * scale, 1 if before else 0), 1)
        after_top = round(bottom - max(after * scale, 1 if after else 0), 1)
        after_x = round(left + width - BAR_WIDTH - 1, 1)
        windows.append(
            ChartWindow(
                x=left,
                width=round(width, 1),
                y=y,
                height=LANE_HEIGHT,
                before=Bar(left + 1, before_top, BAR_WIDTH, round(bottom - before_top, 1)),
                after=Bar(after_x, after_top, BAR_WIDTH, round(bottom - after_top, 1)),
                drain=(left + 1 + BAR_WIDTH, before_top, after_x, after_top),
                label=(
                    ChartLabel(round(left + width / 2, 1), y + 11, f"{before} → {after}")
                    if width >= 44
                    else None
                ),
                title=(
                    f"{sku['sku']}: {starts_at:%a %H:%M}\N{EN DASH}{ends_at:%a %H:%M} UTC, "
                    f"{window['hourly_capacity']:g} tasks/h ({window['capacity_tasks']} tasks); "
                    f"backlog {before} before, {after} after"
                ),
                starts_at=starts_at,
                ends_at=ends_at,
                hourly_capacity=window["hourly_capacity"],
                capacity_tasks=window["capacity_tasks"],
                backlog_at_start=before,
                projected_tasks_completed=window["projected_tasks_completed"],
                backlog_after=after,
            )
        )
    if sku.get("unsupported_reason"):
        reason = SKU_REASON_NOTES.get(sku["unsupported_reason"], sku["unsupported_reason"])
        note = f"{sku['backlog_tasks']} open · {reason}"
    else:
        clears = format_minutes(sku["estimated_clear_minutes"])
        note = f"{sku['backlog_tasks']} open · clears in {clears}"
    return ChartLane(
        sku=sku["sku"],
        label=sku["sku"] if len(sku["sku"]) <= 22 else f"{sku['sku'][:21]}…",
        note=note,
        y=y,
        height=LANE_HEIGHT,
        floor_y=bottom,
        label_y=y + LANE_HEIGHT / 2 - 3,
        note_y=y + LANE_HEIGHT / 2 + 12,
        windows=windows,
    )
