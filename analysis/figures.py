"""The indicator figures of a period, computed from raw responses and answers.

`build_report` is the entry: it counts (`analysis.counting`: the definitions of tillfrågade, n,
bands and svarsfrekvens), hides small groups (`analysis.suppression`) and returns a `Report`
(`analysis.report_types`). Every name those modules define for reports is re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from analysis.counting import (
    ANSWER_COLUMNS,
    GENDER_GROUPS,
    RESPONDENT_STATUSES,
    RESPONSE_COLUMNS,
    DataError,
    Dataset,
    RawCounts,
    ReleaseCheck,
    ScopeKey,
    Selection,
    UnknownInsatsError,
    reported_items,
)
from analysis.historik import HistoryRow
from analysis.insatser import LinkCounts, insats_rows
from analysis.periods import Period, measurement_year, measurement_year_of
from analysis.report_types import (
    GROUP_LABELS,
    FreeTextFigures,
    GroupFigures,
    IndicatorSection,
    Kind,
    QuestionFigures,
    QuestionnaireInfo,
    Report,
    Status,
    YearFigure,
    YearStatus,
    group_figures,
)
from analysis.suppression import DEFAULT_THRESHOLD, GROUPS, Counts, is_small, suppressed_groups
from questionnaires import model
from questionnaires.model import Item, Questionnaire

__all__ = [
    "ANSWER_COLUMNS",
    "DEFAULT_THRESHOLD",
    "GENDER_GROUPS",
    "GROUPS",
    "GROUP_LABELS",
    "MAX_COMPARISON_YEARS",
    "RESPONDENT_STATUSES",
    "RESPONSE_COLUMNS",
    "Counts",
    "DataError",
    "Dataset",
    "FreeTextFigures",
    "GroupFigures",
    "IndicatorSection",
    "Kind",
    "QuestionFigures",
    "QuestionnaireInfo",
    "RawCounts",
    "ReleaseCheck",
    "Report",
    "Selection",
    "Status",
    "UnknownInsatsError",
    "YearFigure",
    "YearStatus",
    "build_report",
    "group_figures",
    "is_small",
    "reported_items",
    "suppressed_groups",
]

MAX_COMPARISON_YEARS = 3


def build_report(
    responses: pd.DataFrame | Dataset,
    answers: pd.DataFrame | None = None,
    period: Period | None = None,
    *,
    insats: str | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    compare_years: Sequence[int] | None = None,
    allow_unknown_insats: bool = False,
    guard: ReleaseCheck | None = None,
    links: Sequence[LinkCounts] = (),
    history: Sequence[HistoryRow] = (),
) -> Report:
    """Return the report of a period: figures per indicator, question and group, free texts.

    Pass the two storage frames, or a ready Dataset (and answers=None). `insats` None means all
    insatser; an insats without responses raises UnknownInsatsError, unless
    `allow_unknown_insats`, which gives a report where every question has "Inga svar".
    `compare_years` None compares with the latest measurement years before the period that
    have responses or imported figures; at most MAX_COMPARISON_YEARS are kept either way.
    `guard`, the release ledger (`analysis.ledger.ReleaseGuard`), may hide more figures —
    current and comparison years — because of earlier releases, and collects what this report
    releases. `links` are the link counts per insats and questionnaire for the per-insats
    table; `history` the imported figures of earlier years (reports of all insatser only),
    used for a questionnaire the bot has no answers for in that year.
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
    scope: ScopeKey = (period.start, period.end, insats)
    shown = selection.figures(threshold, guard, scope)

    imported = (
        {(r.ar, r.enkat, r.fraga, r.grupp): r for r in history} if insats is None else {}
    )
    if compare_years is None:
        years = _comparison_years(data, period, insats, {key[0] for key in imported})
    else:
        years = sorted(set(compare_years))[-MAX_COMPARISON_YEARS:]
    earlier: dict[int, tuple[Selection, dict[tuple[str, str], tuple[GroupFigures, ...]]]] = {}
    versions: dict[int, dict[str, list[int]]] = {}
    for year in years:
        whole = measurement_year(year)
        sel = data.select(whole.months(), insats)
        earlier[year] = (sel, sel.figures(threshold, guard, (whole.start, whole.end, insats)))
        versions[year] = _versions(sel)

    questions: dict[int, list[QuestionFigures]] = {}
    for q in data.questionnaires.values():
        for it in reported_items(q):
            comparison = tuple(
                fig
                for year in years
                for fig in _year_figures(year, q, it, versions[year].get(q.id, []),
                                         *earlier[year], imported, threshold)
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
        free_texts=tuple(selection.free_texts(threshold, guard, scope)),
        comparison_years=tuple(years),
        imported_years=tuple(
            sorted(
                {
                    y.year
                    for qs in questions.values()
                    for qf in qs
                    for y in qf.comparison
                    if y.imported
                }
            )
        ),
        insatser=insats_rows(
            selection.responses, list(data.questionnaires), threshold, links, insats
        ),
    )


def _need(answers: pd.DataFrame | None) -> pd.DataFrame:
    if answers is None:
        raise TypeError("build_report needs the answers frame with the responses frame")
    return answers


def _comparison_years(
    data: Dataset, period: Period, insats: str | None, imported_years: set[int]
) -> list[int]:
    r = data.responses
    if insats is not None:
        r = r[r["insats"] == insats]
    months = r.loc[r["month"] < period.start, "month"].unique()
    first_overlap = measurement_year_of(period.start)
    earlier = {y for y in imported_years if y < first_overlap}
    years = sorted(({measurement_year_of(m) for m in months} | earlier) - {first_overlap})
    return years[-MAX_COMPARISON_YEARS:]


def _versions(selection: Selection) -> dict[str, list[int]]:
    """Return the questionnaire versions with responses in the selection, per questionnaire."""
    pairs = selection.responses[["enkat", "version"]].drop_duplicates()
    out: dict[str, list[int]] = {}
    for enkat, version in zip(pairs["enkat"], pairs["version"], strict=True):
        out.setdefault(str(enkat), []).append(int(version))
    return out


def _year_figures(
    year: int,
    q: Questionnaire,
    item: Item,
    versions: Sequence[int],
    selection: Selection,
    shown: Mapping[tuple[str, str], tuple[GroupFigures, ...]],
    imported: Mapping[tuple[int, str, int, str], HistoryRow],
    threshold: int,
) -> list[YearFigure]:
    groups = GROUPS if q.splits_by_gender else ("samtliga",)
    if len(versions) == 0:
        assert item.number is not None
        if any((year, q.id, item.number, g) in imported for g in groups):
            return [
                _imported_figure(year, g, imported.get((year, q.id, item.number, g)), item,
                                 threshold)
                for g in groups
            ]
        return [YearFigure(year, g, "inga_svar") for g in groups]
    if not any((q.id, int(v), item.id) in selection.data.item_versions for v in versions):
        return [YearFigure(year, g, "jamforelse_saknas") for g in groups]
    out = []
    for g in shown[(q.id, item.id)]:
        out.append(YearFigure(year, g.group, g.status, g.main_value, g.n))
    return out


def _imported_figure(
    year: int, group: str, row: HistoryRow | None, item: Item, threshold: int
) -> YearFigure:
    """Return an imported figure; a small group is hidden as the bot's own would be."""
    if row is None or (row.n == 0):
        return YearFigure(year, group, "inga_svar", imported=True)
    if row.n is None or is_small(Counts(tillfragade=row.tillfragade or 0, n=row.n), threshold):
        return YearFigure(year, group, "undertryckt", imported=True)
    value = row.ja if item.type == "yes_no" else row.positivt
    return YearFigure(year, group, "ok", value, row.n, imported=True)
