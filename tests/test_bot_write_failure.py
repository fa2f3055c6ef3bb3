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
    expect_no_reply,
    expected_answers,
    fill,
    open_survey,
    question,
    submit,
    wait_answered,
    walk,
)

pytestmark = pytest.mark.e2e


def answers() -> list[str]:
    """Return a full set of answers to deltagare-pagaende, each on its item's own scale."""
    q = get("deltagare-pagaende")
    # Question 7 takes the degree scale, the others frequency: each label from its own item.
    scales = [item.scale.options for item in q.items if item.scale is not None]
    return [
        scales[0][1].label,
        *[options[(k % 6) + 1].label for k, options in enumerate(scales[1:])],
        "Ett jobb att gå till", t.BUTTON_SKIP, "Tack",
    ]


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
            # The bot has recorded question 2 as shown (it answered the probe after it), and
            # the WAL is emptied: the next write needs a new block, so it fails for sure. A
            # write into WAL space left from before succeeded, and only the note that the
            # next question was shown failed: that was reported as "not saved" (the defect).
            expect_no_reply(maja)
            bot.sql("PRAGMA wal_checkpoint(TRUNCATE)")
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


def test_an_answer_saved_just_before_the_disk_filled_is_not_called_unsaved(small_disk, tmp_path):
    """The defect once marked xfail: the answer was committed, then the disk filled before the
    bot could note that the next question was shown. The participant was told "not saved"
    about a saved answer, and their tap on the next question was then answered as stale."""
    work = tmp_path / "work"
    work.mkdir()
    given = answers()
    with FakeBotAPI(token=TOKEN, bot_username=BOT_USERNAME) as api:
        bot = BotUnderTest(api, small_disk / "enkatbot.db", work)
        try:
            bot.start()
            maja = bot.phone(730_007_002, "Maja")
            open_survey(maja, bot.link("deltagare-pagaende"))
            walk(maja, given[:1])
            second = question(maja, 2)
            before = len(maja.messages)

            # Question 3 is in flight when the disk fills: the answer to 2 is already saved.
            api.hold("editMessageText")  # the tapped question becomes the next one
            maja.tap(given[1], second)
            api.wait_held("editMessageText")
            assert bot.session_answers(maja.user_id)["pagaende-1"] is not None
            bot.sql("PRAGMA wal_checkpoint(TRUNCATE)")
            filler = fill(small_disk)
            api.release("editMessageText")
            third = question(maja, 3, timeout=30)
            bot.wait_for_log("event=shown_not_saved")
            filler.unlink()

            maja.tap(given[2], third)
            wait_answered(maja, third, given[2], timeout=30)
            said = [m.text for m in maja.messages[before:]]
            assert not any(text.startswith((t.NOT_SAVED, t.STALE_BUTTON)) for text in said), said
            walk(maja, given[3:], first=4)
            submit(maja)
        finally:
            bot.stop()
            print(f"----- bot log -----\n{bot.log[-8000:]}")
        assert bot.responses() == [
            ("deltagare-pagaende", "Steg framåt", expected_answers("deltagare-pagaende", given))
        ]
        bot.check_log()
        bot.check_no_errors()
        assert api.unanswered_callbacks == []
