"""A full disk, for real (a small tmpfs): the participant is told their last answer could not
be saved, never "Dina svar är sparade", and the bot takes answers again by itself as soon as
there is room (issue 9.4). Needs root to mount the tmpfs; skipped elsewhere.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bot.texts import deltagare as t
from questionnaires.model import get
from tests.botapi import FakeBotAPI
from tests.e2e import (
    BOT_USERNAME,
    TOKEN,
    BotUnderTest,
    expected_answers,
    open_survey,
    question,
    submit,
    wait_answered,
    walk,
)

pytestmark = pytest.mark.e2e


def answers() -> list[str]:
    """Return a full set of answers to deltagare-pagaende."""
    q = get("deltagare-pagaende")
    kon = [o.label for o in q.items[0].scale.options]  # type: ignore[union-attr]
    frekvens = [o.label for o in q.items[1].scale.options]  # type: ignore[union-attr]
    return [kon[1], *frekvens[1:8], "Ett jobb att gå till", t.BUTTON_SKIP, "Tack"]


def fill(folder: Path) -> Path:
    """Fill the file system holding `folder` to the last byte; return the filler file."""
    filler = folder / "fyllnad"
    with open(filler, "wb", buffering=0) as fh:
        for size in (1 << 16, 1 << 12, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError:
                continue
    return filler


@pytest.fixture
def small_disk(tmp_path: Path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True
    ).returncode:
        pytest.skip("needs root and a tmpfs mount to fill a disk for real")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=True)


@pytest.mark.xfail(
    strict=True,
    reason="known defect since the flow rewrite: after a failed write and a successful retap, "
    "the next tap is first answered as stale, then counted (issue 9.4 note)",
)
def test_a_full_disk_says_the_answer_was_not_saved_and_the_bot_recovers(small_disk, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    given = answers()
    with FakeBotAPI(token=TOKEN, bot_username=BOT_USERNAME) as api:
        bot = BotUnderTest(api, small_disk / "enkatbot.db", work)
        bot.expected_errors = True  # the failed write is logged as an error, by design
        try:
            bot.start()
            maja = bot.phone(730_007_001, "Maja")
            open_survey(maja, bot.link("deltagare-pagaende"))
            walk(maja, given[:1])
            second = question(maja, 2)

            filler = fill(small_disk)
            before = len(maja.messages)
            maja.tap(given[1], second)
            maja.wait_for_text(t.NOT_SAVED, timeout=30)
            said = [m.text for m in maja.messages[before:]]
            assert not any("sparade" in text for text in said), said
            assert not any(t.ANSWERED_PREFIX in text for text in said), said

            filler.unlink()
            maja.tap(given[1], second)
            wait_answered(maja, second, given[1], timeout=30)
            walk(maja, given[2:], first=3)
            submit(maja)
        finally:
            bot.stop()
            print(f"----- bot log -----\n{bot.log[-8000:]}")
        assert bot.responses() == [
            ("deltagare-pagaende", "Steg framåt", expected_answers("deltagare-pagaende", given))
        ]
        assert "event=write_failed" in bot.log
        bot.check_log()
        assert api.unanswered_callbacks == []
