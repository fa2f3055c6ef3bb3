"""Responses and links per insats: counted from the link counters, no link says if it was used,
small numbers hidden; shown in the workbook and the PDF."""

from __future__ import annotations

import io
from contextlib import closing
from datetime import UTC, date, datetime

import openpyxl
import pandas as pd
import pytest

from analysis.figures import build_report
from analysis.insatser import LinkCounts, insats_rows
from analysis.periods import single_month
from analysis.workbook import workbook_bytes
from storage import open_store

pytestmark = pytest.mark.storage


def _use(store, tokens, *, start, submit, discard=0, today=date(2025, 3, 10)):
    """Start `start` of the links; submit `submit` of those and /radera `discard`."""
    for i, token in enumerate(tokens[:start]):
        now = datetime(today.year, today.month, today.day, tzinfo=UTC)
        store.start_session(9000 + i, store.check_link(token, now=now), 2, today=today)
    for i in range(submit):
        store.finish_session(9000 + i, today=today)
    for i in range(submit, submit + discard):
        store.discard_session(9000 + i)


def test_link_counters_count_handed_out_started_and_submitted_per_insats(tmp_path):
    with closing(open_store(tmp_path / "db.sqlite")) as store:
        store.add_insats("Steget")
        store.add_insats("Lilla")
        made = datetime(2025, 3, 2, tzinfo=UTC)
        tokens = store.create_links("Steget", "deltagare-avslut", count=9, now=made)
        _use(store, tokens, start=8, submit=6, discard=1)
        small = store.create_links("Lilla", "deltagare-avslut", count=4, now=made)
        _use(store, small, start=2, submit=2, today=date(2025, 3, 11))
        store.create_links("Steget", "personal", count=2, uses=5, now=made)
        rows = store.link_counts("2025-03", "2025-03")
        assert store.link_counts("2025-04", "2025-12") == []
        # The link table itself says nothing about which link was submitted.
        columns = [r[1] for r in store.db.execute("PRAGMA table_info(link)").fetchall()]
        assert not {"started", "submitted"} & set(columns)
    assert rows == [
        {"insats": "Lilla", "enkat": "deltagare-avslut", "handed_out": 4, "started": 2,
         "submitted": 2},
        {"insats": "Steget", "enkat": "deltagare-avslut", "handed_out": 9, "started": 7,
         "submitted": 6},
        {"insats": "Steget", "enkat": "personal", "handed_out": 10, "started": 0,
         "submitted": 0},
    ]


def test_the_table_hides_small_numbers_and_gives_the_share_of_answered_links():
    responses = pd.DataFrame(
        [("Steget", "deltagare-avslut", 4), ("Steget", "deltagare-avslut", 2),
         ("Lilla", "deltagare-avslut", 2)],
        columns=["insats", "enkat", "n"],
    )
    links = [
        LinkCounts("Steget", "deltagare-avslut", 9, 7, 6),
        LinkCounts("Lilla", "deltagare-avslut", 4, 2, 2),
        LinkCounts("Steget", "personal", 10, 0, 0),
    ]
    rows = insats_rows(responses, ["deltagare-avslut", "personal"], 5, links)
    by = {(r.insats, r.enkat): r for r in rows}
    steget = by[("Steget", "deltagare-avslut")]
    assert (steget.responses, steget.handed_out, steget.started, steget.submitted) == (6, 9, 7, 6)
    assert steget.andel == 67
    lilla = by[("Lilla", "deltagare-avslut")]
    assert lilla.hidden and lilla.responses is None
    assert lilla.links_hidden and lilla.started is None and lilla.andel is None
    assert lilla.handed_out == 4  # handing out links says nothing about anyone's answers
    unused = by[("Steget", "personal")]
    assert (unused.responses, unused.andel) == (0, 0)
    assert [r.insats for r in rows] == ["Lilla", "Steget", "Steget"]


def test_the_workbook_has_the_per_insats_sheet():
    responses = pd.DataFrame(
        [
            {"response_id": f"r{i}", "enkat": "deltagare-avslut", "version": 2,
             "insats": "Steget" if i < 6 else "Lilla", "month": "2025-03",
             "status": "complete"}
            for i in range(8)
        ]
    )
    answers = pd.DataFrame(columns=["response_id", "item_id", "value"])
    report = build_report(
        responses, answers, single_month("2025-03"),
        links=[LinkCounts("Steget", "deltagare-avslut", 9, 7, 6)],
    )
    wb = openpyxl.load_workbook(io.BytesIO(workbook_bytes(report)))
    ws = wb["Per insats"]
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    assert ["Lilla", "Deltagare avslut", "färre än 5", None, None, None, None] in values
    assert ["Steget", "Deltagare avslut", 6, 9, 7, 6, 6 / 9] in values
