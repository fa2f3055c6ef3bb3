"""End to end: what a coordinator's phone receives can never be subtracted to show a few people.

The audit's case through the real bot: the monthly summary (the year so far, all insatser),
then /rapport with forged buttons asking for the year so far one month earlier and for one
insats. Every workbook the phone received is read back and every pair of nested ones diffed.
"""

from __future__ import annotations

import io
import itertools
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from analysis.periods import measurement_year_of, shift_month, year_to_date
from analysis.texts import BAND_HEADINGS, short_name
from bot.config import Settings
from bot.reports import latest_due_month
from storage import open_store
from tests.e2e import INSATS, BotUnderTest, bot_under_test

pytestmark = pytest.mark.e2e

COORDINATOR = 601
OTHER_INSATS = "Språnget"
ENKAT = "deltagare-avslut"
T = 5
SCALE_ITEMS = [f"avslut-{n}" for n in range(1, 8)]


def _due_month() -> str:
    return latest_due_month(datetime.now(ZoneInfo("Europe/Stockholm")), Settings(None, None))  # type: ignore[arg-type]


def _insert(
    bot: BotUnderTest, month: str, insats: str, gender: str, value: str, count: int
) -> None:
    """Store `count` complete avslut responses of one kind, as submitted in `month`."""
    with closing(open_store(bot.db_path)) as store:
        insats_id = (store.get_insats(insats) or store.add_insats(insats)).id
        for i in range(count):
            rid = f"{month}-{insats}-{gender}-{value}-{i}"
            store.db["response"].insert({"id": rid, "enkat": ENKAT, "version": 1,
                                         "insats_id": insats_id, "month": month,
                                         "status": "complete"})
            answers = {"avslut-kon": gender, "avslut-8": "nej"}
            answers.update({item: value for item in SCALE_ITEMS})
            store.db["answer"].insert_all(
                {"response_id": rid, "item_id": k, "value": v} for k, v in answers.items()
            )


@dataclass(frozen=True)
class Received:
    """One workbook the phone received, read back: its scope and its shown figures."""

    start: str
    end: str
    insats: str | None
    # (question number, group) -> (tillfrågade, n, band counts…); hidden groups are absent.
    shown: dict[tuple[int, str], tuple[int, ...]]
    hidden: set[tuple[int, str]]

    def within(self, other: Received) -> bool:
        months = other.start <= self.start and self.end <= other.end
        return months and (other.insats is None or other.insats == self.insats)


def _read(document: bytes, month: str, insats: str | None) -> Received:
    wb = load_workbook(io.BytesIO(document))
    ws = wb[short_name(ENKAT)]
    shown: dict[tuple[int, str], tuple[int, ...]] = {}
    hidden: set[tuple[int, str]] = set()
    headers: dict[str, int] = {}
    number = None
    for row in ws.iter_rows(values_only=True):
        if "Grupp" in row:
            headers = {str(v): i for i, v in enumerate(row) if v is not None}
            continue
        if not headers or row[headers["Grupp"]] is None:
            continue
        number = row[headers["Fråga"]] or number
        group = str(row[headers["Grupp"]]).lower()
        tf, n = row[headers["Tillfrågade"]], row[headers["n"]]
        if not isinstance(tf, int):
            hidden.add((int(number), group))
            continue
        bands = [
            round((row[headers[h]] or 0) * n)
            for b, h in BAND_HEADINGS.items()
            if h in headers and isinstance(row[headers[h]], float | int)
        ]
        shown[(int(number), group)] = (tf, n, *bands)
    ytd = year_to_date(month)
    return Received(ytd.start, ytd.end, insats, shown, hidden)


def _small(values: tuple[int, ...]) -> bool:
    tf, n = abs(values[0]), abs(values[1])
    return 1 <= n < T or (n == 0 and 1 <= tf < T)


def _leaks(received: list[Received]) -> list[str]:
    """Return every difference of two nested received tables that describes 1–4 people."""
    found = []
    for a, b in itertools.permutations(received, 2):
        if not a.within(b):
            continue
        numbers = {q for q, _ in a.shown} | {q for q, _ in b.shown}
        for q in numbers:
            diffs = {}
            for g in ("samtliga", "kvinnor", "män"):
                if (q, g) in a.shown and (q, g) in b.shown and len(a.shown[q, g]) == len(
                    b.shown[q, g]
                ):
                    diffs[g] = tuple(x - y for x, y in zip(b.shown[q, g], a.shown[q, g],
                                                           strict=True))
            if len(diffs) == 3:
                diffs["övriga"] = tuple(s - k - m for s, k, m in zip(*diffs.values(),
                                                                     strict=True))
            found += [f"{a.end}/{a.insats} in {b.end}/{b.insats}: fråga {q} {g} {d}"
                      for g, d in diffs.items() if _small(d)]
    return found


def test_the_phone_never_receives_two_tables_that_subtract_to_a_few_people(tmp_path):
    now = _due_month()
    before = shift_month(now, -1)
    with bot_under_test(tmp_path) as bot:
        # Last month: five women all positive and six men. This month one more woman, who
        # answered "Aldrig" throughout, and five men; two women in a second insats.
        _insert(bot, before, INSATS, "kvinna", "alltid", 5)
        _insert(bot, before, INSATS, "man", "ofta", 6)
        _insert(bot, now, INSATS, "kvinna", "aldrig", 1)
        _insert(bot, now, INSATS, "man", "ibland", 5)
        _insert(bot, now, OTHER_INSATS, "kvinna", "aldrig", 2)
        with closing(open_store(bot.db_path)) as store:
            store.add_user(COORDINATOR, "coordinator")
            store.subscribe(COORDINATOR, today=date(2020, 1, 1))
            insats_id = store.get_insats(INSATS).id  # type: ignore[union-attr]
        cora = bot.api.phone(COORDINATOR, "Cora", started=True)
        bot.phones.append(cora)
        bot.start()

        def next_workbook() -> bytes:
            doc = cora.wait_for(lambda m: m.document_bytes is not None, timeout=60)
            assert doc.document_bytes is not None
            return doc.document_bytes

        # The monthly summary arrives by itself: the year so far through this month, all.
        received = [_read(next_workbook(), now, None)]

        # /rapport, each time with a button forged to ask for the year so far through any month
        # and any insats.
        for month, insats, name in ((before, 0, None), (now, insats_id, INSATS),
                                    (before, insats_id, INSATS)):
            cora.send("/rapport")
            menu = cora.wait_for_text("Vilken period")
            cora.tap_data(menu.message_id, f"R:i:y{month}:{insats}")  # the year so far
            received.append(_read(next_workbook(), month, name))

    assert _leaks(received) == []
    ytd_now, ytd_before, one_now, _ = received
    if measurement_year_of(before) == measurement_year_of(now):
        # Without the ledger the year so far through last month would show kvinnor n=5, all
        # positive, beside n=8 this month: three women's answers by subtraction.
        assert ytd_now.shown[(1, "kvinnor")][1] == 8
        assert (1, "kvinnor") in ytd_before.hidden
    # One insats against all: the other insats's two women are held back, so this one's
    # samtliga is not shown beside all insatser's.
    assert (1, "samtliga") in one_now.hidden
    # In November the year so far is that month alone: last month belongs to the year before.
    same_year = measurement_year_of(before) == measurement_year_of(now)
    assert ytd_now.shown[(1, "samtliga")][1] == (19 if same_year else 8)
