"""The indicator figures of a period, computed from raw responses and answers.

Input is the storage contract's two frames: `responses` (response_id, enkat, version, insats,
month, status) and `answers` (response_id, item_id, value). Both ``complete`` and ``partial``
responses are respondents. The definitions follow the instrument (docs: shared/domain):

- **tillfrågade**: respondents in the group who were asked the question: every respondent for
  an unconditional question (also a partial respondent who stopped before it, as on paper),
  only those whose answer to the condition item was the condition answer (Ja on avslut 8) for
  a conditional one. A respondent whose questionnaire *version* evidently lacked the item (no
  answer row for it from any response on that version, and not the current version) is not
  counted: a question added in a later version was never put to them.
- **n**: those of them who answered on the scale: not Vet inte (``counts = false``), not skipped.
- **band %**: the band's answers / n; Klart positivt is a part of Positivt; Ja and Nej for
  yes/no questions. **svarsfrekvens**: n / tillfrågade.
- Percentages are whole numbers rounded half up, each on its own (so 5 + 8 + 88 may be 101).
- Nothing is divided by zero: n = 0 gives no percentages and the words "Inga svar".
- Groups: samtliga; for the two participant questionnaires also kvinnor and män, from the
  background item (Kvinna, Man). Annat, Vill inte svara, skipped or missing count only in
  samtliga, so samtliga − kvinnor − män is a *remainder* group that is never shown directly.

Small groups (threshold t, default 5). A group's figures for a question are *small* when
1 ≤ n < t, or when n = 0 and 1 ≤ tillfrågade < t (showing "0 of 3 answered" says what those
three did). Shown figures give away not only the groups shown but any difference of them, and
with n shown every whole percentage pins down a count, so the rule works on groups of people:

1. Primary: hide every small group. If samtliga is hidden, hide kvinnor and män too.
2. Complementary, participant questionnaires: if samtliga, kvinnor and män are all shown and
   the remainder (tillfrågade and n of samtliga − kvinnor − män) is small, hide whichever of
   kvinnor and män has the fewer answers (män on a tie). If exactly one of kvinnor and män is
   hidden and that group together with the remainder is small, hide the other one as well.
   After this no group under the threshold can be derived by subtraction.
3. A conditional question (avslut 9, 10) hides at least the groups its condition question
   (avslut 8) hides: its tillfrågade is the number of Ja on 8 and would otherwise reveal them.
4. A hidden group shows nothing, not even tillfrågade or n: together with the other shown
   numbers they would tell how many gave another gender or none, which in a small insats can
   point at a person. Hidden cells read "För få svar för att redovisas".

Free-text answers are shown for samtliga only (lists per gender would give the remainder's
texts by set difference), sorted alphabetically so their order says nothing about who wrote
them or when, with personal data masked again, and hidden when fewer than t were asked.

Known limit, not solved here: two reports over overlapping data (an insats and all insatser,
or the year so far this month and last month) can be subtracted from each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Literal

import pandas as pd

from analysis.formatting import percent, swedish_sort_key
from analysis.periods import Period, measurement_year, measurement_year_of
from questionnaires import model
from questionnaires.model import Item, Questionnaire
from questionnaires.textclean import mask_personal_data

GROUPS: tuple[str, ...] = ("samtliga", "kvinnor", "män")
GROUP_LABELS: Mapping[str, str] = {"samtliga": "Samtliga", "kvinnor": "Kvinnor", "män": "Män"}
GENDER_GROUPS: Mapping[str, str] = {"kvinna": "kvinnor", "man": "män"}
DEFAULT_THRESHOLD = 5
MAX_COMPARISON_YEARS = 3
RESPONDENT_STATUSES: tuple[str, ...] = ("complete", "partial")
RESPONSE_COLUMNS: tuple[str, ...] = ("response_id", "enkat", "version", "insats", "month", "status")
ANSWER_COLUMNS: tuple[str, ...] = ("response_id", "item_id", "value")

_OTHERS = "övriga"
_GKEYS = ("kvinnor", "män", _OTHERS)

Kind = Literal["scale", "yes_no"]
Status = Literal["ok", "inga_svar", "undertryckt"]
YearStatus = Literal["ok", "inga_svar", "undertryckt", "jamforelse_saknas"]


class DataError(ValueError):
    """The frames do not follow the storage contract; the message names what is missing."""


class UnknownInsatsError(ValueError):
    """No responses for the insats asked for; `valid` lists the insatser that have some."""

    def __init__(self, insats: str, valid: Sequence[str]) -> None:
        """Create the error with a Swedish message listing the valid insatser."""
        listing = ", ".join(valid) if valid else "(inga insatser har svar ännu)"
        super().__init__(f"Okänd insats {insats!r}. Insatser med svar: {listing}.")
        self.insats = insats
        self.valid = tuple(valid)


@dataclass(frozen=True)
class Counts:
    """Raw counts for one question and one group of respondents."""

    tillfragade: int = 0
    n: int = 0
    negativt: int = 0
    varken_eller: int = 0
    positivt: int = 0
    klart_positivt: int = 0
    ja: int = 0
    nej: int = 0

    def __add__(self, other: Counts) -> Counts:
        """Return the counts of both groups together."""
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __sub__(self, other: Counts) -> Counts:
        """Return the counts of this group without the other (a remainder group)."""
        return Counts(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))


def is_small(counts: Counts, threshold: int) -> bool:
    """Return True when a group's figures would describe fewer people than the threshold.

    That is 1 ≤ n < threshold, or n = 0 while 1 ≤ tillfrågade < threshold.
    """
    if 1 <= counts.n < threshold:
        return True
    return counts.n == 0 and 1 <= counts.tillfragade < threshold


def suppressed_groups(
    counts: Mapping[str, Counts],
    threshold: int,
    *,
    inherited: Iterable[str] = (),
) -> frozenset[str]:
    """Return the groups whose figures must be hidden for one question (rule in module doc).

    `counts` has "samtliga" and, for questionnaires split by gender, "kvinnor" and "män";
    `inherited` are the groups the condition question hides.
    """
    total = counts["samtliga"]
    hidden = {g for g, c in counts.items() if is_small(c, threshold)} | set(inherited)
    if "kvinnor" not in counts:
        return frozenset(hidden & {"samtliga"})
    if "samtliga" in hidden:
        return frozenset(GROUPS)
    women, men = counts["kvinnor"], counts["män"]
    remainder = total - women - men
    shown = [g for g in ("kvinnor", "män") if g not in hidden]
    if len(shown) == 2 and is_small(remainder, threshold):
        fewer = "kvinnor" if (women.n, women.tillfragade) < (men.n, men.tillfragade) else "män"
        hidden.add(fewer)
        shown.remove(fewer)
    if len(shown) == 1:
        other = "män" if shown[0] == "kvinnor" else "kvinnor"
        if is_small(counts[other] + remainder, threshold):
            hidden.add(shown[0])
    return frozenset(hidden)


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
        return getattr(self.counts, band) / self.counts.n


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


def reported_items(q: Questionnaire) -> list[Item]:
    """Return the questionnaire's numbered scale and yes/no questions, in asking order."""
    return [
        it
        for it in q.items
        if it.type in ("scale", "yes_no")
        and it.number is not None
        and it.indicator is not None
        and not it.background
    ]


# --- preparing the frames ---------------------------------------------------------------------


class Dataset:
    """The two storage frames made ready for counting: checked, typed and joined once.

    Build it once and compute many periods from it (the report, its comparison years, the
    monthly summary).
    """

    def __init__(
        self,
        responses: pd.DataFrame,
        answers: pd.DataFrame,
        questionnaires: Mapping[str, Questionnaire] | None = None,
    ) -> None:
        """Check the frames against the contract and join answers to their responses."""
        self.questionnaires: Mapping[str, Questionnaire] = (
            questionnaires if questionnaires is not None else model.load_all()
        )
        _require(responses, RESPONSE_COLUMNS, "responses")
        _require(answers, ANSWER_COLUMNS, "answers")
        r = pd.DataFrame(
            {
                "response_id": responses["response_id"].astype(str).to_numpy(),
                "enkat": responses["enkat"].astype(str).to_numpy(),
                "version": pd.to_numeric(responses["version"], errors="coerce")
                .fillna(0)
                .astype(int)
                .to_numpy(),
                "insats": responses["insats"].astype(str).to_numpy(),
                "month": responses["month"].astype(str).str.strip().to_numpy(),
                "status": responses["status"].astype(str).to_numpy(),
            }
        )
        r = r[r["status"].isin(RESPONDENT_STATUSES) & r["enkat"].isin(list(self.questionnaires))]
        r = r.drop_duplicates("response_id")
        a = pd.DataFrame(
            {
                "response_id": answers["response_id"].astype(str).to_numpy(),
                "item_id": answers["item_id"].astype(str).to_numpy(),
                "value": answers["value"].astype(object).to_numpy(),
            }
        )
        a["value"] = a["value"].where(a["value"].notna(), None)

        background = {
            q.background_item.id for q in self.questionnaires.values() if q.background_item
        }
        gender = a[a["item_id"].isin(list(background))].drop_duplicates("response_id")
        gkey = gender.set_index("response_id")["value"].map(GENDER_GROUPS)
        mapped = r["response_id"].map(gkey).astype(object)
        r["gkey"] = mapped.where(mapped.notna(), _OTHERS).astype(str)
        self.responses = r.reset_index(drop=True)

        joined = a.merge(r, on="response_id", how="inner")
        options = pd.DataFrame(
            [
                (
                    q.id,
                    it.id,
                    opt.value,
                    opt.band,
                    opt.klart_positivt,
                    opt.counts and opt.band is not None,
                )
                for q in self.questionnaires.values()
                for it in reported_items(q)
                for opt in (it.scale.options if it.scale else ())
            ],
            columns=["enkat", "item_id", "value", "band", "klart", "counted"],
        )
        joined = joined.merge(options, on=["enkat", "item_id", "value"], how="left")
        joined["counted"] = joined["counted"].astype("boolean").fillna(False).astype(bool)
        joined["klart"] = joined["klart"].astype("boolean").fillna(False).astype(bool)
        self.answers = joined

        seen = joined[["enkat", "version", "item_id"]].drop_duplicates()
        self.item_versions: set[tuple[str, int, str]] = set(
            zip(seen["enkat"], seen["version"].astype(int), seen["item_id"], strict=True)
        )
        for q in self.questionnaires.values():
            self.item_versions.update((q.id, q.version, it.id) for it in q.items)

    @property
    def insatser(self) -> list[str]:
        """Return the insatser that have responses, sorted."""
        return sorted(self.responses["insats"].unique().tolist(), key=swedish_sort_key)

    def resolve_insats(self, insats: str) -> str:
        """Return the insats name as stored (case-insensitive match); raise UnknownInsatsError."""
        for name in self.insatser:
            if name.casefold() == insats.strip().casefold():
                return name
        raise UnknownInsatsError(insats, self.insatser)

    def select(self, months: Iterable[str], insats: str | None = None) -> Selection:
        """Return the responses (and their answers) from these months and this insats."""
        month_list = list(months)
        rmask = self.responses["month"].isin(month_list)
        amask = self.answers["month"].isin(month_list)
        if insats is not None:
            rmask &= self.responses["insats"] == insats
            amask &= self.answers["insats"] == insats
        return Selection(self, self.responses[rmask], self.answers[amask])


def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{name} saknar kolumnerna {', '.join(missing)}")


RawCounts = dict[tuple[str, str], dict[str, Counts]]


@dataclass(frozen=True)
class Selection:
    """Some of a Dataset's responses with their answers; computes raw counts per question."""

    data: Dataset
    responses: pd.DataFrame
    answers: pd.DataFrame

    def respondent_counts(self) -> dict[str, tuple[int, int]]:
        """Return (complete, partial) per questionnaire id."""
        out = {qid: (0, 0) for qid in self.data.questionnaires}
        grouped = self.responses.groupby(["enkat", "status"]).size()
        for (enkat, status), size in grouped.items():
            c, p = out[enkat]
            out[enkat] = (c + int(size), p) if status == "complete" else (c, p + int(size))
        return out

    def raw_counts(self) -> RawCounts:
        """Return the raw counts per (questionnaire id, item id) and kvinnor / män / övriga."""
        per_version = self.responses.groupby(["enkat", "version", "gkey"]).size()
        asked_all: dict[tuple[str, str], dict[str, int]] = {}
        for (enkat, version, gkey), size in per_version.items():
            q = self.data.questionnaires[enkat]
            for it in reported_items(q):
                if (enkat, int(version), it.id) in self.data.item_versions:
                    slot = asked_all.setdefault((enkat, it.id), {})
                    slot[gkey] = slot.get(gkey, 0) + int(size)

        a = self.answers
        counted = a[a["counted"]]
        by_band = counted.groupby(["enkat", "item_id", "gkey", "band"]).size()
        klart = counted[counted["klart"]].groupby(["enkat", "item_id", "gkey"]).size()
        cond_values = a.groupby(["enkat", "item_id", "gkey", "value"]).size()

        band_map: dict[tuple[str, str, str], dict[str, int]] = {}
        for (enkat, item_id, gkey, band), size in by_band.items():
            band_map.setdefault((enkat, item_id, gkey), {})[band] = int(size)
        klart_map = {k: int(v) for k, v in klart.items()}
        cond_map = {k: int(v) for k, v in cond_values.items()}

        out: RawCounts = {}
        for q in self.data.questionnaires.values():
            for it in reported_items(q):
                per_group: dict[str, Counts] = {}
                for gkey in _GKEYS:
                    if it.condition is None:
                        asked = asked_all.get((q.id, it.id), {}).get(gkey, 0)
                    else:
                        key = (q.id, it.condition.item, gkey, it.condition.answer)
                        asked = cond_map.get(key, 0)
                    bands = band_map.get((q.id, it.id, gkey), {})
                    per_group[gkey] = Counts(
                        tillfragade=asked,
                        n=sum(bands.values()),
                        negativt=bands.get("negativt", 0),
                        varken_eller=bands.get("varken_eller", 0),
                        positivt=bands.get("positivt", 0),
                        klart_positivt=klart_map.get((q.id, it.id, gkey), 0),
                        ja=bands.get("ja", 0),
                        nej=bands.get("nej", 0),
                    )
                out[(q.id, it.id)] = per_group
        return out

    def figures(self, threshold: int) -> dict[tuple[str, str], tuple[GroupFigures, ...]]:
        """Return the shown figures per (questionnaire id, item id), suppression applied."""
        raw = self.raw_counts()
        out: dict[tuple[str, str], tuple[GroupFigures, ...]] = {}
        for q in self.data.questionnaires.values():
            hidden_by_item: dict[str, frozenset[str]] = {}
            for it in reported_items(q):
                per = raw[(q.id, it.id)]
                total = per["kvinnor"] + per["män"] + per[_OTHERS]
                groups: dict[str, Counts] = {"samtliga": total}
                if q.splits_by_gender:
                    groups["kvinnor"] = per["kvinnor"]
                    groups["män"] = per["män"]
                inherited = (
                    hidden_by_item.get(it.condition.item, frozenset())
                    if (it.condition)
                    else frozenset()
                )
                hidden = suppressed_groups(groups, threshold, inherited=inherited)
                hidden_by_item[it.id] = hidden
                kind: Kind = "yes_no" if it.type == "yes_no" else "scale"
                out[(q.id, it.id)] = tuple(
                    group_figures(g, kind, c, g in hidden) for g, c in groups.items()
                )
        return out

    def free_texts(self, threshold: int) -> list[FreeTextFigures]:
        """Return every free-text question's answers, hidden where fewer than threshold asked."""
        out: list[FreeTextFigures] = []
        per_version = self.responses.groupby(["enkat", "version"]).size()
        text_rows = self.answers[self.answers["value"].notna()]
        for q in self.data.questionnaires.values():
            for it in q.items:
                if it.type != "text":
                    continue
                asked = sum(
                    int(size)
                    for (enkat, version), size in per_version.items()
                    if enkat == q.id and (enkat, int(version), it.id) in self.data.item_versions
                )
                hidden = 1 <= asked < threshold
                texts: tuple[str, ...] = ()
                if not hidden:
                    mine = (text_rows["item_id"] == it.id) & (text_rows["enkat"] == q.id)
                    values = text_rows.loc[mine, "value"]
                    cleaned = (mask_personal_data(str(v).strip())[0] for v in values)
                    texts = tuple(sorted((t for t in cleaned if t), key=swedish_sort_key))
                out.append(
                    FreeTextFigures(
                        enkat=q.id,
                        item_id=it.id,
                        text=it.text,
                        tillfragade=asked,
                        undertryckt=hidden,
                        answers=texts,
                    )
                )
        return out


# --- the report ----------------------------------------------------------------------------


def build_report(
    responses: pd.DataFrame | Dataset,
    answers: pd.DataFrame | None = None,
    period: Period | None = None,
    *,
    insats: str | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    compare_years: Sequence[int] | None = None,
    allow_unknown_insats: bool = False,
) -> Report:
    """Return the report of a period: figures per indicator, question and group, free texts.

    Pass the two storage frames, or a ready Dataset (and answers=None). `insats` None means all
    insatser; an insats without responses raises UnknownInsatsError, unless
    `allow_unknown_insats`, which gives a report where every question has "Inga svar".
    `compare_years` None compares with the latest measurement years before the period that
    have responses; at most MAX_COMPARISON_YEARS are kept either way.
    """
    if period is None:
        raise TypeError("build_report needs a period")
    if threshold < 1:
        raise ValueError("Gränsen för små grupper måste vara minst 1.")
    data = responses if isinstance(responses, Dataset) else Dataset(responses, _need(answers))
    if insats is not None:
        try:
            insats = data.resolve_insats(insats)
        except UnknownInsatsError:
            if not allow_unknown_insats:
                raise
    selection = data.select(period.months(), insats)
    shown = selection.figures(threshold)

    if compare_years is None:
        years = _comparison_years(data, period, insats)
    else:
        years = sorted(set(compare_years))[-MAX_COMPARISON_YEARS:]
    earlier: dict[int, tuple[Selection, dict[tuple[str, str], tuple[GroupFigures, ...]]]] = {}
    for year in years:
        sel = data.select(measurement_year(year).months(), insats)
        earlier[year] = (sel, sel.figures(threshold))

    questions: dict[int, list[QuestionFigures]] = {}
    for q in data.questionnaires.values():
        for it in reported_items(q):
            comparison = tuple(
                fig for year in years for fig in _year_figures(year, q, it, *earlier[year])
            )
            assert it.number is not None and it.indicator is not None
            questions.setdefault(it.indicator, []).append(
                QuestionFigures(
                    enkat=q.id,
                    item_id=it.id,
                    number=it.number,
                    indicator=it.indicator,
                    text=it.text,
                    kind="yes_no" if it.type == "yes_no" else "scale",
                    groups=shown[(q.id, it.id)],
                    comparison=comparison,
                )
            )
    sections = tuple(
        IndicatorSection(
            number=ind.number,
            text=ind.text,
            measure=ind.measure,
            questions=()
            if ind.measure == "registerstudie"
            else tuple(questions.get(ind.number, [])),
        )
        for ind in sorted(model.indicators().values(), key=lambda i: i.number)
    )
    counts = selection.respondent_counts()
    infos = tuple(
        QuestionnaireInfo(
            id=q.id,
            name=q.name,
            splits_by_gender=q.splits_by_gender,
            respondents=sum(counts[q.id]),
            complete=counts[q.id][0],
            partial=counts[q.id][1],
        )
        for q in data.questionnaires.values()
    )
    return Report(
        period=period,
        insats=insats,
        threshold=threshold,
        questionnaires=infos,
        indicators=sections,
        free_texts=tuple(selection.free_texts(threshold)),
        comparison_years=tuple(years),
    )


def _need(answers: pd.DataFrame | None) -> pd.DataFrame:
    if answers is None:
        raise TypeError("build_report needs the answers frame with the responses frame")
    return answers


def _comparison_years(data: Dataset, period: Period, insats: str | None) -> list[int]:
    r = data.responses
    if insats is not None:
        r = r[r["insats"] == insats]
    months = r.loc[r["month"] < period.start, "month"].unique()
    first_overlap = measurement_year_of(period.start)
    years = sorted({measurement_year_of(m) for m in months} - {first_overlap})
    return years[-MAX_COMPARISON_YEARS:]


def _year_figures(
    year: int,
    q: Questionnaire,
    item: Item,
    selection: Selection,
    shown: Mapping[tuple[str, str], tuple[GroupFigures, ...]],
) -> list[YearFigure]:
    groups = GROUPS if q.splits_by_gender else ("samtliga",)
    versions = selection.responses.loc[selection.responses["enkat"] == q.id, "version"].unique()
    if len(versions) == 0:
        return [YearFigure(year, g, "inga_svar") for g in groups]
    if not any((q.id, int(v), item.id) in selection.data.item_versions for v in versions):
        return [YearFigure(year, g, "jamforelse_saknas") for g in groups]
    out = []
    for g in shown[(q.id, item.id)]:
        out.append(YearFigure(year, g.group, g.status, g.main_value, g.n))
    return out
