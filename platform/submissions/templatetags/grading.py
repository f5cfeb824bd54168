"""Showing report values: observed values and thresholds as a learner reads them."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

OPS = {"==": "=", "!=": "≠", ">=": "≥", "<=": "≤", ">": ">", "<": "<"}


@register.filter
def shown(value: Any, unit: str = "") -> str:
    """yes/no for booleans, 3 decimals at most for floats, then the unit. Escaped by the template."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{round(value, 3):g}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


@register.filter
def op_symbol(op: str | None) -> str:
    return OPS.get(op or "", op or "")
