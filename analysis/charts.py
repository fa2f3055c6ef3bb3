"""Charts like the published reports', drawn with matplotlib's Agg backend into PNG bytes.

Two kinds per questionnaire: the answers per question as stacked horizontal bars (Negativt,
Varken eller, Positivt; Ja and Nej for yes/no questions), a bar per group with n in its label;
and Positivt per question across measurement years. Colours are from the Okabe–Ito palette,
which stays distinguishable with the common kinds of colour blindness; every segment also
carries its percentage, so no reader depends on colour alone. Hidden and empty groups are said
in words where their bar would be.
"""

from __future__ import annotations

import gc
import io
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from matplotlib import transforms
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from analysis.figures import GROUP_LABELS, GroupFigures, Report
from analysis.formatting import percent_text
from analysis.texts import (
    BAND_HEADINGS,
    CHART_POSITIVT_LEGEND,
    FOR_FA_SVAR,
    INGA_SVAR,
    JAMFORELSE_SAKNAS,
    insats_label,
    short_name,
)

COLOURS = {
    "negativt": "#D55E00",
    "varken_eller": "#C8C8C8",
    "positivt": "#0072B2",
    "ja": "#009E73",
    "nej": "#E69F00",
}
TEXT_ON = {
    "negativt": "white",
    "varken_eller": "black",
    "positivt": "white",
    "ja": "white",
    "nej": "black",
}
YEAR_COLOURS: dict[int, tuple[str, ...]] = {
    1: ("#08519C",),
    2: ("#9ECAE1", "#08519C"),
    3: ("#C6DBEF", "#6BAED6", "#08519C"),
    4: ("#DEEBF7", "#9ECAE1", "#4292C6", "#08306B"),
}
"""Light to dark blue by number of years shown: the period itself is darkest."""
_DARK = {"#08519C", "#08306B", "#4292C6"}
MUTED = "#555555"
WIDTH_IN = 10.0
DPI = 110
WRAP = 95


@dataclass(frozen=True)
class Chart:
    """One drawn chart: a file name, a title and alt text for documents, and the PNG bytes."""

    filename: str
    title: str
    alt: str
    png: bytes


def new_figure(width: float, height: float) -> Figure:
    """Return a Figure drawn by Agg, without pyplot.

    pyplot keeps global state and is not thread-safe; the bot may build summaries while it
    serves other requests.
    """
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _label(fig: GroupFigures) -> str:
    name = GROUP_LABELS[fig.group]
    return name if fig.undertryckt else f"{name} (n={fig.n})"


def _message(fig: GroupFigures) -> str | None:
    if fig.undertryckt:
        return FOR_FA_SVAR
    if fig.status == "inga_svar":
        return INGA_SVAR
    return None


@dataclass
class _Layout:
    """Rows from top to bottom: question headings (text) and bars, with their y positions."""

    y: float = 0.0
    headings: list[tuple[float, str]] = field(default_factory=list)
    bars: list[tuple[float, str]] = field(default_factory=list)

    def heading(self, text: str) -> None:
        lines = textwrap.wrap(text, WRAP)
        self.y -= 0.35
        self.headings.append((self.y, "\n".join(lines)))
        self.y -= 0.55 * len(lines) + 0.15

    def bar(self, label: str) -> float:
        self.y -= 0.5
        pos = self.y
        self.bars.append((pos, label))
        self.y -= 0.5
        return pos


def _frame(rows: float, title: str, subtitle: str, handles: Sequence[Patch]) -> tuple[Figure, Axes]:
    header = 1.35
    height = header + 0.45 + 0.3 * rows
    fig = new_figure(WIDTH_IN, height)
    top = 1 - header / height
    bottom = 0.45 / height
    ax = fig.add_axes((0.2, bottom, 0.77, top - bottom))
    fig.text(0.02, 1 - 0.25 / height, title, fontsize=14, fontweight="bold", va="top")
    fig.text(0.02, 1 - 0.58 / height, subtitle, fontsize=10, color=MUTED, va="top")
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.015, 1 - 0.82 / height),
        ncol=len(handles),
        fontsize=9,
        frameon=False,
        handlelength=1.4,
        columnspacing=1.6,
    )
    return fig, ax


def _finish_axes(ax: Axes, layout: _Layout, fig: Figure) -> None:
    ax.set_xlim(0, 100)
    ax.set_ylim(layout.y, 0)
    ax.set_yticks([y for y, _ in layout.bars], [lab for _, lab in layout.bars], fontsize=9)
    ax.tick_params(axis="y", length=0)
    ticks = [0, 25, 50, 75, 100]
    ax.set_xticks(ticks, [percent_text(t) for t in ticks], fontsize=8, color=MUTED)
    ax.grid(axis="x", color="#E5E5E5", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#BBBBBB")
    # Question headings start at the figure's left edge, above their bars.
    blend = transforms.blended_transform_factory(fig.transFigure, ax.transData)
    for y, text in layout.headings:
        ax.text(0.02, y, text, transform=blend, fontsize=10, fontweight="bold", va="top")


def _segments(ax: Axes, y: float, fig: GroupFigures) -> None:
    parts: list[tuple[str, int | None, int | None]]
    if fig.kind == "yes_no":
        parts = [("ja", fig.ja, None), ("nej", fig.nej, None)]
    else:
        parts = [
            ("negativt", fig.negativt, None),
            ("varken_eller", fig.varken_eller, None),
            ("positivt", fig.positivt, fig.klart_positivt),
        ]
    left = 0.0
    for band, shown, klart in parts:
        # Widths use the exact shares so every bar ends at 100; labels use the rounded
        # figures the tables print.
        width = 100 * fig.share(band)
        if width <= 0:
            continue
        ax.barh(
            y,
            width,
            left=left,
            height=0.72,
            color=COLOURS[band],
            edgecolor="white",
            linewidth=0.6,
        )
        text = percent_text(shown)
        if fig.kind == "yes_no" and width >= 12:
            text = f"{'Ja' if band == 'ja' else 'Nej'} {text}"
        if klart is not None and width >= 24:
            text = f"{text} ({percent_text(klart)})"
        # Below about 4 % a label no longer fits inside its segment; the tables have it.
        if width >= 4:
            ax.text(
                left + width / 2,
                y,
                text,
                ha="center",
                va="center_baseline",
                fontsize=8.5 if width >= 7 else 7,
                color=TEXT_ON[band],
                fontweight="bold",
            )
        left += width


def _note(ax: Axes, y: float, message: str) -> None:
    ax.text(1, y, message, va="center_baseline", fontsize=9, color=MUTED, style="italic")


def shows_anything(report: Report, enkat: str) -> bool:
    """Return True when at least one group of one question of the questionnaire has figures."""
    return any(g.status == "ok" for q in report.questions(enkat) for g in q.groups)


def has_earlier_figures(report: Report, enkat: str) -> bool:
    """Return True when some question of the questionnaire has a shown figure in an earlier year."""
    return any(y.status == "ok" for q in report.questions(enkat) for y in q.earlier())


def _subtitle(report: Report, extra: str) -> str:
    label = report.period.label
    parts = [f"{label[:1].upper()}{label[1:]}", insats_label(report), extra]
    return " · ".join([report.forbund, *parts] if report.forbund else parts)


def distribution_chart(report: Report, enkat: str) -> bytes:
    """Return a PNG: each question's answers as stacked bars, one bar per group."""
    questions = report.questions_in_questionnaire_order(enkat)
    layout = _Layout()
    placed: list[tuple[float, GroupFigures]] = []
    for q in questions:
        layout.heading(f"{q.number}. {q.text}")
        for g in q.groups:
            placed.append((layout.bar(_label(g)), g))
    handles: list[Patch] = []
    if any(q.kind == "scale" for q in questions):
        handles += [
            Patch(color=COLOURS["negativt"], label=BAND_HEADINGS["negativt"]),
            Patch(color=COLOURS["varken_eller"], label=BAND_HEADINGS["varken_eller"]),
            Patch(color=COLOURS["positivt"], label=CHART_POSITIVT_LEGEND),
        ]
    if any(q.kind == "yes_no" for q in questions):
        handles += [
            Patch(color=COLOURS["ja"], label=BAND_HEADINGS["ja"]),
            Patch(color=COLOURS["nej"], label=BAND_HEADINGS["nej"]),
        ]
    fig, ax = _frame(
        -layout.y,
        f"{short_name(enkat)}: svaren fråga för fråga",
        _subtitle(report, f"{report.info(enkat).respondents} svar"),
        handles,
    )
    for y, g in placed:
        message = _message(g)
        if message:
            _note(ax, y, message)
        else:
            _segments(ax, y, g)
    _finish_axes(ax, layout, fig)
    return _png(fig)


def comparison_chart(report: Report, enkat: str) -> bytes | None:
    """Return a PNG of Positivt (Ja) per question for samtliga across years, or None.

    None when the report has no earlier years to compare with.
    """
    if not report.comparison_years:
        return None
    questions = report.questions_in_questionnaire_order(enkat)
    labels = [*map(str, report.comparison_years), report.period.short_label]
    colours = YEAR_COLOURS[len(labels)]
    layout = _Layout()
    placed: list[tuple[float, int, int | None, str | None]] = []
    for q in questions:
        layout.heading(f"{q.number}. {q.text}" + (" (andel Ja)" if q.kind == "yes_no" else ""))
        earlier = {y.year: y for y in q.earlier("samtliga")}
        current = q.group("samtliga")
        for i, label in enumerate(labels):
            if i < len(report.comparison_years):
                yf = earlier[report.comparison_years[i]]
                value, n = (yf.value, yf.n) if yf.status == "ok" else (None, None)
                message = _YEAR_MESSAGES.get(yf.status)
            else:
                value, n, message = current.main_value, current.n, _message(current)
            shown = label if message or n is None else f"{label} (n={n})"
            placed.append((layout.bar(shown), i, value, message))
    fig, ax = _frame(
        -layout.y,
        f"{short_name(enkat)}: Positivt per fråga och år",
        f"Samtliga · {insats_label(report)} · mätåren går 1 nov–31 okt",
        [Patch(color=colours[i], label=label) for i, label in enumerate(labels)],
    )
    for y, i, value, message in placed:
        if message or value is None:
            _note(ax, y, message or INGA_SVAR)
            continue
        ax.barh(y, value, height=0.72, color=colours[i])
        inside = value >= 12
        ax.text(
            value - 1 if inside else value + 1,
            y,
            percent_text(value),
            ha="right" if inside else "left",
            va="center_baseline",
            fontsize=8.5,
            color="white" if inside and colours[i] in _DARK else "black",
            fontweight="bold",
        )
    _finish_axes(ax, layout, fig)
    return _png(fig)


_YEAR_MESSAGES = {
    "jamforelse_saknas": JAMFORELSE_SAKNAS.capitalize(),
    "undertryckt": FOR_FA_SVAR,
    "inga_svar": INGA_SVAR,
}


def report_charts(
    report: Report,
    progress: Callable[[int, int], None] | None = None,
    *,
    enkater: Sequence[str] | None = None,
) -> list[Chart]:
    """Return the report's charts: answers, and years if any, per questionnaire with figures.

    A questionnaire whose every figure is hidden or empty gets no chart, and none across years
    when no earlier year has a figure to show: the tables say so.

    `progress(done, total)` is called before each chart is drawn.
    """
    used = [
        q.id
        for q in report.questionnaires
        if shows_anything(report, q.id) and (enkater is None or q.id in enkater)
    ]
    plan: list[tuple[str, str]] = []
    for enkat in used:
        plan.append((enkat, "fordelning"))
        if has_earlier_figures(report, enkat):
            plan.append((enkat, "jamforelse"))
    # A drawn figure is a web of reference cycles (every text keeps the renderer, and with it
    # the pixel buffer: 10–15 MiB for a tall chart) that only the cycle collector frees, so
    # the charts of a report piled up (+60 MiB for eight). Each chart's garbage is collected
    # once it is drawn; frozen first, the objects that were there before are not walked each
    # time (a full collection over pandas and matplotlib takes ~45 ms, this one ~4 ms).
    gc.freeze()
    try:
        return _draw(report, plan, progress)
    finally:
        gc.unfreeze()


def _draw(
    report: Report, plan: Sequence[tuple[str, str]], progress: Callable[[int, int], None] | None
) -> list[Chart]:
    charts: list[Chart] = []
    for i, (enkat, kind) in enumerate(plan, 1):
        if progress:
            progress(i, len(plan))
        name = short_name(enkat)
        if kind == "fordelning":
            png = distribution_chart(report, enkat)
            charts.append(
                Chart(
                    f"{enkat}-fordelning.png",
                    f"{name}: svaren fråga för fråga",
                    f"Staplar med andelen negativa, neutrala och positiva svar per fråga, {name}.",
                    png,
                )
            )
        else:
            compared = comparison_chart(report, enkat)
            assert compared is not None  # planned only when has_earlier_figures
            charts.append(
                Chart(
                    f"{enkat}-jamforelse.png",
                    f"{name}: Positivt per fråga och år",
                    f"Staplar med andelen positiva svar per fråga och mätår, {name}.",
                    compared,
                )
            )
        gc.collect()
    return charts
