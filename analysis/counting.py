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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.formatting import swedish_sort_key
from analysis.report_types import FreeTextFigures, GroupFigures, Kind, group_figures
from analysis.suppression import Counts, suppressed_groups
from questionnaires import model
from questionnaires.model import Item, Questionnaire
from questionnaires.textclean import mask_personal_data

GENDER_GROUPS: Mapping[str, str] = {"kvinna": "kvinnor", "man": "män"}
RESPONDENT_STATUSES: tuple[str, ...] = ("complete", "partial")
RESPONSE_COLUMNS: tuple[str, ...] = ("response_id", "enkat", "version", "insats", "month", "status")
ANSWER_COLUMNS: tuple[str, ...] = ("response_id", "item_id", "value")

_OTHERS = "övriga"
_GKEYS = ("kvinnor", "män", _OTHERS)


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


def group_sizes(sizes: pd.Series) -> list[tuple[tuple[Any, ...], int]]:
    """Return a groupby(...).size() Series over several columns as (key tuple, count) pairs."""
    return [(key if isinstance(key, tuple) else (key,), int(n)) for key, n in sizes.items()]


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
        for (enkat, status), size in group_sizes(grouped):
            c, p = out[enkat]
            out[enkat] = (c + int(size), p) if status == "complete" else (c, p + int(size))
        return out

    def raw_counts(self) -> RawCounts:
        """Return the raw counts per (questionnaire id, item id) and kvinnor / män / övriga."""
        per_version = self.responses.groupby(["enkat", "version", "gkey"]).size()
        asked_all: dict[tuple[str, str], dict[str, int]] = {}
        for (enkat, version, gkey), size in group_sizes(per_version):
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
                    for (enkat, version), size in group_sizes(per_version)
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
