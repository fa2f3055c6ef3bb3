"""Counting: the storage frames made ready, and raw counts per question and group.

The indicator figures of a period, computed from raw responses and answers.

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

Free-text answers are shown for samtliga only (lists per gender would give the remainder's
texts by set difference), sorted alphabetically so their order says nothing about who wrote
them or when, with personal data masked again, and hidden when fewer than t were asked.

With a release guard (`analysis.ledger`), `Selection.figures` and `Selection.free_texts` also
hide what an earlier released table would give away by subtraction: the single call site
where suppression meets the release ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from analysis.formatting import swedish_sort_key
from analysis.report_types import FreeTextFigures, GroupFigures, Kind, group_figures
from analysis.suppression import Counts, suppressed_groups
from questionnaires import model
from questionnaires.model import Item, Option, Questionnaire
from questionnaires.textclean import mask_personal_data

GENDER_GROUPS: Mapping[str, str] = {"kvinna": "kvinnor", "man": "män"}
RESPONDENT_STATUSES: tuple[str, ...] = ("complete", "partial")
RESPONSE_COLUMNS: tuple[str, ...] = ("response_id", "enkat", "version", "insats", "month", "status")
ANSWER_COLUMNS: tuple[str, ...] = ("response_id", "item_id", "value")

_OTHERS = "övriga"
_GKEYS = ("kvinnor", "män", _OTHERS)
_RESPONSE_COUNTS = ("month", "enkat", "version", "insats", "status", "gender", "n")
_ANSWER_COUNTS = ("month", "enkat", "version", "insats", "gender", "item_id", "value", "n")
_ANSWER_WORDS = frozenset(_ANSWER_COUNTS) - {"version", "n"}

ScopeKey = tuple[str, str, str | None]
"""Whose answers a table counts: (first month, last month, insats or None for all)."""
Atom = tuple[str, str, str]
"""(month, insats, kvinnor / män / övriga): where people asked a question came from."""


class ReleaseCheck(Protocol):
    """What the suppression step asks the release ledger (`analysis.ledger.ReleaseGuard`)."""

    def hide(
        self,
        scope: ScopeKey,
        enkat: str,
        item_id: str,
        counts: Mapping[str, Counts],
        hidden: frozenset[str],
        close: Callable[[frozenset[str]], frozenset[str]],
        atoms: frozenset[Atom],
    ) -> frozenset[str]:
        """Return `hidden` and whatever else must be hidden because of earlier releases."""
        ...

    def hide_free_text(
        self, scope: ScopeKey, enkat: str, item_id: str, asked: int, atoms: frozenset[Atom]
    ) -> bool:
        """Return True when a free-text list must be held back because of earlier releases."""
        ...


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


def answer_options(item: Item, questionnaires: Mapping[str, Questionnaire]) -> list[Option]:
    """Return the options an answer to `item` may hold, its own scale's first.

    A scale item also accepts the options of the other answer scales (frequency and degree):
    an item that moved to another scale in a newer questionnaire version keeps its id and its
    bands, so answers given on the earlier version's scale are banded by that scale.
    """
    if item.scale is None:
        return []
    options = list(item.scale.options)
    if item.type != "scale":
        return options
    seen = {o.value for o in options}
    for q in questionnaires.values():
        for other in q.items:
            if other.type != "scale" or other.scale is None:
                continue
            for opt in other.scale.options:
                if opt.value not in seen:
                    seen.add(opt.value)
                    options.append(opt)
    return options


class Dataset:
    """Responses and answers counted per group, ready for counting any period and insats.

    Build it from the two storage frames (one row per response and per answer), or with
    `from_counts` from rows the database has already counted (GROUP BY); either way it holds
    counts, not rows: `responses` (enkat, version, insats, month, status, gkey, n) and
    `answers` (enkat, version, insats, month, gkey, item_id, value, n, band, klart, counted).
    Build it once and compute many periods from it (the report, its comparison years, the
    monthly summary).
    """

    def __init__(
        self,
        responses: pd.DataFrame,
        answers: pd.DataFrame,
        questionnaires: Mapping[str, Questionnaire] | None = None,
    ) -> None:
        """Check the frames against the contract, join answers to responses and count them."""
        qs = questionnaires if questionnaires is not None else model.load_all()
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
        r = r[r["status"].isin(RESPONDENT_STATUSES) & r["enkat"].isin(list(qs))]
        r = r.drop_duplicates("response_id")
        a = pd.DataFrame(
            {
                "response_id": answers["response_id"].astype(str).to_numpy(),
                "item_id": answers["item_id"].astype(str).to_numpy(),
                "value": answers["value"].astype(object).to_numpy(),
            }
        )
        a["value"] = a["value"].where(a["value"].notna(), None)
        gender = a[a["item_id"].isin(list(_background_items(qs)))].drop_duplicates("response_id")
        r["gender"] = r["response_id"].map(gender.set_index("response_id")["value"])
        joined = a.merge(r, on="response_id", how="inner")
        self._setup(
            _count(r, ["month", "enkat", "version", "insats", "status", "gender"]),
            _count(joined, ["month", "enkat", "version", "insats", "gender", "item_id", "value"]),
            qs,
            None,
        )

    @classmethod
    def from_counts(
        cls,
        responses: Mapping[str, Sequence[object]],
        answers: Mapping[str, Sequence[object]],
        questionnaires: Mapping[str, Questionnaire] | None = None,
        *,
        insatser: Sequence[str] | None = None,
    ) -> Dataset:
        """Return a Dataset from counts made by the database, given as columns.

        `responses`: month, enkat, version, insats, status, gender (the answer), n;
        `answers`: month, enkat, version, insats, gender, item_id, value, n, free texts
        included. `insatser` are the insatser with responses at all (for resolving a name
        when the months read hold none of its responses).
        """
        qs = questionnaires if questionnaires is not None else model.load_all()
        data = cls.__new__(cls)
        r = pd.DataFrame(
            list(zip(*(responses[c] for c in _RESPONSE_COUNTS), strict=True)),
            columns=list(_RESPONSE_COUNTS),
        )
        r = r[r["status"].isin(RESPONDENT_STATUSES) & r["enkat"].isin(list(qs))]
        # Categories, not strings: tens of thousands of rows of a few distinct words each.
        a = pd.DataFrame({
            c: _category(answers[c]) if c in _ANSWER_WORDS
            else np.asarray(answers[c], dtype=np.int64)
            for c in _ANSWER_COUNTS
        })
        a = a[a["enkat"].isin(list(qs))]
        data._setup(r, a, qs, insatser)
        return data

    def _setup(
        self,
        responses: pd.DataFrame,
        answers: pd.DataFrame,
        questionnaires: Mapping[str, Questionnaire],
        insatser: Sequence[str] | None,
    ) -> None:
        self.questionnaires: Mapping[str, Questionnaire] = questionnaires
        r = responses.copy()
        r["version"] = r["version"].astype(int)
        r["n"] = r["n"].astype(int)
        r["gkey"] = _gkeys(r["gender"])
        self.responses = r.drop(columns=["gender"]).reset_index(drop=True)

        a = pd.DataFrame({
            "month": answers["month"].astype("category"),
            "enkat": answers["enkat"].astype("category"),
            "version": answers["version"].astype(int),
            "insats": answers["insats"].astype("category"),
            "item_id": answers["item_id"].astype("category"),
            "value": answers["value"].astype("category"),
            "n": answers["n"].astype(int),
            "gkey": pd.Categorical(_gkeys(answers["gender"]), categories=_GKEYS),
        }).reset_index(drop=True)
        band, klart, counted = _bands(a, questionnaires)
        a["band"] = band
        a["klart"] = klart
        a["counted"] = counted
        self.answers = a
        self._insatser = list(insatser) if insatser is not None else None

        seen = a[["enkat", "version", "item_id"]].drop_duplicates()
        self.item_versions: set[tuple[str, int, str]] = set(
            zip(seen["enkat"], seen["version"].astype(int), seen["item_id"], strict=True)
        )
        for q in questionnaires.values():
            self.item_versions.update(
                (q.id, v, it.id) for v in q.versions_with_these_items for it in q.items
            )

    @property
    def insatser(self) -> list[str]:
        """Return the insatser that have responses, sorted."""
        names = self._insatser
        if names is None:
            names = self.responses["insats"].unique().tolist()
        return sorted(names, key=swedish_sort_key)

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


def group_sizes(sizes: pd.Series) -> list[tuple[tuple[Any, ...], int]]:
    """Return a groupby(...) count Series over several columns as (key tuple, count) pairs."""
    return [(key if isinstance(key, tuple) else (key,), int(n)) for key, n in sizes.items()]


def background_items(questionnaires: Mapping[str, Questionnaire]) -> list[str]:
    """Return the ids of the background (gender) items that split respondents into groups."""
    return sorted(_background_items(questionnaires))


def text_items(questionnaires: Mapping[str, Questionnaire]) -> list[str]:
    """Return the ids of every free-text item."""
    return sorted({it.id for q in questionnaires.values() for it in q.items if it.type == "text"})


def _background_items(questionnaires: Mapping[str, Questionnaire]) -> set[str]:
    return {q.background_item.id for q in questionnaires.values() if q.background_item}


Flags = np.ndarray[Any, np.dtype[np.bool_]]


def _category(values: Sequence[object]) -> pd.Categorical:
    """Return the values as a Categorical, its categories sorted (None is missing)."""
    # Four times faster than pd.Categorical(values), which checks every value as a string.
    codes, uniques = pd.factorize(np.array(values, dtype=object), sort=True)
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object))


def _bands(
    answers: pd.DataFrame, questionnaires: Mapping[str, Questionnaire]
) -> tuple[pd.Categorical, Flags, Flags]:
    """Return each answer's band, whether it is Klart positivt and whether it counts in n.

    The band is missing where the value is no option of a reported item. Looked up once per
    distinct (enkat, item, value), not per row.
    """
    table: dict[tuple[object, ...], tuple[str | None, bool, bool]] = {
        (q.id, it.id, opt.value): (
            opt.band, opt.klart_positivt, opt.counts and opt.band is not None
        )
        for q in questionnaires.values()
        for it in reported_items(q)
        for opt in answer_options(it, questionnaires)
    }
    columns = [answers[c].cat for c in ("enkat", "item_id", "value")]
    codes = [np.asarray(c.codes, dtype=np.int64) for c in columns]
    # One number per row naming its (enkat, item, value); code -1 (a missing value) is 0.
    key = np.zeros(len(answers), dtype=np.int64)
    for column, code in zip(columns, codes, strict=True):
        key = key * (len(column.categories) + 1) + code + 1
    _, first, row_of = np.unique(key, return_index=True, return_inverse=True)
    found = [
        table.get(
            tuple(c.categories[k[j]] if k[j] >= 0 else None
                  for c, k in zip(columns, codes, strict=True)),
            (None, False, False),
        )
        for j in first.tolist()
    ]
    bands = np.array([f[0] for f in found], dtype=object)
    return (
        pd.Categorical(bands[row_of]),
        np.array([f[1] for f in found], dtype=bool)[row_of],
        np.array([f[2] for f in found], dtype=bool)[row_of],
    )


def _gkeys(gender: pd.Series) -> pd.Series:
    mapped = gender.map(GENDER_GROUPS).astype(object)
    return mapped.where(mapped.notna(), _OTHERS).astype(str)


def _count(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Return one row per distinct `by` (missing values kept) with its count in "n"."""
    return frame.groupby(by, dropna=False, sort=False).size().rename("n").reset_index()


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
        grouped = self.responses.groupby(["enkat", "status"])["n"].sum()
        for (enkat, status), size in group_sizes(grouped):
            c, p = out[enkat]
            out[enkat] = (c + int(size), p) if status == "complete" else (c, p + int(size))
        return out

    def raw_counts(self) -> RawCounts:
        """Return the raw counts per (questionnaire id, item id) and kvinnor / män / övriga."""
        per_version = self.responses.groupby(["enkat", "version", "gkey"])["n"].sum()
        asked_all: dict[tuple[str, str], dict[str, int]] = {}
        for (enkat, version, gkey), size in group_sizes(per_version):
            q = self.data.questionnaires[enkat]
            for it in reported_items(q):
                if (enkat, int(version), it.id) in self.data.item_versions:
                    slot = asked_all.setdefault((enkat, it.id), {})
                    slot[gkey] = slot.get(gkey, 0) + int(size)

        a = self.answers
        counted = a[a["counted"]]
        by_band = counted.groupby(["enkat", "item_id", "gkey", "band"])["n"].sum()
        klart = counted[counted["klart"]].groupby(["enkat", "item_id", "gkey"])["n"].sum()
        cond_values = a.groupby(["enkat", "item_id", "gkey", "value"])["n"].sum()

        band_map: dict[tuple[str, str, str], dict[str, int]] = {}
        for (enkat, item_id, gkey, band), size in group_sizes(by_band):
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

    def asked_atoms(self) -> dict[tuple[str, str], frozenset[Atom]]:
        """Return per (questionnaire id, item id) the atoms that had anyone asked the question.

        Only the release ledger needs these: where a table's people came from, not how many.
        """
        r = self.responses
        r = r[r["n"] > 0] if "n" in r.columns else r
        per_version = r[["enkat", "version", "month", "insats", "gkey"]].drop_duplicates()
        by_version: dict[tuple[str, int], set[Atom]] = {}
        for enkat, version, month, insats, gkey in per_version.itertuples(index=False):
            by_version.setdefault((enkat, int(version)), set()).add((month, insats, gkey))
        a = self.answers
        a = a[a["n"] > 0] if "n" in a.columns else a
        # Only the answers to items that other questions depend on are looked up below.
        conditions = {it.condition.item for q in self.data.questionnaires.values()
                      for it in q.items if it.condition is not None}
        a = a[a["item_id"].isin(list(conditions))]
        by_value: dict[tuple[str, str, str], set[Atom]] = {}
        cols = ["enkat", "item_id", "value", "month", "insats", "gkey"]
        for enkat, item_id, value, month, insats, gkey in (
            a[cols].dropna(subset=["value"]).drop_duplicates().itertuples(index=False)
        ):
            by_value.setdefault((enkat, item_id, str(value)), set()).add((month, insats, gkey))
        out: dict[tuple[str, str], frozenset[Atom]] = {}
        for q in self.data.questionnaires.values():
            for it in q.items:
                if it.condition is not None:
                    atoms = by_value.get((q.id, it.condition.item, it.condition.answer), set())
                else:
                    atoms = set().union(*(
                        found for (enkat, version), found in by_version.items()
                        if enkat == q.id and (enkat, version, it.id) in self.data.item_versions
                    ))
                out[(q.id, it.id)] = frozenset(atoms)
        return out

    def figures(
        self, threshold: int, guard: ReleaseCheck | None = None, scope: ScopeKey | None = None
    ) -> dict[tuple[str, str], tuple[GroupFigures, ...]]:
        """Return the shown figures per (questionnaire id, item id), suppression applied.

        With a `guard` (and the `scope` these figures count) the release ledger may hide more.
        """
        raw = self.raw_counts()
        atoms = self.asked_atoms() if guard is not None else {}
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
                if guard is not None and scope is not None:
                    hidden = guard.hide(
                        scope, q.id, it.id, groups, hidden,
                        lambda h, g=groups: suppressed_groups(g, threshold, inherited=h),  # type: ignore[misc]
                        atoms[(q.id, it.id)],
                    )
                hidden_by_item[it.id] = hidden
                kind: Kind = "yes_no" if it.type == "yes_no" else "scale"
                out[(q.id, it.id)] = tuple(
                    group_figures(g, kind, c, g in hidden) for g, c in groups.items()
                )
        return out

    def free_texts(
        self, threshold: int, guard: ReleaseCheck | None = None, scope: ScopeKey | None = None
    ) -> list[FreeTextFigures]:
        """Return every free-text question's answers, hidden where fewer than threshold asked.

        With a `guard`, also hidden where the release ledger finds an earlier list that differs
        from this one by a few people.
        """
        out: list[FreeTextFigures] = []
        atoms = self.asked_atoms() if guard is not None else {}
        per_version = self.responses.groupby(["enkat", "version"])["n"].sum()
        text_rows = self.answers[self.answers["value"].notna()]
        for q in self.data.questionnaires.values():
            for it in q.items:
                if it.type != "text":
                    continue
                asked = sum(
                    int(size)
                    for (enkat, version), size in group_sizes(per_version)
                    if enkat == q.id and (enkat, int(version), it.id) in self.data.item_versions
                )
                hidden = 1 <= asked < threshold
                if not hidden and guard is not None and scope is not None:
                    hidden = guard.hide_free_text(scope, q.id, it.id, asked, atoms[(q.id, it.id)])
                texts: tuple[str, ...] = ()
                if not hidden:
                    mine = (text_rows["item_id"] == it.id) & (text_rows["enkat"] == q.id)
                    counts = text_rows.loc[mine].groupby("value")["n"].sum()
                    # Each distinct text is masked and sorted once, then listed as often as it
                    # was given (the sort is stable, so equal keys keep the order they had).
                    cleaned = [
                        (mask_personal_data(str(v).strip())[0], int(n)) for v, n in counts.items()
                    ]
                    ordered = sorted(((t, n) for t, n in cleaned if t),
                                     key=lambda pair: swedish_sort_key(pair[0]))
                    texts = tuple(t for t, n in ordered for _ in range(n))
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
