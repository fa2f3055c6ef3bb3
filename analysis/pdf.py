"""The report as the PDF a board receives: A4, page numbers, embedded fonts, searchable text.

It opens like the published reports (title, the förbund, the period, Inledning, a Metod
section generated from the data, the coordinator's own Sammanfattning), then goes indicator by
indicator in indicator order: under each indicator every respondent group's questions with
their exact texts, each question's table with its bars beside it, a bar per group on the same
line as the group's row. Indicator 11 is said to be a register study. Then the free-text
answers and what the figures mean.

Drawn with fpdf2 (pure Python, pinned in the lock file) in DejaVu Sans, the TrueType font that
ships inside matplotlib, so a fresh machine needs nothing more. A question's heading, table and
bars are one block that never splits across pages, and an indicator's heading stays with its
first question.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import matplotlib
from fpdf import FPDF

from analysis.charts import COLOURS, TEXT_ON
from analysis.figures import GROUP_LABELS, GroupFigures, QuestionFigures, Report, YearFigure
from analysis.formatting import number_text, percent_text
from analysis.insatser import InsatsRow
from analysis.texts import (
    BAND_HEADINGS,
    COL_GRUPP,
    COL_N,
    COL_SVARSFREKVENS,
    COL_TILLFRAGADE,
    FOR_FA_SVAR,
    INGA_SVAR,
    INSATS_COLUMNS,
    INTRODUCTION,
    JAMFORELSE_SAKNAS,
    LEGEND_BANDS,
    REGISTERSTUDIE,
    about,
    band_columns,
    document_title,
    insats_label,
    main_band,
    method,
    period_line,
    question_heading,
    short_name,
    year_heading,
)

FONT = "DejaVu"
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
MARGIN = 16.0
BOTTOM = 16.0
ROW_H = 5.0
HEAD_H = 7.0
LINE_H = 4.2
GAP = 3.0
HEADER_SIZE = 6.0
_MUTED = (85, 85, 85)
_RULE = (190, 190, 190)
_HEADER_FILL = (238, 238, 238)

# fontTools logs every subsetting step at INFO; a bot log should not fill with that.
logging.getLogger("fontTools").setLevel(logging.WARNING)

_YEAR_TEXT = {
    "inga_svar": INGA_SVAR.lower(),
    "undertryckt": "för få svar",
    "jamforelse_saknas": JAMFORELSE_SAKNAS,
}


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


class _Pdf(FPDF):
    """FPDF with the report's footer: the förbund, the title and "Sida N av M"."""

    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        for style, name in FONT_FILES.items():
            self.add_font(FONT, style, str(FONT_DIR / name))
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, BOTTOM)
        self.alias_nb_pages()

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(*_MUTED)
        self.cell(0, 4, self.footer_text, align="L")
        self.set_x(MARGIN)
        self.cell(0, 4, f"Sida {self.page_no()} av {{nb}}", align="R")
        self.set_text_color(0, 0, 0)

    @property
    def width(self) -> float:
        return self.w - 2 * MARGIN

    def room(self) -> float:
        """Return the height left on this page above the bottom margin."""
        return self.page_break_trigger - self.get_y()

    def keep(self, height: float) -> None:
        """Start a new page unless `height` still fits on this one."""
        if height > self.room() and self.get_y() > self.t_margin + 1:
            self.add_page()

    def lines(self, text: str, width: float, size: float, style: str = "") -> int:
        self.set_font(FONT, style, size)
        return self.count_lines(width, LINE_H, text)

    def count_lines(self, width: float, height: float, text: str) -> int:
        """Return how many lines `text` takes in a cell `width` wide, in the current font."""
        lines = self.multi_cell(width, height, text, dry_run=True, output="LINES")
        return len(cast(list[str], lines))

    def paragraph(self, text: str, size: float = 9.5, style: str = "", markdown: bool = False,
                  colour: tuple[int, int, int] = (0, 0, 0)) -> None:
        self.set_font(FONT, style, size)
        self.set_text_color(*colour)
        self.multi_cell(0, LINE_H + 0.4, text, markdown=markdown, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)
        self.ln(1.5)

    def heading(self, text: str, size: float = 14, keep: float = 0.0) -> None:
        self.keep(size * 0.6 + 4 + keep)
        self.set_font(FONT, "B", size)
        self.multi_cell(0, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)


# --- question blocks ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    header: str
    width: float


def _columns(report: Report, q: QuestionFigures) -> list[_Column]:
    main = main_band(q.kind)
    widths = (12, 12) if q.kind == "yes_no" else (12.5, 12.5, 12.5, 13)
    bands = [_Column(label, w) for label, w in zip(band_columns(q.kind), widths, strict=True)]
    return [
        _Column(COL_GRUPP, 16),
        _Column(COL_TILLFRAGADE, 15.5),
        _Column(COL_N, 8),
        *bands,
        _Column(COL_SVARSFREKVENS, 17.5),
        *(_Column(year_heading(main, y, [q]), 12) for y in report.comparison_years),
    ]


def _cells(report: Report, q: QuestionFigures, fig: GroupFigures) -> list[tuple[str, int, bool]]:
    """Return (text, columns spanned, is a note) for one group's row."""
    n_bands = 2 if q.kind == "yes_no" else 4
    out: list[tuple[str, int, bool]] = [(GROUP_LABELS[fig.group], 1, False)]
    if fig.undertryckt:
        out.append((FOR_FA_SVAR, n_bands + 3, True))
    else:
        out += [(str(fig.tillfragade), 1, False), (str(fig.n), 1, False)]
        if fig.status == "inga_svar":
            out.append((INGA_SVAR, n_bands, True))
        elif q.kind == "yes_no":
            out += [(percent_text(fig.ja), 1, False), (percent_text(fig.nej), 1, False)]
        else:
            out += [
                (percent_text(fig.negativt), 1, False),
                (percent_text(fig.varken_eller), 1, False),
                (percent_text(fig.positivt), 1, False),
                (f"({percent_text(fig.klart_positivt)})", 1, False),
            ]
        out.append((percent_text(fig.svarsfrekvens), 1, False))
    earlier = {y.year: y for y in q.earlier(fig.group)}
    for year in report.comparison_years:
        out.append(_year_text(earlier.get(year)))
    return out


def _year_text(year: YearFigure | None) -> tuple[str, int, bool]:
    if year is None:
        return ("", 1, False)
    if year.status == "ok":
        return (percent_text(year.value), 1, False)
    return (_YEAR_TEXT[year.status], 1, True)


def _question_block(pdf: _Pdf, report: Report, q: QuestionFigures, keep_extra: float) -> None:
    heading = question_heading(q)
    head_lines = pdf.lines(heading, pdf.width, 9, "B")
    columns = _fit_columns(pdf, _columns(report, q))
    height = head_lines * LINE_H + 1 + _header_height(pdf, columns) + ROW_H * len(q.groups) + GAP
    pdf.keep(height + keep_extra)
    pdf.set_font(FONT, "B", 9)
    pdf.multi_cell(0, LINE_H, heading, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    x0, y0 = pdf.l_margin, pdf.get_y()
    table_w = sum(c.width for c in columns)
    head_h = _header_height(pdf, columns)
    pdf.set_fill_color(*_HEADER_FILL)
    pdf.rect(x0, y0, table_w, head_h, style="F")
    pdf.set_font(FONT, "B", HEADER_SIZE)
    x = x0
    for col in columns:
        lines = pdf.count_lines(col.width, 3, col.header)
        pdf.set_xy(x, y0 + (head_h - 3 * lines) / 2)
        pdf.multi_cell(col.width, 3, col.header, align="L" if x == x0 else "R")
        x += col.width
    y = y0 + head_h
    chart_x = x0 + table_w + 4
    chart_w = pdf.l_margin + pdf.width - chart_x
    for fig in q.groups:
        x = x0
        pdf.set_draw_color(*_RULE)
        pdf.line(x0, y, x0 + table_w, y)
        widths = [c.width for c in columns]
        i = 0
        for text, span, note in _cells(report, q, fig):
            w = sum(widths[i : i + span])
            pdf.set_xy(x, y)
            _fit_font(pdf, text, w - 1, "I" if note else "", 7.5)
            pdf.set_text_color(*(_MUTED if note else (0, 0, 0)))
            align = "L" if i == 0 or (note and span > 1) else "R"
            pdf.cell(w, ROW_H, text, align=align)
            x += w
            i += span
        pdf.set_text_color(0, 0, 0)
        _bar(pdf, chart_x, y + 0.6, chart_w, ROW_H - 1.2, fig)
        y += ROW_H
    pdf.line(x0, y, x0 + table_w, y)
    pdf.set_xy(pdf.l_margin, y + GAP)


def _header_height(pdf: _Pdf, columns: Sequence[_Column]) -> float:
    """Return the height of a table's header row: its most wrapped header, at least HEAD_H."""
    pdf.set_font(FONT, "B", HEADER_SIZE)
    most = max(
        pdf.count_lines(c.width, 3, c.header) for c in columns
    )
    return max(HEAD_H, 3 * most + 1)


def _fit_font(pdf: _Pdf, text: str, width: float, style: str, size: float) -> None:
    """Set the largest font size up to `size` (at least 5 pt) at which `text` fits `width`."""
    pdf.set_font(FONT, style, size)
    while size > 5 and pdf.get_string_width(text) > width:
        size -= 0.5
        pdf.set_font(FONT, style, size)


def _fit_columns(pdf: _Pdf, columns: list[_Column]) -> list[_Column]:
    """Widen a column whose longest header word would otherwise break inside the word."""
    pdf.set_font(FONT, "B", HEADER_SIZE)
    return [
        _Column(c.header, max(c.width, max(pdf.get_string_width(w) for w in c.header.split()) + 2))
        for c in columns
    ]


def _bar(pdf: _Pdf, x: float, y: float, width: float, height: float, fig: GroupFigures) -> None:
    """Draw one group's answers as a stacked bar (exact shares), labelled with the table's %."""
    if fig.status != "ok":
        return
    if fig.kind == "yes_no":
        parts = [("ja", fig.ja), ("nej", fig.nej)]
    else:
        parts = [
            ("negativt", fig.negativt),
            ("varken_eller", fig.varken_eller),
            ("positivt", fig.positivt),
        ]
    left = x
    pdf.set_font(FONT, "B", 6)
    for band, shown in parts:
        w = width * fig.share(band)
        if w <= 0:
            continue
        pdf.set_fill_color(*_rgb(COLOURS[band]))
        pdf.rect(left, y, w, height, style="F")
        label = percent_text(shown)
        if pdf.get_string_width(label) + 1 <= w:
            pdf.set_text_color(*_rgb("#000000" if TEXT_ON[band] == "black" else "#FFFFFF"))
            pdf.set_xy(left, y)
            pdf.cell(w, height, label, align="C")
        left += w
    pdf.set_text_color(0, 0, 0)


def _legend(pdf: _Pdf, report: Report) -> None:
    pdf.set_font(FONT, "", 7.5)
    x, y = pdf.l_margin, pdf.get_y()
    items = [(band, BAND_HEADINGS[band]) for band in LEGEND_BANDS]
    for band, label in items:
        pdf.set_fill_color(*_rgb(COLOURS[band]))
        pdf.rect(x, y + 0.8, 3, 3, style="F")
        pdf.set_xy(x + 4, y)
        pdf.cell(pdf.get_string_width(label) + 2, 4.6, label)
        x += pdf.get_string_width(label) + 9
    pdf.set_xy(pdf.l_margin, y + 5)
    pdf.set_text_color(*_MUTED)
    pdf.multi_cell(
        0,
        3.6,
        "Staplarna till höger visar samma svar som tabellen, en stapel per grupp. "
        "Klart positivt (inom parentes) är en del av Positivt.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_text_color(0, 0, 0)
    pdf.ln(2)


# --- the per-insats table ----------------------------------------------------------------


def _insats_table(pdf: _Pdf, rows: Sequence[InsatsRow], threshold: int) -> None:
    widths = (44.0, 29.0, 18.0, 17.0, 18.0, 18.0, 24.0)
    columns = list(zip(INSATS_COLUMNS, widths, strict=True))
    few = f"färre än {threshold}"

    def header() -> None:
        y0 = pdf.get_y()
        pdf.set_fill_color(*_HEADER_FILL)
        pdf.rect(pdf.l_margin, y0, sum(w for _, w in columns), HEAD_H, style="F")
        pdf.set_font(FONT, "B", HEADER_SIZE)
        x = pdf.l_margin
        for i, (text, w) in enumerate(columns):
            lines = pdf.count_lines(w, 3, text)
            pdf.set_xy(x, y0 + (HEAD_H - 3 * lines) / 2)
            pdf.multi_cell(w, 3, text, align="L" if i < 2 else "R")
            x += w
        pdf.set_xy(pdf.l_margin, y0 + HEAD_H)

    pdf.keep(HEAD_H + ROW_H * min(len(rows), 40))
    header()
    for row in rows:
        if pdf.room() < ROW_H:
            pdf.add_page()
            header()
        cells = [
            (row.insats, False),
            (short_name(row.enkat), False),
            (few if row.hidden else number_text(row.responses or 0), row.hidden),
        ]
        if row.handed_out is None:
            cells += [("–", False)] * 4
        elif row.links_hidden:
            cells += [(number_text(row.handed_out), False), (few, True), (few, True), ("", False)]
        else:
            cells += [
                (number_text(row.handed_out), False),
                (number_text(row.started or 0), False),
                (number_text(row.submitted or 0), False),
                (percent_text(row.andel), False),
            ]
        x, y = pdf.l_margin, pdf.get_y()
        pdf.set_draw_color(*_RULE)
        pdf.line(x, y, x + sum(w for _, w in columns), y)
        for i, ((text, note), (_, w)) in enumerate(zip(cells, columns, strict=True)):
            pdf.set_xy(x, y)
            _fit_font(pdf, text, w - 1, "I" if note else "", 7.5)
            fitted = text
            while pdf.get_string_width(fitted) > w - 1 and len(fitted) > 3:
                fitted = fitted[:-2] + "…"
            pdf.cell(w, ROW_H, fitted, align="L" if i < 2 else "R")
            x += w
        pdf.set_xy(pdf.l_margin, y + ROW_H)
    pdf.ln(GAP)


# --- the coordinator's own summary -------------------------------------------------------

_HEADING_MD = re.compile(r"^(#{1,3})\s+(.*)$")


def _markdown(pdf: _Pdf, text: str) -> None:
    """Write a small Markdown text: # headings, - bullets, paragraphs, **bold** and __italic__."""
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            pdf.paragraph(" ".join(paragraph), markdown=True)
            paragraph.clear()

    for number, raw in enumerate(text.strip().splitlines()):
        line = raw.strip()
        heading = _HEADING_MD.match(line)
        if number == 0 and heading and heading.group(2).casefold() == "sammanfattning":
            continue  # the section already has that heading
        if not line:
            flush()
        elif heading:
            flush()
            pdf.heading(heading.group(2), size=12 if len(heading.group(1)) == 1 else 10.5)
        elif line.startswith(("- ", "* ")):
            flush()
            pdf.set_font(FONT, "", 9.5)
            pdf.set_x(pdf.l_margin + 4)
            pdf.multi_cell(
                pdf.width - 4, LINE_H + 0.4, "• " + line[2:], markdown=True,
                new_x="LMARGIN", new_y="NEXT",
            )
        else:
            paragraph.append(line)
    flush()


# --- the document ------------------------------------------------------------------------


def build_pdf(
    report: Report,
    summary_markdown: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """Return the report as PDF bytes; `summary_markdown` is the optional Sammanfattning.

    `progress(done, total)` is called before each indicator is laid out.
    """
    title = document_title(report)
    footer = " · ".join(x for x in (report.forbund, title, report.period.label) if x)
    pdf = _Pdf(footer)
    pdf.set_title(f"{title}, {report.period.label}")
    pdf.set_author(report.forbund or "")
    pdf.set_lang("sv")
    pdf.set_creator("Finsam enkätbot")
    pdf.add_page()

    pdf.set_font(FONT, "B", 22)
    pdf.multi_cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    if report.forbund:
        pdf.set_font(FONT, "", 15)
        pdf.multi_cell(0, 8, report.forbund, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.paragraph(period_line(report), size=11)
    pdf.ln(3)

    pdf.heading("Inledning")
    pdf.paragraph(INTRODUCTION)
    pdf.heading("Metod")
    for text in method(report):
        pdf.paragraph(text)
    if report.insatser:
        pdf.heading("Svar och länkar per insats", size=11, keep=HEAD_H + 3 * ROW_H)
        pdf.paragraph(
            "Svar under perioden per insats och enkät. Länkar: de som skapades under perioden, "
            "hur många som påbörjades och hur många som skickades in. Små tal döljs.",
            size=8.5,
            colour=_MUTED,
        )
        _insats_table(pdf, report.insatser, report.threshold)
    if summary_markdown and summary_markdown.strip():
        pdf.heading("Sammanfattning")
        _markdown(pdf, summary_markdown)

    pdf.add_page()
    pdf.heading("Resultat per indikator")
    _legend(pdf, report)
    for done, section in enumerate(report.indicators, 1):
        if progress:
            progress(done, len(report.indicators))
        heading = f"Indikator {section.number}"
        text_h = pdf.lines(section.text, pdf.width, 9.5) * (LINE_H + 0.4) + 2
        shown = [q for q in section.questions if report.info(q.enkat).respondents]
        first_h = 0.0
        if shown:
            q = shown[0]
            first_h = (
                pdf.lines(question_heading(q), pdf.width, 9, "B") * LINE_H
                + 1
                + HEAD_H
                + ROW_H * len(q.groups)
            )
        pdf.heading(heading, size=13, keep=text_h + first_h)
        pdf.paragraph(section.text, style="I")
        if section.registerstudie:
            pdf.paragraph(f"{REGISTERSTUDIE}, inte genom enkäter.", colour=_MUTED)
            continue
        for q in section.questions:
            if q not in shown:
                continue
            _question_block(pdf, report, q, 0.0)
        missing = sorted(
            {short_name(q.enkat).lower() for q in section.questions if q not in shown}
        )
        if missing:
            pdf.paragraph(
                f"Inga svar under perioden från: {', '.join(missing)}.", size=8, colour=_MUTED
            )
        pdf.ln(2)

    texts = [ft for ft in report.free_texts if report.info(ft.enkat).respondents]
    if texts:
        pdf.add_page()
        pdf.heading("Fritextsvar")
        pdf.paragraph(
            "Svaren på de öppna frågorna, för samtliga, i bokstavsordning. Personnummer, "
            "telefonnummer och e-postadresser är maskerade.",
            size=8.5,
            colour=_MUTED,
        )
        for ft in texts:
            pdf.heading(f"{short_name(ft.enkat)}: {ft.text}", size=10, keep=10)
            if ft.undertryckt:
                pdf.paragraph(f"{FOR_FA_SVAR}.", size=9, style="I", colour=_MUTED)
            elif not ft.answers:
                pdf.paragraph(f"{INGA_SVAR}.", size=9, style="I", colour=_MUTED)
            else:
                pdf.set_font(FONT, "", 8.5)
                for answer in ft.answers:
                    pdf.set_x(pdf.l_margin + 3)
                    pdf.multi_cell(
                        pdf.width - 3, LINE_H, f"– {answer}", new_x="LMARGIN", new_y="NEXT"
                    )
                pdf.ln(2)

    pdf.add_page()
    pdf.heading("Om rapporten")
    for heading, text in about(report):
        pdf.keep(12)
        pdf.set_font(FONT, "B", 9)
        pdf.multi_cell(0, LINE_H, heading, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.paragraph(text, size=8.5)
    pdf.paragraph(f"{insats_label(report)}. Gräns för små grupper: {report.threshold}.", size=8.5)
    return bytes(pdf.output())


def pdf_bytes(report: Report, summary_markdown: str | None = None) -> bytes:
    """Return the report as PDF bytes (see build_pdf)."""
    return build_pdf(report, summary_markdown)


def write_pdf(
    report: Report,
    path: Path,
    summary_markdown: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Write the report as a PDF file to `path`."""
    path.write_bytes(build_pdf(report, summary_markdown, progress))
