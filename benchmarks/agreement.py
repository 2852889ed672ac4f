"""
Do two computations of a metric agree? Compare our `Figure` with the
baseline's, field by field, and say precisely where they differ.

Floats may differ in their last bits (the database sums in another order
than Python), so numbers agree within a relative tolerance; everything else
(formatted values, counts, keys, strings, order of lists) must be equal.
"""

from __future__ import annotations

import math
from typing import Any

from fulfillment.metrics.snapshots import Figure

RELATIVE_TOLERANCE = 1e-6
ABSOLUTE_TOLERANCE = 1e-9


class DisagreementError(AssertionError):
    """Our computation and the baseline's gave different figures."""


def numbers_agree(ours: float, theirs: float) -> bool:
    return math.isclose(ours, theirs, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)


def value_differences(ours: Any, theirs: Any, *, path: str) -> list[str]:
    """Return one line per place where `ours` and `theirs` differ, recursively."""
    ours_is_number = isinstance(ours, int | float) and not isinstance(ours, bool)
    theirs_is_number = isinstance(theirs, int | float) and not isinstance(theirs, bool)
    if ours_is_number and theirs_is_number:
        if isinstance(ours, float) or isinstance(theirs, float):
            agree = numbers_agree(float(ours), float(theirs))
        else:
            agree = ours == theirs
        return [] if agree else [f"{path}: ours {ours!r}, baseline {theirs!r}"]
    if isinstance(ours, dict) and isinstance(theirs, dict):
        lines = []
        for key in sorted(set(ours) | set(theirs), key=str):
            if key not in theirs:
                lines.append(f"{path}.{key}: only ours has it ({ours[key]!r})")
            elif key not in ours:
                lines.append(f"{path}.{key}: only the baseline has it ({theirs[key]!r})")
            else:
                lines.extend(value_differences(ours[key], theirs[key], path=f"{path}.{key}"))
        return lines
    if isinstance(ours, list | tuple) and isinstance(theirs, list | tuple):
        if len(ours) != len(theirs):
            return [f"{path}: ours has {len(ours)} entries, baseline {len(theirs)}"]
        lines = []
        for index, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
            lines.extend(value_differences(mine, other, path=f"{path}[{index}]"))
        return lines
    if type(ours) is not type(theirs) or ours != theirs:
        return [f"{path}: ours {ours!r}, baseline {theirs!r}"]
    return []


def figure_differences(ours: Figure, theirs: Figure, *, metric_id: str) -> list[str]:
    """Return where two figures of `metric_id` differ; empty when they agree."""
    lines = []
    for name in ("value", "formatted_value", "sample_size", "metadata", "forecast"):
        lines.extend(
            value_differences(
                getattr(ours, name), getattr(theirs, name), path=f"{metric_id}.{name}"
            )
        )
    return lines


def check_agreement(ours: Figure, theirs: Figure, *, metric_id: str, dataset: str) -> None:
    """Raise `DisagreementError` naming the dataset and every difference."""
    lines = figure_differences(ours, theirs, metric_id=metric_id)
    if lines:
        shown = "\n  ".join(lines[:40])
        more = f"\n  ... and {len(lines) - 40} more" if len(lines) > 40 else ""
        raise DisagreementError(
            f"{metric_id} disagrees with the baseline on {dataset}:\n  {shown}{more}"
        )
