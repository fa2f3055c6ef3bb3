"""Earlier years from before the bot: a förbund's published figures, read from CSV and checked.

The file has the export's columns (`analysis.table.CSV_COLUMNS`, `undertryckt` optional) plus
`ar`, the measurement year. Every row is checked before anything is stored: a question the
questionnaire does not have, an indicator that is not the question's, a group the questionnaire
is not split by, percentages that do not add up, n larger than tillfrågade, a year given twice.
The first fault raises HistoryError naming the line.

Imported figures are förbund-level: they appear beside the bot's own years in reports of all
insatser, marked as imported, and only for a questionnaire the bot has no answers for that year.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from analysis import texts
from analysis.counting import reported_items
from analysis.formatting import percent
from analysis.report_types import HISTORY_OPTIONAL, HISTORY_REQUIRED
from questionnaires.model import Questionnaire

OPTIONAL = HISTORY_OPTIONAL
REQUIRED = HISTORY_REQUIRED
_NUMBERS = REQUIRED[5:]
_PERCENTS = REQUIRED[7:]
_GROUPS = ("samtliga", "kvinnor", "män")


class HistoryError(ValueError):
    """A file that cannot be imported; the Swedish message names the line and the fault."""

    def __init__(self, line: int | None, problem: str, **details: object) -> None:
        """Word `problem` (a key of analysis.texts.HISTORY_PROBLEMS) for `line` (None: the file)."""
        said = texts.HISTORY_PROBLEMS[problem].format(**details)
        template = texts.HISTORY_FILE if line is None else texts.HISTORY_ROW
        super().__init__(template.format(line=line, problem=said))
        self.problem = problem


@dataclass(frozen=True)
class HistoryRow:
    """One question's published figures for one group in one earlier measurement year.

    Every number is None where the published report had none (hidden, or no answers).
    """

    ar: int
    enkat: str
    fraga: int
    indikator: int
    grupp: str
    tillfragade: int | None = None
    n: int | None = None
    negativt: int | None = None
    varken_eller: int | None = None
    positivt: int | None = None
    klart_positivt: int | None = None
    ja: int | None = None
    nej: int | None = None
    svarsfrekvens: int | None = None

    def as_dict(self) -> dict[str, object]:
        """Return the row as a dict with the CSV's column names (for storage)."""
        return asdict(self)


def _int(value: str, column: str, line: int, *, lo: int = 0, hi: int | None = None) -> int:
    text = value.strip().rstrip("%").strip()
    try:
        number = int(text)
    except ValueError:
        raise HistoryError(line, "not_integer", column=column, value=value) from None
    if number < lo or (hi is not None and number > hi):
        if hi is None:
            raise HistoryError(line, "below", column=column, lo=lo, number=number)
        raise HistoryError(line, "outside", column=column, lo=lo, hi=hi, number=number)
    return number


def parse_history(text: str, questionnaires: Mapping[str, Questionnaire]) -> list[HistoryRow]:
    """Return the checked rows of a history CSV; raise HistoryError at the first fault."""
    text = text.lstrip("\ufeff")
    sample = text[:2000]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise HistoryError(1, "missing_columns", missing=", ".join(missing),
                           required=", ".join(REQUIRED))
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise HistoryError(1, "unknown_columns", unknown=", ".join(unknown))
    rows: list[HistoryRow] = []
    seen: dict[tuple[int, str, int, str], int] = {}
    for line, raw in enumerate(reader, start=2):
        cells = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(cells.values()):
            continue
        row = _row(cells, line, questionnaires)
        key = (row.ar, row.enkat, row.fraga, row.grupp)
        if key in seen:
            raise HistoryError(line, "duplicate_row", first=seen[key])
        seen[key] = line
        rows.append(row)
    if not rows:
        raise HistoryError(None, "no_rows")
    return rows


def _row(
    cells: Mapping[str, str], line: int, questionnaires: Mapping[str, Questionnaire]
) -> HistoryRow:
    ar = _int(cells["ar"], "ar", line, lo=2000, hi=2100)
    enkat = cells["enkat"]
    q = questionnaires.get(enkat)
    if q is None:
        raise HistoryError(line, "unknown_enkat", enkat=enkat, valid=", ".join(questionnaires))
    fraga = _int(cells["fraga"], "fraga", line, lo=1)
    item = next((it for it in reported_items(q) if it.number == fraga), None)
    if item is None:
        raise HistoryError(line, "unknown_question", enkat=enkat, fraga=fraga)
    indikator = _int(cells["indikator"], "indikator", line, lo=1, hi=16)
    if indikator != item.indicator:
        raise HistoryError(line, "wrong_indicator", fraga=fraga, enkat=enkat,
                           right=item.indicator, given=indikator)
    grupp = cells["grupp"].casefold()
    allowed = _GROUPS if q.splits_by_gender else ("samtliga",)
    if grupp not in allowed:
        raise HistoryError(line, "unknown_group", grupp=cells["grupp"], enkat=enkat,
                           valid=", ".join(allowed))
    numbers: dict[str, int | None] = {}
    for column in _NUMBERS:
        value = cells.get(column, "")
        hi = 100 if column in _PERCENTS else None
        numbers[column] = _int(value, column, line, hi=hi) if value else None
    tillfragade, n = numbers["tillfragade"], numbers["n"]
    hidden = cells.get("undertryckt", "").casefold() in ("true", "ja", "1")
    if hidden or (tillfragade is None and n is None):
        return HistoryRow(ar, enkat, fraga, indikator, grupp)
    if tillfragade is None or n is None:
        raise HistoryError(line, "half_counts")
    if n > tillfragade:
        raise HistoryError(line, "n_above_asked", n=n, tillfragade=tillfragade)
    _check_sums(numbers, item.type == "yes_no", line)
    expected = percent(n, tillfragade)
    given = numbers["svarsfrekvens"]
    if given is not None and expected is not None and abs(given - expected) > 1:
        raise HistoryError(line, "wrong_rate", given=given, n=n, tillfragade=tillfragade,
                           expected=expected)
    return HistoryRow(ar, enkat, fraga, indikator, grupp, **numbers)


def _check_sums(numbers: Mapping[str, int | None], yes_no: bool, line: int) -> None:
    n = numbers["n"] or 0
    bands = ("ja", "nej") if yes_no else ("negativt", "varken_eller", "positivt")
    other = ("negativt", "varken_eller", "positivt", "klart_positivt") if yes_no else ("ja", "nej")
    values = [numbers[b] for b in bands]
    if any(numbers[o] is not None for o in other):
        problem = "yes_no_with_scale" if yes_no else "scale_with_yes_no"
        raise HistoryError(line, problem, columns=", ".join(other))
    if n == 0:
        if any(v is not None for v in values):
            raise HistoryError(line, "percent_without_answers")
        return
    if any(v is None for v in values):
        raise HistoryError(line, "bands_missing", bands=", ".join(bands), n=n)
    total = sum(v for v in values if v is not None)
    # Each share is rounded on its own, so the sum may be 99 or 101, never further off.
    if not 99 <= total <= 101:
        raise HistoryError(line, "bands_not_100", bands=" + ".join(bands), total=total)
    klart, positivt = numbers["klart_positivt"], numbers["positivt"]
    if not yes_no and klart is not None and positivt is not None and klart > positivt:
        raise HistoryError(line, "klart_above_positivt", klart=klart, positivt=positivt)


def rows_from_storage(rows: Sequence[Mapping[str, object]]) -> list[HistoryRow]:
    """Return HistoryRows from the storage's historik rows."""
    names = [f for f in HistoryRow.__dataclass_fields__]
    out = []
    for r in rows:
        values = {k: r.get(k) for k in names}
        out.append(
            HistoryRow(
                **{
                    k: (None if v is None else (str(v) if k in ("enkat", "grupp") else int(str(v))))
                    for k, v in values.items()
                }  # type: ignore[arg-type]
            )
        )
    return out
