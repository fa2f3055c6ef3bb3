"""Reading a report's data from the database: counted in SQL, only the years a report shows.

A report shows its period and up to three earlier measurement years; nothing else is read.
The database counts answers per group (GROUP BY) and keeps the counts of months that did not
change, so the cost of a report follows the answers of the period asked, not the whole file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from analysis.counting import GENDER_GROUPS, Dataset, background_items, text_items
from analysis.figures import MAX_COMPARISON_YEARS
from analysis.periods import measurement_year, measurement_year_of
from questionnaires import model
from questionnaires.model import Questionnaire
from storage import Store


def months_to_read(months: Iterable[str], stored: Iterable[str], compare: bool = True) -> list[str]:
    """Return the months a report over `months` needs: them and the comparison years.

    `stored` are the months that have responses; the comparison years are the latest (at most
    MAX_COMPARISON_YEARS) measurement years before the first month that have any.
    """
    wanted = set(months)
    if not wanted:
        return []
    start = min(wanted)
    have = set(stored)
    if compare:
        first_overlap = measurement_year_of(start)
        years = sorted({measurement_year_of(m) for m in have if m < start} - {first_overlap})
        for year in years[-MAX_COMPARISON_YEARS:]:
            wanted.update(measurement_year(year).months())
    return sorted(wanted & have)


def load_dataset(
    store: Store,
    months: Iterable[str],
    *,
    insats: str | None = None,
    compare: bool = True,
    questionnaires: Mapping[str, Questionnaire] | None = None,
) -> Dataset:
    """Return a Dataset of `months` (and their comparison years) counted by the database.

    `insats` None reads all insatser; a name reads that insats only (case-insensitive); the
    Dataset still knows every insats with responses, to resolve names and say which exist.
    """
    qs = questionnaires if questionnaires is not None else model.load_all()
    names = store.respondent_insatser()
    if insats is not None:
        # Matched here, not in SQL: SQLite's NOCASE folds only A–Z, not Å, Ä and Ö.
        wanted = insats.strip().casefold()
        insats = next((n for n in names if n.casefold() == wanted), insats.strip())
    read = months_to_read(months, store.respondent_months(insats), compare)
    counted = store.counted(
        read,
        background_items=background_items(qs),
        groups=sorted(GENDER_GROUPS),
        text_items=text_items(qs),
        text_months=sorted(set(months)),
        insats=insats,
    )
    answers = {name: [*column, *counted.texts[name]] for name, column in counted.answers.items()}
    return Dataset.from_counts(counted.responses, answers, qs, insatser=names)
