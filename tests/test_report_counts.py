"""Reports counted by the database equal reports counted from every answer row.

The report path reads counts per group (GROUP BY in SQLite, kept per month) instead of every
answer; these tests hold it to the figures the row-by-row path gives for the same responses,
also after the stored counts went stale because a response was added, expired or deleted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

from analysis.figures import build_report
from analysis.loading import load_dataset, months_to_read
from analysis.periods import measurement_year, single_month, year_to_date
from analysis.sample import generate_sample
from analysis.summary import build_monthly_summary
from storage import Store

YEARS = (2023, 2024, 2025)


def write(db: Path, responses: pd.DataFrame, answers: pd.DataFrame) -> None:
    """Store the sample frames as the bot would have (through the real schema)."""
    with closing(Store(db)) as store:
        ids = {n: store.add_insats(n).id for n in sorted(responses["insats"].unique())}
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.executemany(
            "INSERT INTO response (id, enkat, version, insats_id, month, status) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(r.response_id, r.enkat, int(r.version), ids[r.insats], r.month, r.status)
             for r in responses.itertuples(index=False)],
        )
        conn.executemany(
            "INSERT INTO answer (response_id, item_id, value) VALUES (?, ?, ?)",
            [(a.response_id, a.item_id, a.value if isinstance(a.value, str) else None)
             for a in answers.itertuples(index=False)],
        )


@pytest.fixture
def stored(tmp_path: Path) -> Iterator[tuple[Store, pd.DataFrame, pd.DataFrame]]:
    responses, answers = generate_sample(3, YEARS, participants_per_year=160)
    db = tmp_path / "r.db"
    write(db, responses, answers)
    with closing(Store(db)) as store:
        yield store, responses, answers


@pytest.mark.parametrize("insats", [None, "Steget vidare", "kraftsamling"])
def test_a_year_counted_in_sql_equals_the_year_counted_from_rows(stored, insats) -> None:
    store, responses, answers = stored
    period = measurement_year(2025)
    from_rows = build_report(responses, answers, period, insats=insats)
    for _ in range(2):  # the second time from the kept counts
        counted = build_report(load_dataset(store, period.months(), insats=insats),
                               period=period, insats=insats)
        assert counted == from_rows
    assert from_rows.comparison_years == (2023, 2024)


def test_one_month_reads_only_its_month_and_the_comparison_years(stored) -> None:
    store, responses, answers = stored
    months = store.respondent_months()
    read = months_to_read(["2025-03"], months)
    assert "2025-03" in read and "2025-04" not in read and "2024-03" in read
    period = single_month("2025-03")
    assert build_report(load_dataset(store, period.months()), period=period) == build_report(
        responses, answers, period
    )


def test_the_monthly_summary_is_the_same_from_counts(stored) -> None:
    store, responses, answers = stored
    month = "2025-06"
    counted = build_monthly_summary(
        load_dataset(store, year_to_date(month).months()), None, month
    )
    assert counted.text == build_monthly_summary(responses, answers, month).text


def test_counts_follow_a_response_added_expired_or_deleted(stored) -> None:
    store, responses, answers = stored
    period = measurement_year(2025)
    load_dataset(store, period.months())  # the counts are kept now
    new = pd.DataFrame(
        [("extra-1", "deltagare-avslut", 1, "Kraftsamling", "2025-03", "in_progress")],
        columns=responses.columns,
    )
    new_answers = pd.DataFrame(
        [("extra-1", "avslut-1", "kvinna"), ("extra-1", "avslut-2", "ja")],
        columns=answers.columns,
    )
    kraft = store.get_insats("Kraftsamling")
    assert kraft is not None
    store.db.execute(
        "INSERT INTO response (id, enkat, version, insats_id, month, status) "
        "VALUES ('extra-1', 'deltagare-avslut', 1, ?, '2025-03', 'in_progress')", [kraft.id]
    )
    store.db.execute(
        "INSERT INTO answer (response_id, item_id, value) VALUES "
        "('extra-1', 'avslut-1', 'kvinna'), ('extra-1', 'avslut-2', 'ja')"
    )
    # Unfinished: not counted yet.
    assert build_report(load_dataset(store, period.months()), period=period) == build_report(
        responses, answers, period
    )
    store.db.execute("UPDATE response SET status = 'partial' WHERE id = 'extra-1'")
    all_r = pd.concat([responses, new.assign(status="partial")], ignore_index=True)
    all_a = pd.concat([answers, new_answers], ignore_index=True)
    with_new = build_report(all_r, all_a, period)
    assert build_report(load_dataset(store, period.months()), period=period) == with_new
    assert with_new != build_report(responses, answers, period)
    store.db.execute("DELETE FROM response WHERE id = 'extra-1'")
    assert build_report(load_dataset(store, period.months()), period=period) == build_report(
        responses, answers, period
    )
