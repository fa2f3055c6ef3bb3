"""Twenty participants answer at the same time: no answer is lost or lands in another response."""

from __future__ import annotations

import time

import pytest

from bot.texts import deltagare as t
from questionnaires.model import get
from tests.e2e import (
    BotUnderTest,
    as_multiset,
    expected_answers,
    open_survey,
    run_in_threads,
    submit,
    walk,
)

pytestmark = pytest.mark.e2e

PARTICIPANTS = 20
STEP = 60.0  # one reply may wait behind the whole crowd's messages in the rate limiter


def pattern(i: int) -> list[str]:
    """Return participant i's answers to deltagare-pagaende; every participant's differ."""
    q = get("deltagare-pagaende")
    kon = [o.label for o in q.items[0].scale.options]  # type: ignore[union-attr]
    # Each question's own scale: question 6 takes the degree scale, the others frequency.
    scales = [[o.label for o in it.scale.options] for it in q.items[1:8]]  # type: ignore[union-attr]
    return [
        kon[i % len(kon)],
        *[labels[(i + k) % len(labels)] for k, labels in enumerate(scales)],
        f"Deltagare {i:02d} vill hitta ett jobb",
        t.BUTTON_SKIP if i % 3 == 0 else f"Stödet gav deltagare {i:02d} mod",
        f"Inget mer att säga från {i:02d}",
    ]


def test_twenty_participants_answering_at_once_keep_their_own_answers(
    bot: BotUnderTest,
) -> None:
    bot.start()
    tokens = [bot.link("deltagare-pagaende") for _ in range(PARTICIPANTS)]
    phones = [bot.phone(730_005_000 + i, f"Deltagare{i:02d}") for i in range(PARTICIPANTS)]

    def participant(i: int) -> None:
        open_survey(phones[i], tokens[i], timeout=STEP)
        walk(phones[i], pattern(i), timeout=STEP)
        submit(phones[i], timeout=STEP)

    started = time.monotonic()
    run_in_threads([lambda i=i: participant(i) for i in range(PARTICIPANTS)], timeout=240)
    elapsed = time.monotonic() - started

    stored = bot.responses()
    assert len(stored) == PARTICIPANTS
    assert {(enkat, insats) for enkat, insats, _ in stored} == {
        ("deltagare-pagaende", "Steg framåt")
    }
    assert as_multiset([answers for _, _, answers in stored]) == as_multiset(
        [expected_answers("deltagare-pagaende", pattern(i)) for i in range(PARTICIPANTS)]
    )
    assert bot.responses("in_progress") == []
    assert bot.sql("SELECT count(*) FROM session") == [(0,)]
    print(f"{PARTICIPANTS} participants finished in {elapsed:.1f} s")
