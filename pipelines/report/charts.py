"""Report charts drawn with matplotlib (Agg): inline SVG for the web page, PNG parts for email.

A chart is described by data (`Chart`) in the report context; drawing happens only when a
variant is rendered, so both variants show the same numbers. Output is deterministic (no dates
in metadata, fixed SVG ids), so rendering a day twice gives identical bytes.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend is chosen first
from markupsafe import Markup, escape  # noqa: E402

INK, ACCENT, BAND, GOOD, BAD = "#102a43", "#1d4ed8", "#bfd3f5", "#1b7340", "#b42318"
DPI = 100
matplotlib.rcParams.update({
    "svg.hashsalt": "cx-report", "svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 9,
    "axes.edgecolor": "#7b8794", "axes.labelcolor": INK, "xtick.color": INK, "ytick.color": INK,
})


@dataclass(frozen=True)
class Chart:
    """A chart as data: `kind` is spark (one line), trend (line with interval band) or bars."""

    name: str
    kind: str
    alt: str
    width: int
    height: int
    labels: tuple[str, ...] = ()
    values: tuple[float, ...] = ()
    lows: tuple[float | None, ...] = field(default_factory=tuple)
    highs: tuple[float | None, ...] = field(default_factory=tuple)
    title: str = ""


def _figure(chart: Chart):
    fig = plt.figure(figsize=(chart.width / DPI, chart.height / DPI), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1)) if chart.kind == "spark" else fig.add_subplot()
    xs = list(range(len(chart.values)))
    if chart.kind == "spark":
        ax.plot(xs, chart.values, color=ACCENT, linewidth=1.5)
        ax.set_axis_off()
    elif chart.kind == "trend":
        band = [(x, lo, hi) for x, lo, hi in zip(xs, chart.lows, chart.highs, strict=True)
                if lo is not None and hi is not None]
        if band:
            ax.fill_between([b[0] for b in band], [b[1] for b in band], [b[2] for b in band], color=BAND,
                            linewidth=0, label="95% interval")
        ax.plot(xs, chart.values, color=ACCENT, linewidth=2, marker="o", markersize=2.5, label="7-day value")
        ticks = xs[:: max(1, len(xs) // 4)]
        ax.set_xticks(ticks, [chart.labels[i] for i in ticks])
        ax.legend(loc="upper left", frameon=False, fontsize=8)
    else:
        colors = [GOOD if v >= 0 else BAD for v in chart.values]
        ax.barh(xs, chart.values, color=colors)
        ax.set_yticks(xs, chart.labels)
        ax.axvline(0, color="#52606d", linewidth=0.8)
        ax.invert_yaxis()
    if chart.title:
        ax.set_title(chart.title, loc="left", color=INK, fontsize=10)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if chart.kind != "spark":
        fig.tight_layout()
    return fig


@lru_cache(maxsize=128)  # the same chart goes to every recipient of a cut
def to_svg(chart: Chart) -> Markup:
    """The chart as an inline <svg> element with role="img" and the alt text as its label."""
    fig = _figure(chart)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, transparent=True)
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML declaration and DOCTYPE: this is inline markup
    label = str(escape(chart.alt))
    svg = re.sub(r"<svg ", f'<svg role="img" aria-label="{label}" class="chart" ', svg, count=1)
    return Markup(svg)  # noqa: S704 - matplotlib escapes its text; the label is escaped above


@lru_cache(maxsize=128)
def to_png(chart: Chart) -> bytes:
    """The chart as PNG bytes (white background, for email clients without transparency)."""
    fig = _figure(chart)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None}, facecolor="white")
    plt.close(fig)
    return buf.getvalue()
