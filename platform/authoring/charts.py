"""Small server-side SVG charts (bars over categories, horizontal bars), no JavaScript.

Hand-written because two chart shapes in ~90 lines are less to trust than a plotting
dependency; every label goes through escape(), so learner text can never become markup.
"""

from __future__ import annotations

from django.utils.html import escape

COLOURS = ("#2456d6", "#1b7f4b", "#9a6700", "#b3261e", "#6b3fa0")


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def bars(categories: list[str], series: dict[str, list[float]], *, title: str, width: int = 720,
         height: int = 240) -> str:
    """Grouped vertical bars: one group per category (e.g. a day), one bar per series."""
    left, bottom, top, right = 40, 42, 28, 10
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([max(v, default=0) for v in series.values()] + [1])
    n, m = max(len(categories), 1), max(len(series), 1)
    group = plot_w / n
    bar = max(group * 0.8 / m, 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" class="chart">', f"<title>{escape(title)}</title>",
             f'<text x="{left}" y="16" font-size="13" font-weight="600">{escape(title)}</text>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#999"/>',
             f'<text x="{left - 6}" y="{top + 4}" font-size="10" text-anchor="end">{_fmt(peak)}</text>',
             f'<text x="{left - 6}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>']
    for s, (name, values) in enumerate(series.items()):
        colour = COLOURS[s % len(COLOURS)]
        for i, value in enumerate(values):
            h = plot_h * value / peak
            x = left + i * group + group * 0.1 + s * bar
            parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{colour}"><title>{escape(categories[i])}: {escape(name)} {_fmt(value)}</title></rect>')
        if len(series) > 1:  # one series needs no legend: the title says what it is
            parts.append(f'<rect x="{width - right - 150}" y="{6 + s * 12}" width="9" height="9" fill="{colour}"/>'
                         f'<text x="{width - right - 137}" y="{14 + s * 12}" font-size="10">{escape(name)}</text>')
    step = max(1, n // 8)
    for i in range(0, len(categories), step):
        x = left + i * group + group / 2
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 14}" font-size="10" text-anchor="middle">'
                     f"{escape(categories[i])}</text>")
    parts.append("</svg>")
    return "".join(parts)


def hbars(labels: list[str], values: list[float], *, title: str, maximum: float | None = None,
          percent: bool = False, width: int = 720) -> str:
    """One horizontal bar per label (e.g. pass rate per check)."""
    row, top, label_w, right = 20, 26, 260, 60
    height = top + row * max(len(labels), 1) + 8
    peak = maximum if maximum is not None else max(values + [1])
    plot_w = width - label_w - right
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" class="chart">', f"<title>{escape(title)}</title>",
             f'<text x="0" y="16" font-size="13" font-weight="600">{escape(title)}</text>']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row
        w = plot_w * (value / peak if peak else 0)
        shown = f"{value * 100:.0f}%" if percent else _fmt(value)
        short = label if len(label) <= 40 else label[:39] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" font-size="11" text-anchor="end">{escape(short)}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{COLOURS[0]}">'
                     f"<title>{escape(label)}: {shown}</title></rect>"
                     f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="11">{shown}</text>')
    parts.append("</svg>")
    return "".join(parts)
