"""The coordinators' monthly summary: a short text, a chart and the workbook of the year so far.

Pure: frames in, bytes and text out. The bot sends `text` with Telegram's HTML parse mode
(every name from the data is escaped), `chart_png` with `chart_caption`, and `workbook` as a
document named `workbook_filename`.
"""

from __future__ import annotations

import html
import io
import re
import unicodedata
from dataclasses import dataclass

import pandas as pd

from analysis.charts import distribution_chart, new_figure, shows_anything
from analysis.counting import group_sizes
from analysis.figures import DEFAULT_THRESHOLD, Dataset, ReleaseCheck, Report, build_report
from analysis.formatting import number_text, percent, percent_text
from analysis.periods import (
    Period,
    measurement_year_of,
    month_key,
    month_name,
    parse_month,
    shift_month,
    year_to_date,
)
from analysis.texts import short_name
from analysis.workbook import workbook_bytes

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
MAX_MOVES = 3
MAX_INSATSER_PER_LINE = 6
_PARTICIPANTS = ("deltagare-pagaende", "deltagare-avslut")


@dataclass(frozen=True)
class MonthlySummary:
    """What the bot sends a coordinator for one month."""

    text: str
    chart_png: bytes
    chart_caption: str
    workbook: bytes
    workbook_filename: str


@dataclass(frozen=True)
class Move:
    """How Positivt moved for one indicator in one questionnaire, in percentage points."""

    indicator: int
    enkat: str
    before: int
    now: int

    @property
    def change(self) -> int:
        """Return now − before in percentage points."""
        return self.now - self.before


def build_monthly_summary(
    responses: pd.DataFrame | Dataset,
    answers: pd.DataFrame | None,
    month: str,
    *,
    insats: str | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    guard: ReleaseCheck | None = None,
) -> MonthlySummary:
    """Return the summary of `month` ("YYYY-MM"): its new responses and the year so far.

    The year so far runs from the measurement year's first November through `month`. The
    indicators that moved most are compared with the same months of the year before, or, when
    that year has no figures, with the year so far up to the month before (only for
    questionnaires with at least `threshold` new responses this month, since the difference
    is this month's answers alone). An insats without responses gives a summary that says so.
    `guard`, the release ledger, checks every table the summary shows or compares with against
    what was released before, and collects them (see `analysis.ledger`).
    Pass the two storage frames, or a ready Dataset (and answers=None).
    """
    parse_month(month)
    if isinstance(responses, Dataset):
        data = responses
    elif answers is None:
        raise TypeError("build_monthly_summary needs the answers frame with the responses frame")
    else:
        data = Dataset(responses, answers)
    name = insats
    if insats is not None:
        matches = [i for i in data.insatser if i.casefold() == insats.strip().casefold()]
        name = matches[0] if matches else insats.strip()
    ytd = year_to_date(month)
    report = build_report(
        data, period=ytd, insats=name, threshold=threshold, allow_unknown_insats=True,
        guard=guard,
    )
    moves, basis = _moves(data, report, month, name, threshold, guard)

    text = _text(data, report, month, name, moves, basis)
    chart_png, caption = _chart(report)
    return MonthlySummary(
        text=text,
        chart_png=chart_png,
        chart_caption=caption[:CAPTION_LIMIT],
        workbook=workbook_bytes(report),
        workbook_filename=_filename(ytd, name),
    )


def _e(text: object) -> str:
    return html.escape(str(text), quote=False)


def pooled_positivt(report: Report) -> dict[tuple[int, str], tuple[int, int]]:
    """Return (Positivt count, n) per (indicator, questionnaire), over shown samtliga figures.

    Only scale questions count, and only where samtliga is shown (not hidden, n > 0).
    """
    out: dict[tuple[int, str], tuple[int, int]] = {}
    for q in report.questions():
        fig = q.group("samtliga")
        if q.kind != "scale" or fig.status != "ok" or fig.counts is None:
            continue
        pos, n = out.get((q.indicator, q.enkat), (0, 0))
        out[(q.indicator, q.enkat)] = (pos + fig.counts.positivt, n + fig.counts.n)
    return out


def _moves(
    data: Dataset,
    report: Report,
    month: str,
    insats: str | None,
    threshold: int,
    guard: ReleaseCheck | None,
) -> tuple[list[Move], str]:
    now = pooled_positivt(report)
    y, m = parse_month(report.period.start)
    last_year = Period(month_key(y - 1, m), shift_month(month, -12), "intervall")
    new = data.select([month], insats).responses.groupby("enkat")["n"].sum()
    bases = [(last_year, "samma månader förra mätåret", frozenset(e for _, e in now))]
    if month != report.period.start:
        # The year so far now minus the year so far last month is this month alone: compare
        # only questionnaires with at least `threshold` new responses, or a move would show
        # how a few people answered.
        enough = frozenset(str(e) for e, size in new.items() if size >= threshold)
        bases.append((year_to_date(shift_month(month, -1)), "året hittills förra månaden", enough))
    for period, label, allowed in bases:
        before = pooled_positivt(
            build_report(
                data,
                period=period,
                insats=insats,
                threshold=threshold,
                compare_years=(),
                allow_unknown_insats=True,
                # A move shows the earlier figure: it is released too.
                guard=guard,
            )
        )
        moves = [
            Move(ind, enkat, percent(b[0], b[1]) or 0, percent(c[0], c[1]) or 0)
            for (ind, enkat), c in now.items()
            if enkat in allowed
            and (b := before.get((ind, enkat)))
            and b[1] >= threshold
            and c[1] >= threshold
        ]
        if moves:
            moves.sort(key=lambda mv: (-abs(mv.change), mv.indicator, mv.enkat))
            return [mv for mv in moves if mv.change][:MAX_MOVES], label
    return [], ""


def _short_indicator(report: Report, number: int) -> str:
    text = next(s.text for s in report.indicators if s.number == number).rstrip(".")
    return text if len(text) <= 70 else text[:69].rsplit(" ", 1)[0] + " …"


def _text(
    data: Dataset,
    report: Report,
    month: str,
    insats: str | None,
    moves: list[Move],
    basis: str,
) -> str:
    year = measurement_year_of(month)
    who = "alla insatser" if insats is None else f"insatsen {insats}"
    lines = [f"<b>Månadsrapport för {_e(month_name(month))}</b>", f"Gäller {_e(who)}.", ""]

    new = data.responses[data.responses["month"] == month]
    if insats is not None:
        new = new[new["insats"] == insats]
    lines.append(f"<b>Nya svar i {_e(month_name(month))}</b>")
    if new.empty:
        lines.append("Inga nya svar den här månaden.")
    for info in report.questionnaires:
        mine = new[new["enkat"] == info.id]
        if mine.empty:
            continue
        line = f"{_e(short_name(info.id))}: {number_text(int(mine['n'].sum()))}"
        if insats is None:
            per = mine.groupby("insats")["n"].sum().sort_values(ascending=False)
            parts = [f"{_e(i)} {number_text(int(c))}" for i, c in per.items()]
            if len(parts) > MAX_INSATSER_PER_LINE:
                rest = len(parts) - MAX_INSATSER_PER_LINE
                parts = [*parts[:MAX_INSATSER_PER_LINE], f"{rest} till"]
            line += f" ({', '.join(parts)})"
        lines.append(line)
    lines.append("")

    period_text = f"{month_name(report.period.start, short=True)}–{month_name(month, short=True)}"
    lines.append(f"<b>Mätåret {year} hittills</b> ({_e(period_text)})")
    if report.total_respondents:
        counts = ", ".join(
            f"{_e(short_name(q.id).lower())} {number_text(q.respondents)}"
            for q in report.questionnaires
            if q.respondents
        )
        lines.append(f"{number_text(report.total_respondents)} svar: {counts}.")
        for enkat in _PARTICIPANTS:
            pooled = [v for (_, e), v in pooled_positivt(report).items() if e == enkat]
            pos, n = sum(p for p, _ in pooled), sum(k for _, k in pooled)
            if n:
                lines.append(
                    f"{_e(short_name(enkat))}: {_e(percent_text(percent(pos, n)))} positiva "
                    "svar, alla frågor tillsammans."
                )
    else:
        lines.append("Inga svar ännu under mätåret.")
    lines.append("")

    if moves:
        lines.append(f"<b>Störst förändring</b> (jämfört med {_e(basis)})")
        for mv in moves:
            sign = "+" if mv.change > 0 else "−"
            lines.append(
                f"• Indikator {mv.indicator}, {_e(short_name(mv.enkat).lower())}: positiva "
                f"{_e(percent_text(mv.before))} → {_e(percent_text(mv.now))} "
                f"({sign}{abs(mv.change)} procentenheter). "
                f"<i>{_e(_short_indicator(report, mv.indicator))}</i>"
            )
        lines.append("")

    few = _too_few(data, report, insats)
    if few:
        lines.append("<b>För få svar än</b>")
        lines += few
        lines.append(
            f"Grupper med färre än {report.threshold} svar visas inte, så att ingen kan pekas ut."
        )
        lines.append("")
    lines.append("Diagrammet och arbetsboken med hela mätåret hittills kommer här under.")
    return _fit("\n".join(lines), TEXT_LIMIT)


def _too_few(data: Dataset, report: Report, insats: str | None) -> list[str]:
    out = []
    for info in report.questionnaires:
        if info.respondents and not shows_anything(report, info.id):
            out.append(f"{_e(short_name(info.id))}: {number_text(info.respondents)} svar hittills.")
    if insats is None:
        ytd = data.responses[data.responses["month"].isin(report.period.months())]
        ytd = ytd[ytd["enkat"].isin(_PARTICIPANTS)]
        per = ytd.groupby(["insats", "enkat"])["n"].sum()
        small: dict[str, list[str]] = {}
        for (name, enkat), size in group_sizes(per):
            if size < report.threshold:
                small.setdefault(name, []).append(
                    f"{_e(short_name(enkat).lower())} {number_text(int(size))}"
                )
        if small:
            parts = [f"{_e(name)} ({', '.join(v)})" for name, v in sorted(small.items())]
            shown = parts[:MAX_INSATSER_PER_LINE]
            more = len(parts) - len(shown)
            out.append(
                "Insatser med få deltagarsvar: "
                + ", ".join(shown)
                + (f" och {more} till." if more else ".")
            )
    return out


def _fit(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    # Cut at a line break so no HTML tag is left open.
    cut = text[: limit - 2].rsplit("\n", 1)[0]
    return cut + "\n…"


def _chart(report: Report) -> tuple[bytes, str]:
    who = "Alla insatser" if report.insats is None else f"Insats: {report.insats}"
    candidates = [
        q
        for q in sorted(report.questionnaires, key=lambda q: -q.respondents)
        if shows_anything(report, q.id)
    ]
    preferred = [q for q in candidates if q.id in _PARTICIPANTS] or candidates
    if not preferred:
        return _placeholder(report), (
            f"Mätåret {report.period.measurement_year} hittills ({report.period.label}). {who}. "
            "För få svar för att visa något diagram ännu."
        )
    chosen = preferred[0]
    caption = (
        f"{short_name(chosen.id)}, mätåret {report.period.measurement_year} hittills "
        f"({report.period.label}): negativa, varken eller och positiva svar per fråga. {who}. "
        "Alla enkäter finns i arbetsboken."
    )
    return distribution_chart(report, chosen.id), caption


def _placeholder(report: Report) -> bytes:
    fig = new_figure(8, 2.2)
    fig.text(
        0.5,
        0.62,
        "För få svar för att visa ett diagram ännu",
        ha="center",
        fontsize=15,
        fontweight="bold",
    )
    fig.text(
        0.5,
        0.35,
        f"Mätåret {report.period.measurement_year} hittills, {report.period.label}",
        ha="center",
        fontsize=11,
        color="#555555",
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "insats"


def _filename(ytd: Period, insats: str | None) -> str:
    name = f"indikatorer-{ytd.measurement_year}-hittills-till-{ytd.end}"
    if insats is not None:
        name += f"-{_slug(insats)}"
    return f"{name}.xlsx"
