"""What a report is made of: figures per group, question, indicator and questionnaire.

Plain frozen data, computed by `analysis.figures.build_report` and read by every output
(csv, xlsx, charts, md/html, the monthly summary).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from analysis.formatting import percent
from analysis.insatser import InsatsRow
from analysis.periods import Period
from analysis.suppression import Counts

CSV_COLUMNS: tuple[str, ...] = (
    "enkat",
    "fraga",
    "indikator",
    "grupp",
    "tillfragade",
    "n",
    "negativt",
    "varken_eller",
    "positivt",
    "klart_positivt",
    "ja",
    "nej",
    "svarsfrekvens",
    "undertryckt",
)
HISTORY_OPTIONAL: tuple[str, ...] = ("undertryckt",)
HISTORY_REQUIRED: tuple[str, ...] = (
    "ar", *(c for c in CSV_COLUMNS if c not in HISTORY_OPTIONAL)
)
"""An imported history CSV's columns (`analysis.historik`): the export's plus the year."""
"""The columns of the report's CSV export, in order: a contract scripts rely on."""

GROUP_LABELS: Mapping[str, str] = {"samtliga": "Samtliga", "kvinnor": "Kvinnor", "män": "Män"}

Kind = Literal["scale", "yes_no"]
Status = Literal["ok", "inga_svar", "undertryckt"]
YearStatus = Literal["ok", "inga_svar", "undertryckt", "jamforelse_saknas"]


@dataclass(frozen=True)
class GroupFigures:
    """The figures of one question for one group, as shown: None where hidden or not applicable.

    Percentages are whole numbers. `counts` (the raw counts) is None when the group is hidden.
    """

    group: str
    kind: Kind
    undertryckt: bool
    tillfragade: int | None
    n: int | None
    negativt: int | None = None
    varken_eller: int | None = None
    positivt: int | None = None
    klart_positivt: int | None = None
    ja: int | None = None
    nej: int | None = None
    svarsfrekvens: int | None = None
    counts: Counts | None = None

    @property
    def status(self) -> Status:
        """Return "undertryckt" when hidden, "inga_svar" when n is 0, otherwise "ok"."""
        if self.undertryckt:
            return "undertryckt"
        return "inga_svar" if not self.n else "ok"

    @property
    def main_value(self) -> int | None:
        """Return the figure compared over years: Positivt, or Ja for a yes/no question."""
        return self.ja if self.kind == "yes_no" else self.positivt

    def share(self, band: str) -> float:
        """Return the exact share of n in `band` (for drawing bars), 0.0 when nothing is shown."""
        if self.counts is None or not self.counts.n:
            return 0.0
        return float(getattr(self.counts, band)) / self.counts.n


def group_figures(group: str, kind: Kind, counts: Counts, hidden: bool) -> GroupFigures:
    """Return the shown figures of one group from its raw counts."""
    if hidden:
        return GroupFigures(group=group, kind=kind, undertryckt=True, tillfragade=None, n=None)
    n = counts.n
    bands = (
        ("ja", "nej")
        if kind == "yes_no"
        else ("negativt", "varken_eller", "positivt", "klart_positivt")
    )
    return GroupFigures(
        group=group,
        kind=kind,
        undertryckt=False,
        tillfragade=counts.tillfragade,
        n=n,
        svarsfrekvens=percent(n, counts.tillfragade),
        counts=counts,
        **{b: percent(getattr(counts, b), n) for b in bands},
    )


@dataclass(frozen=True)
class YearFigure:
    """The main figure (Positivt, or Ja) of one question and group in an earlier year."""

    year: int
    group: str
    status: YearStatus
    value: int | None = None
    n: int | None = None
    imported: bool = False
    """True when the figure comes from an earlier published report (enkatbot historik)."""


@dataclass(frozen=True)
class QuestionFigures:
    """One question of one questionnaire: its figures per group and in earlier years."""

    enkat: str
    item_id: str
    number: int
    indicator: int
    text: str
    kind: Kind
    groups: tuple[GroupFigures, ...]
    comparison: tuple[YearFigure, ...] = ()

    def group(self, name: str) -> GroupFigures:
        """Return the figures of the group "samtliga", "kvinnor" or "män"; KeyError if absent."""
        for g in self.groups:
            if g.group == name:
                return g
        raise KeyError(name)

    def earlier(self, group: str = "samtliga") -> list[YearFigure]:
        """Return the earlier years' figures of a group, oldest first."""
        return [y for y in self.comparison if y.group == group]


@dataclass(frozen=True)
class IndicatorSection:
    """One of the 16 indicators with its questions (none for a register-study indicator)."""

    number: int
    text: str
    measure: str
    questions: tuple[QuestionFigures, ...]

    @property
    def registerstudie(self) -> bool:
        """Return True when the indicator is measured by a register study, not a questionnaire."""
        return self.measure == "registerstudie"


@dataclass(frozen=True)
class FreeTextFigures:
    """The answers to one free-text question, or none when hidden (`undertryckt`)."""

    enkat: str
    item_id: str
    text: str
    tillfragade: int
    undertryckt: bool
    answers: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuestionnaireInfo:
    """A questionnaire in the report: its id, name and how many responded in the period."""

    id: str
    name: str
    splits_by_gender: bool
    respondents: int
    complete: int
    partial: int


@dataclass(frozen=True)
class Report:
    """Everything a report shows for one period, one insats (None = all) and one threshold."""

    period: Period
    insats: str | None
    threshold: int
    questionnaires: tuple[QuestionnaireInfo, ...]
    indicators: tuple[IndicatorSection, ...]
    free_texts: tuple[FreeTextFigures, ...]
    comparison_years: tuple[int, ...] = ()
    forbund: str | None = None
    """The samordningsförbund's name (ENKATBOT_FORBUND), shown on every output when set."""
    insatser: tuple[InsatsRow, ...] = ()
    imported_years: tuple[int, ...] = ()
    """Comparison years whose figures come, wholly or partly, from imported published reports."""
    """Responses and links per insats and questionnaire (see analysis.insatser)."""

    def questions(self, enkat: str | None = None) -> Iterator[QuestionFigures]:
        """Yield the questions in indicator order, optionally those of one questionnaire only."""
        for section in self.indicators:
            for q in section.questions:
                if enkat is None or q.enkat == enkat:
                    yield q

    def questions_in_questionnaire_order(self, enkat: str) -> list[QuestionFigures]:
        """Return one questionnaire's questions ordered by their number."""
        return sorted(self.questions(enkat), key=lambda q: q.number)

    def question(self, enkat: str, number: int) -> QuestionFigures:
        """Return the question with this number in this questionnaire; KeyError if none."""
        for q in self.questions(enkat):
            if q.number == number:
                return q
        raise KeyError(f"{enkat} {number}")

    def info(self, enkat: str) -> QuestionnaireInfo:
        """Return the respondent counts of one questionnaire."""
        for q in self.questionnaires:
            if q.id == enkat:
                return q
        raise KeyError(enkat)

    @property
    def total_respondents(self) -> int:
        """Return the number of responses in the period over all questionnaires."""
        return sum(q.respondents for q in self.questionnaires)
