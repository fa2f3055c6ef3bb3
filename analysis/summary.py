"""The coordinators' monthly summary: a short text, a chart and the workbook of the year so far.

Pure: frames in, bytes and text out. The bot sends `text` with Telegram's HTML parse mode
(every name from the data is escaped), `chart_png` with `chart_caption`, and `workbook` as a
document named `workbook_filename`.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pandas as pd

from analysis import texts as tx
from analysis.charts import distribution_chart, shows_anything
from analysis.counting import group_sizes
from analysis.figures import DEFAULT_THRESHOLD, Dataset, ReleaseCheck, Report, build_report
from analysis.formatting import number_text, percent, percent_text
from analysis.historik import HistoryRow
from analysis.insatser import LinkCounts
from analysis.pdf import pdf_bytes
from analysis.periods import (
    Period,
    measurement_year,
    measurement_year_of,
    month_key,
    month_name,
    parse_month,
    shift_month,
    single_month,
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
    """What the bot sends a coordinator: a text and, when the period has answers, documents.

    With no answers in the period there is no chart, workbook or PDF (all None): the text says
    so. Every document has a caption saying what it is.
    """

    text: str
    chart_png: bytes | None
    chart_caption: str
    workbook: bytes | None
    workbook_filename: str
    workbook_caption: str = ""
    pdf: bytes | None = None
    pdf_filename: str = ""
    pdf_caption: str = ""


@dataclass(frozen=True)
class Move:
    """How Positivt moved for one question (samtliga), in percentage points, with both n."""

    indicator: int
    enkat: str
    number: int
    before: int
    now: int
    n_before: int
    n_now: int

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
    forbund: str | None = None,
    pdf: bool = False,
    links: Sequence[LinkCounts] = (),
    history: Sequence[HistoryRow] = (),
    guard: ReleaseCheck | None = None,
) -> MonthlySummary:
    """Return the summary of `month` ("YYYY-MM"): its new responses and the year so far.

    The year so far runs from the measurement year's first November through `month`. The
    questions that moved most are compared with the same months of the year before, or, when
    that year has no figures, with the year so far up to the month before (only for
    questionnaires with at least `threshold` new responses this month, since the difference
    is this month's answers alone). An insats without responses gives a summary that says so.
    `pdf` adds the year so far as a PDF document.
    """
    parse_month(month)
    data = _dataset(responses, answers)
    name = _insats_name(data, insats)
    ytd = year_to_date(month, so_far=True)
    report = _report(data, ytd, name, threshold, forbund, links, history, guard)
    y, m = parse_month(report.period.start)
    bases: list[Basis] = [
        (
            Period(month_key(y - 1, m), shift_month(month, -12), "intervall"),
            tx.SUMMARY_SAME_MONTHS_LAST_YEAR,
            None,
        )
    ]
    if month != report.period.start:
        # The year so far now minus the year so far last month is this month alone: compare
        # only questionnaires with at least `threshold` new responses, or a move would show
        # how a few people answered.
        new = data.select([month], name).responses.groupby("enkat")["n"].sum()
        enough = frozenset(str(e) for e, size in new.items() if size >= threshold)
        last_month = year_to_date(shift_month(month, -1))
        bases.append((last_month, tx.SUMMARY_YEAR_SO_FAR_LAST_MONTH, enough))
    moves, basis = _moves(data, report, name, threshold, bases, guard)
    heading = tx.SUMMARY_MONTHLY_HEADING.format(month=month_name(month))
    text = _monthly_text(data, report, heading, month, name, moves, basis)
    return _package(report, text, _filename(ytd, name), pdf)


def build_summary(
    responses: pd.DataFrame | Dataset,
    answers: pd.DataFrame | None,
    period: Period,
    *,
    insats: str | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    forbund: str | None = None,
    pdf: bool = True,
    links: Sequence[LinkCounts] = (),
    history: Sequence[HistoryRow] = (),
    guard: ReleaseCheck | None = None,
) -> MonthlySummary:
    """Return the summary of any period (what /rapport sends): its answers and largest changes.

    A month is compared with the month before, a measurement year (or the year so far) with
    the same months of the year before; only questions shown in both periods are compared.
    With no answers in the period the text says so and there are no documents.
    """
    data = _dataset(responses, answers)
    name = _insats_name(data, insats)
    report = _report(data, period, name, threshold, forbund, links, history, guard)
    before, label = compared_with(period)
    moves, basis = _moves(data, report, name, threshold, [(before, label, None)], guard)
    text = _period_text(report, name, moves, basis)
    return _package(report, text, f"indikatorer-{period.slug}{_insats_suffix(name)}", pdf)


def compared_with(period: Period) -> tuple[Period, str]:
    """Return the period a /rapport summary compares with, and how the text names it.

    A month: the month before. A measurement year: the year before. Anything else (the year
    so far): the same months of the year before.
    """
    if period.kind == "manad":
        before = single_month(shift_month(period.start, -1))
        return before, month_name(before.start)
    if period.kind == "ar":
        before = measurement_year(period.measurement_year - 1)
        return before, before.label
    before = Period(shift_month(period.start, -12), shift_month(period.end, -12), "intervall")
    return before, tx.SUMMARY_SAME_MONTHS_LAST_YEAR_OF.format(period=before.label)


def _dataset(responses: pd.DataFrame | Dataset, answers: pd.DataFrame | None) -> Dataset:
    """Return the Dataset passed, or one built from the two storage frames."""
    if isinstance(responses, Dataset):
        return responses
    if answers is None:
        raise TypeError("a summary needs the answers frame with the responses frame")
    return Dataset(responses, answers)


def _insats_name(data: Dataset, insats: str | None) -> str | None:
    if insats is None:
        return None
    matches = [i for i in data.insatser if i.casefold() == insats.strip().casefold()]
    return matches[0] if matches else insats.strip()


def _report(
    data: Dataset,
    period: Period,
    insats: str | None,
    threshold: int,
    forbund: str | None,
    links: Sequence[LinkCounts],
    history: Sequence[HistoryRow],
    guard: ReleaseCheck | None,
) -> Report:
    report = build_report(
        data,
        period=period,
        insats=insats,
        threshold=threshold,
        allow_unknown_insats=True,
        links=links,
        history=history,
        guard=guard,
    )
    return replace(report, forbund=forbund)


def _package(report: Report, text: str, stem: str, pdf: bool) -> MonthlySummary:
    """Return the summary with its documents, or with none when the period has no answers."""
    stem = stem.removesuffix(".xlsx")
    if not report.total_respondents:
        return MonthlySummary(text=text, chart_png=None, chart_caption="", workbook=None,
                              workbook_filename=f"{stem}.xlsx")
    chart_png, caption = _chart(report)
    what = f"{report.period.label}, {tx.summary_who(report.insats)}"
    return MonthlySummary(
        text=text,
        chart_png=chart_png,
        chart_caption=caption[:CAPTION_LIMIT],
        workbook=workbook_bytes(report),
        workbook_filename=f"{stem}.xlsx",
        workbook_caption=tx.SUMMARY_WORKBOOK_CAPTION.format(what=what)[:CAPTION_LIMIT],
        pdf=pdf_bytes(report) if pdf else None,
        pdf_filename=f"{stem}.pdf",
        pdf_caption=tx.SUMMARY_PDF_CAPTION.format(what=what)[:CAPTION_LIMIT],
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


def shown_positivt(report: Report) -> dict[tuple[str, int], tuple[int, int, int]]:
    """Return (indicator, Positivt %, n) per (questionnaire, question number) shown for samtliga.

    Only scale questions, and only where samtliga meets the threshold and is shown.
    """
    out: dict[tuple[str, int], tuple[int, int, int]] = {}
    for q in report.questions():
        fig = q.group("samtliga")
        if q.kind != "scale" or fig.status != "ok" or fig.positivt is None or fig.n is None:
            continue
        out[(q.enkat, q.number)] = (q.indicator, fig.positivt, fig.n)
    return out


Basis = tuple[Period, str, "frozenset[str] | None"]


def _moves(
    data: Dataset,
    report: Report,
    insats: str | None,
    threshold: int,
    bases: list[Basis],
    guard: ReleaseCheck | None,
) -> tuple[list[Move], str]:
    """Return the questions that moved most against the first basis with anything to compare.

    A question is compared only where its samtliga figure is shown in both periods, so both
    meet the threshold; `allowed` (None: all) limits the questionnaires.
    """
    now = shown_positivt(report)
    for period, label, allowed in bases:
        before = shown_positivt(
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
            Move(ind, enkat, number, b[1], c[1], b[2], c[2])
            for (enkat, number), c in now.items()
            for ind in (c[0],)
            if (allowed is None or enkat in allowed)
            and (b := before.get((enkat, number))) is not None
        ]
        if moves:
            moves.sort(key=lambda mv: (-abs(mv.change), mv.indicator, mv.enkat, mv.number))
            return [mv for mv in moves if mv.change][:MAX_MOVES], label
    return [], ""


def _short_indicator(report: Report, number: int) -> str:
    text = next(s.text for s in report.indicators if s.number == number).rstrip(".")
    return text if len(text) <= 70 else text[:69].rsplit(" ", 1)[0] + " …"


def _move_lines(report: Report, moves: list[Move], basis: str) -> list[str]:
    if not moves:
        return []
    lines = [tx.SUMMARY_MOVES_HEADING.format(basis=_e(basis))]
    for mv in moves:
        lines.append(
            tx.SUMMARY_MOVE.format(
                indicator=mv.indicator,
                enkat=_e(short_name(mv.enkat).lower()),
                number=mv.number,
                before=_e(percent_text(mv.before)),
                now=_e(percent_text(mv.now)),
                n_before=mv.n_before,
                n_now=mv.n_now,
                sign="+" if mv.change > 0 else "−",
                change=abs(mv.change),
                indicator_text=_e(_short_indicator(report, mv.indicator)),
            )
        )
    return [*lines, ""]


def _header(report: Report, heading: str, insats: str | None) -> list[str]:
    lines = [f"<b>{_e(heading)}</b>"]
    if report.forbund:
        lines.append(_e(report.forbund))
    return [*lines, tx.SUMMARY_APPLIES_TO.format(who=_e(tx.summary_who(insats))), ""]


def _new_lines(
    data: Dataset, report: Report, months: list[str], insats: str | None
) -> list[str]:
    new = data.responses[data.responses["month"].isin(months)]
    if insats is not None:
        new = new[new["insats"] == insats]
    lines = []
    for info in report.questionnaires:
        mine = new[new["enkat"] == info.id]
        if mine.empty:
            continue
        line = tx.SUMMARY_COUNT.format(
            enkat=_e(short_name(info.id)), n=number_text(int(mine["n"].sum()))
        )
        if insats is None:
            per = mine.groupby("insats")["n"].sum().sort_values(ascending=False)
            parts = [f"{_e(i)} {number_text(int(c))}" for i, c in per.items()]
            if len(parts) > MAX_INSATSER_PER_LINE:
                rest = len(parts) - MAX_INSATSER_PER_LINE
                more = tx.SUMMARY_MORE_INSATSER.format(rest=rest)
                parts = [*parts[:MAX_INSATSER_PER_LINE], more]
            line += f" ({', '.join(parts)})"
        lines.append(line)
    return lines


def _positive_lines(report: Report) -> list[str]:
    lines = []
    for enkat in _PARTICIPANTS:
        pooled = [v for (_, e), v in pooled_positivt(report).items() if e == enkat]
        pos, n = sum(p for p, _ in pooled), sum(k for _, k in pooled)
        if n:
            lines.append(
                tx.SUMMARY_POSITIVE.format(
                    enkat=_e(short_name(enkat)), percent=_e(percent_text(percent(pos, n)))
                )
            )
    return lines


def _monthly_text(
    data: Dataset,
    report: Report,
    heading: str,
    month: str,
    insats: str | None,
    moves: list[Move],
    basis: str,
) -> str:
    year = measurement_year_of(month)
    lines = _header(report, heading, insats)
    if not report.total_respondents:
        lines.append(_no_answers(report))
        return _fit("\n".join(lines), TEXT_LIMIT)
    lines.append(tx.SUMMARY_NEW_HEADING.format(month=_e(month_name(month))))
    new = _new_lines(data, report, [month], insats)
    lines += new or [tx.SUMMARY_NO_NEW]
    lines.append("")

    period_text = f"{month_name(report.period.start, short=True)}–{month_name(month, short=True)}"
    lines.append(tx.SUMMARY_YEAR_SO_FAR_HEADING.format(year=year, months=_e(period_text)))
    counts = ", ".join(
        f"{_e(short_name(q.id).lower())} {number_text(q.respondents)}"
        for q in report.questionnaires
        if q.respondents
    )
    total = number_text(report.total_respondents)
    lines.append(tx.SUMMARY_TOTAL.format(total=total, counts=counts))
    lines += _positive_lines(report)
    lines.append("")
    lines += _move_lines(report, moves, basis)
    lines += _few_lines(data, report, insats)
    lines.append(tx.SUMMARY_MONTHLY_DOCUMENTS)
    return _fit("\n".join(lines), TEXT_LIMIT)


def _period_text(report: Report, insats: str | None, moves: list[Move], basis: str) -> str:
    label = report.period.label
    lines = _header(report, tx.SUMMARY_PERIOD_HEADING.format(period=label), insats)
    if not report.total_respondents:
        lines.append(_no_answers(report))
        return _fit("\n".join(lines), TEXT_LIMIT)
    lines.append(tx.SUMMARY_ANSWERS_HEADING)
    data_lines = [
        tx.SUMMARY_COUNT.format(enkat=_e(short_name(q.id)), n=number_text(q.respondents))
        + (tx.SUMMARY_COUNT_PARTIAL.format(partial=number_text(q.partial)) if q.partial else "")
        for q in report.questionnaires
        if q.respondents
    ]
    lines += data_lines
    lines += _positive_lines(report)
    lines.append("")
    lines += _move_lines(report, moves, basis)
    few = [
        tx.SUMMARY_TOO_FEW.format(enkat=_e(short_name(info.id)), n=number_text(info.respondents))
        for info in report.questionnaires
        if info.respondents and not shows_anything(report, info.id)
    ]
    if few:
        lines += [tx.SUMMARY_TOO_FEW_HEADING, *few]
        lines.append(tx.SUMMARY_SMALL_GROUPS.format(threshold=report.threshold))
        lines.append("")
    lines.append(tx.SUMMARY_PERIOD_DOCUMENTS)
    return _fit("\n".join(lines), TEXT_LIMIT)


def _no_answers(report: Report) -> str:
    """Return the one sentence a summary of a period without answers consists of."""
    return tx.SUMMARY_NO_ANSWERS.format(period=_e(report.period.label))


def _few_lines(data: Dataset, report: Report, insats: str | None) -> list[str]:
    few = _too_few(data, report, insats)
    if not few:
        return []
    return [
        tx.SUMMARY_TOO_FEW_YET_HEADING,
        *few,
        tx.SUMMARY_SMALL_GROUPS.format(threshold=report.threshold),
        "",
    ]


def _too_few(data: Dataset, report: Report, insats: str | None) -> list[str]:
    out = []
    for info in report.questionnaires:
        if info.respondents and not shows_anything(report, info.id):
            out.append(
                tx.SUMMARY_TOO_FEW_YET.format(
                    enkat=_e(short_name(info.id)), n=number_text(info.respondents)
                )
            )
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
                (tx.SUMMARY_FEW_PARTICIPANTS_MORE if more else tx.SUMMARY_FEW_PARTICIPANTS)
                .format(insatser=", ".join(shown), more=more)
            )
    return out


def _fit(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    # Cut at a line break so no HTML tag is left open.
    cut = text[: limit - 2].rsplit("\n", 1)[0]
    return cut + "\n…"


def _chart(report: Report) -> tuple[bytes | None, str]:
    """Return the chart of the questionnaire with most answers, or None when nothing is shown."""
    candidates = [
        q
        for q in sorted(report.questionnaires, key=lambda q: -q.respondents)
        if shows_anything(report, q.id)
    ]
    preferred = [q for q in candidates if q.id in _PARTICIPANTS] or candidates
    if not preferred:
        return None, ""
    chosen = preferred[0]
    caption = tx.SUMMARY_CHART_CAPTION.format(
        enkat=short_name(chosen.id),
        period=report.period.label,
        who=tx.summary_who(report.insats, first=True),
    )
    return distribution_chart(report, chosen.id), caption


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "insats"


def _insats_suffix(insats: str | None) -> str:
    return "" if insats is None else f"-{_slug(insats)}"


def _filename(ytd: Period, insats: str | None) -> str:
    return f"indikatorer-{ytd.measurement_year}-hittills-till-{ytd.end}{_insats_suffix(insats)}"
