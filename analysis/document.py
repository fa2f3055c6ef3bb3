"""The whole report as one readable document: Markdown with image files, or self-contained HTML.

Both follow the published reports: indicator by indicator, each question's text and a table
with a row per group, earlier years beside the figures, then the free-text answers and what
the figures mean. HTML embeds its charts as PNG data URIs and has a print-friendly stylesheet.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from analysis.charts import Chart
from analysis.figures import GROUP_LABELS, GroupFigures, QuestionFigures, Report, YearFigure
from analysis.formatting import number_text, percent_text
from analysis.texts import (
    COL_ENKAT,
    COL_GRUPP,
    COL_N,
    COL_SVAR,
    COL_SVARSFREKVENS,
    COL_TILLFRAGADE,
    COL_VARAV_AVBRUTNA,
    FOR_FA_SVAR,
    INGA_SVAR,
    INTRODUCTION,
    JAMFORELSE_SAKNAS,
    NOTHING_SHOWN,
    REGISTERSTUDIE,
    about,
    band_columns,
    insats_label,
    main_band,
    method,
    period_line,
    question_heading,
    question_label,
    short_name,
    title,
    year_heading,
)


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, how many columns it spans, and whether it is a note."""

    text: str
    span: int = 1
    note: bool = False


_YEAR_TEXT = {
    "inga_svar": INGA_SVAR.lower(),
    "undertryckt": "för få svar",
    "jamforelse_saknas": JAMFORELSE_SAKNAS,
}


def question_table(report: Report, q: QuestionFigures) -> tuple[list[str], list[list[Cell]]]:
    """Return a question's table: the column headings and a row of cells per group."""
    bands = band_columns(q.kind)
    main = main_band(q.kind)
    headers = [
        COL_GRUPP,
        COL_TILLFRAGADE,
        COL_N,
        *bands,
        COL_SVARSFREKVENS,
        *(year_heading(main, y, [q]) for y in report.comparison_years),
    ]
    rows = []
    for fig in q.groups:
        cells = [Cell(GROUP_LABELS[fig.group]), *_figure_cells(fig, len(bands))]
        earlier = {y.year: y for y in q.earlier(fig.group)}
        cells += [_year_cell(earlier.get(year)) for year in report.comparison_years]
        rows.append(cells)
    return headers, rows


def _figure_cells(fig: GroupFigures, n_bands: int) -> list[Cell]:
    if fig.undertryckt:
        return [Cell(FOR_FA_SVAR, span=n_bands + 3, note=True)]
    head = [Cell(str(fig.tillfragade)), Cell(str(fig.n))]
    tail = [Cell(percent_text(fig.svarsfrekvens))]
    if fig.status == "inga_svar":
        return [*head, Cell(INGA_SVAR, span=n_bands, note=True), *tail]
    if fig.kind == "yes_no":
        values = [percent_text(fig.ja), percent_text(fig.nej)]
    else:
        values = [
            percent_text(fig.negativt),
            percent_text(fig.varken_eller),
            percent_text(fig.positivt),
            f"({percent_text(fig.klart_positivt)})",
        ]
    return [*head, *(Cell(v) for v in values), *tail]


def _year_cell(year: YearFigure | None) -> Cell:
    if year is None:
        return Cell("")
    if year.status == "ok":
        return Cell(percent_text(year.value))
    return Cell(_YEAR_TEXT[year.status], note=True)


def _respondent_lines(report: Report) -> list[tuple[str, str, str]]:
    return [
        (q.name, number_text(q.respondents), number_text(q.partial)) for q in report.questionnaires
    ]


def _nothing_shown_note(report: Report, q: QuestionFigures) -> str | None:
    if not report.info(q.enkat).respondents:
        return NOTHING_SHOWN.format(label=question_label(q), inga_svar=INGA_SVAR.lower())
    return None


# --- Markdown -----------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|])")


def md_escape(text: str) -> str:
    """Return text with Markdown's special characters escaped (for free-text answers)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> list[str]:
    out = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|",
    ]
    for row in rows:
        cells: list[str] = []
        for cell in row:
            text = f"*{cell.text}*" if cell.note and cell.text else cell.text
            cells += [text] + [""] * (cell.span - 1)
        out.append("| " + " | ".join(cells) + " |")
    return out


def _demote(markdown: str) -> str:
    """Return the coordinator's Markdown with headings moved below the section's level."""
    lines = markdown.splitlines()
    if lines and re.match(r"#+\s+sammanfattning\s*$", lines[0], re.I):
        lines = lines[1:]
    return "\n".join(("##" + ln) if ln.startswith("#") else ln for ln in lines).strip()


def render_markdown(
    report: Report,
    charts: Sequence[Chart],
    image_dir: str,
    summary_markdown: str | None = None,
) -> str:
    """Return the report as Markdown; charts are linked as `image_dir/<file name>`.

    It opens like the published reports: title, period, Inledning, Metod and the optional
    Sammanfattning (`summary_markdown`, the coordinator's own Markdown).
    """
    lines = [
        f"# {title(report)}",
        "",
        period_line(report),
        "",
        "## Inledning",
        "",
        INTRODUCTION,
        "",
        "## Metod",
        "",
    ]
    for paragraph in method(report):
        lines += [paragraph, ""]
    if summary_markdown and summary_markdown.strip():
        lines += ["## Sammanfattning", "", _demote(summary_markdown.strip()), ""]
    lines += [
        f"{insats_label(report)}. {number_text(report.total_respondents)} svar under perioden.",
        "",
    ]
    lines += [f"| {COL_ENKAT} | {COL_SVAR} | {COL_VARAV_AVBRUTNA} |", "|---|---:|---:|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in _respondent_lines(report)]
    lines.append("")
    if charts:
        lines += ["## Diagram", ""]
        for chart in charts:
            lines += [f"![{chart.alt}]({image_dir}/{chart.filename})", ""]
    for section in report.indicators:
        lines += [f"## Indikator {section.number}", "", section.text, ""]
        if section.registerstudie:
            lines += [f"*{REGISTERSTUDIE}.*", ""]
            continue
        for q in section.questions:
            note = _nothing_shown_note(report, q)
            if note:
                lines += [f"*{note}*", ""]
                continue
            lines += [f"**{question_heading(q)}**", ""]
            lines += _md_table(*question_table(report, q))
            lines.append("")
    lines += ["## Fritextsvar", ""]
    for ft in report.free_texts:
        if not report.info(ft.enkat).respondents:
            continue
        lines += [f"### {short_name(ft.enkat)}: {ft.text}", ""]
        if ft.undertryckt:
            lines += [f"*{FOR_FA_SVAR}.*", ""]
        elif not ft.answers:
            lines += [f"*{INGA_SVAR}.*", ""]
        else:
            lines += [f"- {md_escape(t)}" for t in ft.answers] + [""]
    lines += ["## Om rapporten", ""]
    for heading, text in about(report):
        lines += [f"**{heading}.** {text}", ""]
    return "\n".join(lines)


def write_markdown(
    report: Report, path: Path, charts: Sequence[Chart], summary_markdown: str | None = None
) -> list[Path]:
    """Write the report to `path` and its charts to a folder beside it; return all files."""
    image_dir = path.parent / f"{path.stem}-diagram"
    written = []
    if charts:
        image_dir.mkdir(parents=True, exist_ok=True)
        for chart in charts:
            target = image_dir / chart.filename
            target.write_bytes(chart.png)
            written.append(target)
    path.write_text(
        render_markdown(report, charts, image_dir.name, summary_markdown), encoding="utf-8"
    )
    return [path, *written]


# --- HTML --------------------------------------------------------------------------------

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a;
       max-width: 62rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem;
     border-bottom: 1px solid #ccc; padding-bottom: .2rem; }
h3 { font-size: 1rem; margin-bottom: .3rem; }
p.question { font-weight: 600; margin: 1.2rem 0 .3rem; }
table { border-collapse: collapse; margin: .2rem 0 1rem; font-size: .92rem; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f2f2f2; font-weight: 600; }
td.note { color: #555; font-style: italic; text-align: left; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: .9rem; }
ul.texts li { margin: .2rem 0; }
dl dt { font-weight: 600; margin-top: .6rem; } dl dd { margin-left: 0; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { break-after: avoid; } table, figure, p.question { break-inside: avoid; }
  p.question { break-after: avoid; }
}
"""


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    e = html.escape
    head = "".join(f'<th scope="col">{e(h)}</th>' for h in headers)
    body = []
    for row in rows:
        tds = []
        for i, cell in enumerate(row):
            attrs = (f' colspan="{cell.span}"' if cell.span > 1 else "") + (
                ' class="note"' if cell.note else ""
            )
            tag = 'th scope="row"' if i == 0 else "td"
            close = "th" if i == 0 else "td"
            tds.append(f"<{tag}{attrs}>{e(cell.text)}</{close}>")
        body.append(f"<tr>{''.join(tds)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _html_summary(summary_markdown: str | None) -> list[str]:
    """Return the Sammanfattning as HTML: paragraphs, bullet lists and **bold**, all escaped."""
    if not summary_markdown or not summary_markdown.strip():
        return []
    out = ["<h2>Sammanfattning</h2>"]
    for block in re.split(r"\n\s*\n", _demote(summary_markdown.strip())):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        if not lines:
            continue
        inline = [re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(ln)) for ln in lines]
        if all(ln.startswith(("- ", "* ")) for ln in lines):
            out.append("<ul>" + "".join(f"<li>{ln[2:]}</li>" for ln in inline) + "</ul>")
        elif lines[0].startswith("#"):
            out.append(f"<h3>{inline[0].lstrip('#').strip()}</h3>")
            if inline[1:]:
                out.append(f"<p>{' '.join(inline[1:])}</p>")
        else:
            out.append(f"<p>{' '.join(inline)}</p>")
    return out


def render_html(
    report: Report, charts: Sequence[Chart], summary_markdown: str | None = None
) -> str:
    """Return the report as one self-contained HTML page (charts as PNG data URIs).

    It opens like the published reports: title, period, Inledning, Metod and the optional
    Sammanfattning (`summary_markdown`).
    """
    e = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="sv"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title(report))}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(title(report))}</h1>",
        f"<p>{e(period_line(report))}</p>",
        f"<h2>Inledning</h2><p>{e(INTRODUCTION)}</p>",
        "<h2>Metod</h2>",
        *(f"<p>{e(paragraph)}</p>" for paragraph in method(report)),
        *_html_summary(summary_markdown),
        f"<p>{e(insats_label(report))}. "
        f"{e(number_text(report.total_respondents))} svar under perioden.</p>",
        _html_table(
            [COL_ENKAT, COL_SVAR, COL_VARAV_AVBRUTNA],
            [[Cell(a), Cell(b), Cell(c)] for a, b, c in _respondent_lines(report)],
        ),
    ]
    if charts:
        parts.append("<h2>Diagram</h2>")
        for chart in charts:
            data = base64.b64encode(chart.png).decode("ascii")
            parts.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{e(chart.alt)}">'
                f"<figcaption>{e(chart.title)}</figcaption></figure>"
            )
    for section in report.indicators:
        parts.append(f"<h2>Indikator {section.number}</h2><p>{e(section.text)}</p>")
        if section.registerstudie:
            parts.append(f'<p class="note"><em>{e(REGISTERSTUDIE)}.</em></p>')
            continue
        for q in section.questions:
            note = _nothing_shown_note(report, q)
            if note:
                parts.append(f"<p><em>{e(note)}</em></p>")
                continue
            parts.append(f'<p class="question">{e(question_heading(q))}</p>')
            parts.append(_html_table(*question_table(report, q)))
    parts.append("<h2>Fritextsvar</h2>")
    for ft in report.free_texts:
        if not report.info(ft.enkat).respondents:
            continue
        parts.append(f"<h3>{e(short_name(ft.enkat))}: {e(ft.text)}</h3>")
        if ft.undertryckt:
            parts.append(f"<p><em>{e(FOR_FA_SVAR)}.</em></p>")
        elif not ft.answers:
            parts.append(f"<p><em>{e(INGA_SVAR)}.</em></p>")
        else:
            items = "".join(f"<li>{e(t)}</li>" for t in ft.answers)
            parts.append(f'<ul class="texts">{items}</ul>')
    parts.append("<h2>Om rapporten</h2><dl>")
    for heading, text in about(report):
        parts.append(f"<dt>{e(heading)}</dt><dd>{e(text)}</dd>")
    parts.append("</dl></body></html>")
    return "\n".join(parts)


def write_html(
    report: Report, path: Path, charts: Sequence[Chart], summary_markdown: str | None = None
) -> None:
    """Write the report as one self-contained HTML file to `path`."""
    path.write_text(render_html(report, charts, summary_markdown), encoding="utf-8")
