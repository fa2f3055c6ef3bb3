"""The report as an Excel workbook laid out like the published indicator reports.

One sheet per respondent group, indicator by indicator: each question's number and text, a row
per group with tillfrågade, n, the bands and svarsfrekvens (stored as fractions formatted
``0 %``, so they stay numbers), earlier years beside them; then the free-text answers and a
sheet "Om rapporten" that explains the figures. Column widths are computed from the content so
no cell shows ``######``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from analysis.figures import (
    GROUP_LABELS,
    GroupFigures,
    QuestionFigures,
    QuestionnaireInfo,
    Report,
    YearFigure,
)
from analysis.formatting import percent_text
from analysis.texts import (
    BAND_HEADINGS,
    COL_ENKAT,
    COL_FRAGA,
    COL_FRAGETEXT,
    COL_GRUPP,
    COL_N,
    COL_NR,
    COL_SVAR,
    COL_SVARSFREKVENS,
    COL_TILLFRAGADE,
    FOR_FA_SVAR,
    INGA_SVAR,
    INSATS_COLUMNS,
    JAMFORELSE_SAKNAS,
    MAIN_BAND_BOTH,
    about,
    insats_label,
    main_band,
    short_name,
    title,
    year_heading,
)

FREE_TEXT_SHEET = "Fritextsvar"
ABOUT_SHEET = "Om rapporten"
PERCENT_FORMAT = "0 %"
BRACKET_PERCENT_FORMAT = "(0 %)"
LINE_HEIGHT = 15.0
TEXT_WIDTH = 58

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEADING = Font(bold=True, size=12)
_MUTED = Font(italic=True, color="595959")
_HEADER_FILL = PatternFill("solid", fgColor="E7E6E6")
_THIN = Side(style="thin", color="BFBFBF")
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")
_CENTER = Alignment(horizontal="center", vertical="top")
_YEAR_TEXT = {
    "inga_svar": "inga svar",
    "undertryckt": "för få svar",
    "jamforelse_saknas": JAMFORELSE_SAKNAS,
}


def build_workbook(report: Report) -> Workbook:
    """Return the report as an openpyxl Workbook (not yet saved)."""
    wb = Workbook()
    wb.remove(wb.worksheets[0])  # the empty sheet every new Workbook starts with
    for info in report.questionnaires:
        _questionnaire_sheet(wb, report, info)
    _free_text_sheet(wb, report)
    _coding_sheets(wb, report)
    if report.insatser:
        _insats_sheet(wb, report)
    _about_sheet(wb, report)
    for ws in wb.worksheets:
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    return wb


def workbook_bytes(report: Report) -> bytes:
    """Return the report as the bytes of an .xlsx file."""
    buffer = io.BytesIO()
    build_workbook(report).save(buffer)
    return buffer.getvalue()


def write_workbook(report: Report, path: Path) -> None:
    """Write the report as an .xlsx file to `path`."""
    build_workbook(report).save(path)


def _lines(text: str, width: float) -> int:
    # openpyxl cannot auto-fit row heights; a column of width w holds about w characters.
    return max(1, sum(math.ceil(max(1, len(part)) / max(1.0, width)) for part in text.split("\n")))


class _Widths:
    """Tracks the widest content of each column so widths can be set at the end."""

    def __init__(self) -> None:
        self.widths: dict[int, float] = {}

    def see(self, col: int, text: str) -> None:
        self.widths[col] = max(self.widths.get(col, 0), len(text) + 2)

    def apply(self, ws: Worksheet, fixed: dict[int, float]) -> None:
        for col, width in {**self.widths, **fixed}.items():
            ws.column_dimensions[get_column_letter(col)].width = max(width, 6)


def _questionnaire_sheet(wb: Workbook, report: Report, info: QuestionnaireInfo) -> None:
    ws = wb.create_sheet(short_name(info.id))
    questions = list(report.questions(info.id))
    kinds = {q.kind for q in questions}
    bands: list[str] = []
    if "scale" in kinds:
        bands += ["negativt", "varken_eller", "positivt", "klart_positivt"]
    if "yes_no" in kinds:
        bands += ["ja", "nej"]
    years = report.comparison_years
    main = MAIN_BAND_BOTH if "yes_no" in kinds else main_band("scale")
    headers = [
        COL_FRAGA,
        COL_FRAGETEXT,
        COL_GRUPP,
        COL_TILLFRAGADE,
        COL_N,
        *(BAND_HEADINGS[b] for b in bands),
        COL_SVARSFREKVENS,
        *(year_heading(main, y, questions) for y in years),
    ]
    first_band, sf_col = 6, 6 + len(bands)
    last_col = len(headers)
    widths = _Widths()

    ws.cell(1, 1, f"{info.name} · {report.forbund}" if report.forbund else info.name).font = _TITLE
    ws.cell(
        2,
        1,
        f"{report.period.label[:1].upper()}{report.period.label[1:]}. "
        f"{insats_label(report)}. {info.respondents} svar.",
    )
    row = 4
    indicator_rows: list[int] = []
    for section in report.indicators:
        own = [q for q in section.questions if q.enkat == info.id]
        if not own:
            continue
        ws.cell(row, 1, f"Indikator {section.number}").font = _HEADING
        row += 1
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_col)
        cell = ws.cell(row, 1, section.text)
        indicator_rows.append(row)
        cell.alignment = _WRAP_TOP
        row += 1
        for col, header in enumerate(headers, 1):
            cell = ws.cell(row, col, header)
            cell.font = _BOLD
            cell.fill = _HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="bottom")
            cell.border = Border(bottom=_THIN)
            # Headers may wrap between words but a word must fit.
            widths.see(col, max(header.split(), key=len))
        ws.row_dimensions[row].height = 2 * LINE_HEIGHT
        row += 1
        for q in own:
            row = _question_rows(ws, row, q, bands, years, first_band, sf_col, widths)
        row += 1
    fixed: dict[int, float] = {2: TEXT_WIDTH}
    widths.apply(ws, fixed)
    total = sum(ws.column_dimensions[get_column_letter(c)].width for c in range(1, last_col + 1))
    # A merged cell does not grow with its text: give each indicator text the lines it needs.
    for r in indicator_rows:
        ws.row_dimensions[r].height = _lines(str(ws.cell(r, 1).value), total) * LINE_HEIGHT
    ws.freeze_panes = "A4"


def _question_rows(
    ws: Worksheet,
    row: int,
    q: QuestionFigures,
    bands: Sequence[str],
    years: Sequence[int],
    first_band: int,
    sf_col: int,
    widths: _Widths,
) -> int:
    start = row
    for fig in q.groups:
        ws.cell(row, 3, GROUP_LABELS[fig.group])
        widths.see(3, GROUP_LABELS[fig.group])
        _figure_cells(ws, row, fig, q, bands, first_band, sf_col, widths)
        earlier = {y.year: y for y in q.earlier(fig.group)}
        for i, year in enumerate(years):
            _year_cell(ws, row, sf_col + 1 + i, earlier.get(year), widths)
        for col in range(1, sf_col + 1 + len(years)):
            ws.cell(row, col).border = Border(top=_THIN) if row == start else Border()
        row += 1
    ws.cell(start, 1, q.number).alignment = Alignment(horizontal="left", vertical="top")
    widths.see(1, str(q.number))
    text = ws.cell(start, 2, q.text)
    text.alignment = _WRAP_TOP
    if row - start > 1:
        ws.merge_cells(start_row=start, start_column=2, end_row=row - 1, end_column=2)
    needed = _lines(q.text, TEXT_WIDTH) * LINE_HEIGHT
    per_row = needed / (row - start)
    if per_row > LINE_HEIGHT:
        for r in range(start, row):
            ws.row_dimensions[r].height = per_row
    return row


def _percent_cell(
    ws: Worksheet, row: int, col: int, value: int | None, fmt: str, widths: _Widths
) -> None:
    if value is None:
        return
    cell = ws.cell(row, col, value / 100)
    cell.number_format = fmt
    cell.alignment = Alignment(horizontal="right", vertical="top")
    shown = percent_text(value)
    widths.see(col, f"({shown})" if fmt == BRACKET_PERCENT_FORMAT else shown)


def _figure_cells(
    ws: Worksheet,
    row: int,
    fig: GroupFigures,
    q: QuestionFigures,
    bands: Sequence[str],
    first_band: int,
    sf_col: int,
    widths: _Widths,
) -> None:
    if fig.undertryckt:
        ws.merge_cells(start_row=row, start_column=4, end_row=row, end_column=sf_col)
        cell = ws.cell(row, 4, FOR_FA_SVAR)
        cell.font = _MUTED
        return
    for col, value in ((4, fig.tillfragade), (5, fig.n)):
        ws.cell(row, col, value).alignment = Alignment(horizontal="right", vertical="top")
        widths.see(col, str(value))
    _percent_cell(ws, row, sf_col, fig.svarsfrekvens, PERCENT_FORMAT, widths)
    own = [b for b in bands if (b in ("ja", "nej")) == (q.kind == "yes_no")]
    cols = [first_band + bands.index(b) for b in own]
    if fig.status == "inga_svar":
        ws.merge_cells(start_row=row, start_column=cols[0], end_row=row, end_column=cols[-1])
        ws.cell(row, cols[0], INGA_SVAR).font = _MUTED
        return
    for band, col in zip(own, cols, strict=True):
        fmt = BRACKET_PERCENT_FORMAT if band == "klart_positivt" else PERCENT_FORMAT
        _percent_cell(ws, row, col, getattr(fig, band), fmt, widths)


def _year_cell(ws: Worksheet, row: int, col: int, year: YearFigure | None, widths: _Widths) -> None:
    if year is None:
        return
    if year.status == "ok" and year.value is not None:
        _percent_cell(ws, row, col, year.value, PERCENT_FORMAT, widths)
        return
    text = _YEAR_TEXT.get(year.status, INGA_SVAR.lower())
    cell = ws.cell(row, col, text)
    cell.font = _MUTED
    cell.alignment = Alignment(horizontal="right", vertical="top")
    widths.see(col, text)


def _free_text_sheet(wb: Workbook, report: Report) -> None:
    ws = wb.create_sheet(FREE_TEXT_SHEET)
    ws.cell(1, 1, "Fritextsvar").font = _TITLE
    ws.cell(2, 1, f"{title(report)}. {insats_label(report)}. Svaren står i bokstavsordning.")
    headers = (COL_ENKAT, COL_FRAGA, COL_SVAR)
    for col, header in enumerate(headers, 1):
        cell = ws.cell(4, col, header)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
    widths = {1: 22.0, 2: 45.0, 3: 80.0}
    row = 5
    for ft in report.free_texts:
        if not report.info(ft.enkat).respondents:
            continue
        texts: list[tuple[str, bool]]
        if ft.undertryckt:
            texts = [(FOR_FA_SVAR, True)]
        elif not ft.answers:
            texts = [(INGA_SVAR, True)]
        else:
            texts = [(t, False) for t in ft.answers]
        for i, (text, muted) in enumerate(texts):
            if i == 0:
                ws.cell(row, 1, short_name(ft.enkat)).alignment = _WRAP_TOP
                ws.cell(row, 2, ft.text).alignment = _WRAP_TOP
            cell = ws.cell(row, 3, text)
            cell.alignment = _WRAP_TOP
            if muted:
                cell.font = _MUTED
            lines = max(_lines(text, widths[3]), _lines(ft.text, widths[2]) if i == 0 else 1)
            if lines > 1:
                ws.row_dimensions[row].height = lines * LINE_HEIGHT
            row += 1
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A5"


THEME_COLUMNS = ("Tema 1", "Tema 2", "Tema 3", "Kommentar")
INSATS_SHEET = "Per insats"


def coding_sheet_name(enkat: str, number: int) -> str:
    """Return the name of one free-text question's sheet, e.g. "Fritext Deltagare avslut 2"."""
    return f"Fritext {short_name(enkat)} {number}"[:31]


def _coding_sheets(wb: Workbook, report: Report) -> None:
    """Add a sheet per free-text question: one answer a row, theme columns left empty.

    Never the answers of a group under the threshold: a hidden question's sheet says so.
    """
    numbers: dict[str, int] = {}
    for ft in report.free_texts:
        numbers[ft.enkat] = numbers.get(ft.enkat, 0) + 1
        if not report.info(ft.enkat).respondents:
            continue
        ws = wb.create_sheet(coding_sheet_name(ft.enkat, numbers[ft.enkat]))
        ws.cell(1, 1, ft.text).font = _TITLE
        ws.cell(
            2,
            1,
            f"{short_name(ft.enkat)}. {title(report)}. {insats_label(report)}. Ett svar per rad, "
            "i bokstavsordning. Kolumnerna Tema 1–3 och Kommentar är till för era egna "
            "temakoder.",
        )
        for col, header in enumerate((COL_NR, COL_SVAR, *THEME_COLUMNS), 1):
            cell = ws.cell(4, col, header)
            cell.font = _BOLD
            cell.fill = _HEADER_FILL
        if ft.undertryckt or not ft.answers:
            note = ws.cell(5, 2, FOR_FA_SVAR if ft.undertryckt else INGA_SVAR)
            note.font = _MUTED
        for i, answer in enumerate(() if ft.undertryckt else ft.answers, 1):
            ws.cell(4 + i, 1, i).alignment = Alignment(horizontal="left", vertical="top")
            ws.cell(4 + i, 2, answer).alignment = _WRAP_TOP
            lines = _lines(answer, 70)
            if lines > 1:
                ws.row_dimensions[4 + i].height = lines * LINE_HEIGHT
        for letter, width in zip("ABCDEF", (6, 72, 16, 16, 16, 30), strict=True):
            ws.column_dimensions[letter].width = width
        ws.freeze_panes = "A5"


def _insats_sheet(wb: Workbook, report: Report) -> None:
    """Add the sheet of responses and links per insats and questionnaire."""
    ws = wb.create_sheet(INSATS_SHEET)
    ws.cell(1, 1, "Svar och länkar per insats").font = _TITLE
    ws.cell(
        2,
        1,
        f"{title(report)}. Länkar: de som skapades under perioden (en länk för flera räknas "
        f"en gång per användning). Tal under {report.threshold} döljs.",
    )
    headers = INSATS_COLUMNS
    for col, header in enumerate(headers, 1):
        cell = ws.cell(3, col, header)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")
    few = f"färre än {report.threshold}"
    for r, row in enumerate(report.insatser, 4):
        ws.cell(r, 1, row.insats)
        ws.cell(r, 2, short_name(row.enkat))
        ws.cell(r, 3, few if row.hidden else row.responses)
        if row.handed_out is not None:
            ws.cell(r, 4, row.handed_out)
            if row.links_hidden:
                ws.cell(r, 5, few)
                ws.cell(r, 6, few)
            else:
                ws.cell(r, 5, row.started)
                ws.cell(r, 6, row.submitted)
                if row.submitted is not None and row.handed_out:
                    share = ws.cell(r, 7, row.submitted / row.handed_out)
                    share.number_format = PERCENT_FORMAT
    for letter, width in zip("ABCDEFG", (34, 22, 12, 12, 12, 12, 14), strict=True):
        ws.column_dimensions[letter].width = width
    ws.row_dimensions[3].height = 2 * LINE_HEIGHT
    ws.freeze_panes = "A4"


def _about_sheet(wb: Workbook, report: Report) -> None:
    ws = wb.create_sheet(ABOUT_SHEET)
    ws.cell(1, 1, "Om rapporten").font = _TITLE
    ws.column_dimensions["A"].width = 32
    ws.column_dimensions["B"].width = 100
    row = 3
    for heading, text in about(report):
        ws.cell(row, 1, heading).font = _BOLD
        ws.cell(row, 1).alignment = _WRAP_TOP
        ws.cell(row, 2, text).alignment = _WRAP_TOP
        lines = max(_lines(text, 100), _lines(heading, 32))
        ws.row_dimensions[row].height = lines * LINE_HEIGHT
        row += 1
    ws.cell(row + 1, 1, "Gräns för små grupper").font = _BOLD
    ws.cell(row + 1, 2, report.threshold).alignment = Alignment(horizontal="left")
