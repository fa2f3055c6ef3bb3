"""The report as one flat table: a row per questionnaire, question and group, and its CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from analysis.figures import GroupFigures, QuestionFigures, Report
from analysis.report_types import CSV_COLUMNS


def _cell(value: int | None) -> str:
    return "" if value is None else str(value)


def row(question: QuestionFigures, fig: GroupFigures) -> dict[str, str]:
    """Return one CSV row: whole-number percentages, empty where not applicable or hidden."""
    return {
        "enkat": question.enkat,
        "fraga": str(question.number),
        "indikator": str(question.indicator),
        "grupp": fig.group,
        "tillfragade": _cell(fig.tillfragade),
        "n": _cell(fig.n),
        "negativt": _cell(fig.negativt),
        "varken_eller": _cell(fig.varken_eller),
        "positivt": _cell(fig.positivt),
        "klart_positivt": _cell(fig.klart_positivt),
        "ja": _cell(fig.ja),
        "nej": _cell(fig.nej),
        "svarsfrekvens": _cell(fig.svarsfrekvens),
        "undertryckt": "true" if fig.undertryckt else "false",
    }


def rows(report: Report) -> list[dict[str, str]]:
    """Return the report's rows, by questionnaire, question number and group."""
    out: list[dict[str, str]] = []
    for info in report.questionnaires:
        for q in report.questions_in_questionnaire_order(info.id):
            out.extend(row(q, fig) for fig in q.groups)
    return out


def csv_text(report: Report) -> str:
    """Return the report as CSV text with the columns of CSV_COLUMNS."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(report))
    return buffer.getvalue()


def write_csv(report: Report, path: Path) -> None:
    """Write the report as a UTF-8 CSV file (no byte-order mark) to `path`."""
    path.write_text(csv_text(report), encoding="utf-8")
