"""A backup taken while twenty participants answer, restored: nothing submitted before it is lost,
and participants who were mid-survey can open their links again (issue 9.6).

The real bot runs against the fake Bot API; `enkatbot backup` and `enkatbot restore` run as
their own processes, as an operator would run them.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path

import pytest

from bot.texts import deltagare as t
from questionnaires.model import get
from tests.e2e import (
    ROOT,
    BotUnderTest,
    as_multiset,
    expected_answers,
    flat,
    open_survey,
    question,
    run_in_threads,
    submit,
    walk,
)

pytestmark = pytest.mark.e2e

PARTICIPANTS = 20
FINISHERS = range(0, 12)
STRAGGLERS = range(12, 20)
STEP = 60.0


def pattern(i: int) -> list[str]:
    """Return participant i's answers to deltagare-pagaende; every participant's differ."""
    q = get("deltagare-pagaende")
    # Each item on its own scale: some take the frequency labels, some the degree labels.
    scales = [item.scale.options for item in q.items[:8] if item.scale is not None]
    return [
        scales[0][i % len(scales[0])].label,
        *[options[(i + k) % len(options)].label for k, options in enumerate(scales[1:])],
        f"Deltagare {i:02d} vill hitta ett jobb",
        t.BUTTON_SKIP if i % 3 == 0 else f"Stödet gav deltagare {i:02d} mod",
        f"Inget mer att säga från {i:02d}",
    ]


def enkatbot(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `enkatbot --db DB ARGS` as its own process."""
    return subprocess.run([sys.executable, "-m", "enkatbot", "--db", str(db), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_backup_while_twenty_answer_restores_everything_submitted_before_it(
    bot: BotUnderTest, tmp_path: Path
) -> None:
    bot.start()
    tokens = [bot.link("deltagare-pagaende") for _ in range(PARTICIPANTS)]
    phones = [bot.phone(730_006_000 + i, f"Svarare{i:02d}") for i in range(PARTICIPANTS)]
    submitted: list[int] = []
    progress = threading.Condition()
    backup_done = threading.Event()
    before_backup: set[int] = set()
    result: list[subprocess.CompletedProcess[str]] = []

    def finisher(i: int) -> None:
        open_survey(phones[i], tokens[i], timeout=STEP)
        walk(phones[i], pattern(i), timeout=STEP)
        submit(phones[i], timeout=STEP)
        with progress:
            submitted.append(i)
            progress.notify_all()

    def straggler(i: int) -> None:
        open_survey(phones[i], tokens[i], timeout=STEP)
        walk(phones[i], pattern(i)[:3], timeout=STEP)
        question(phones[i], 4, timeout=STEP)
        assert backup_done.wait(STEP * 4), "the backup never finished"

    def operator() -> None:
        with progress:
            assert progress.wait_for(lambda: len(submitted) >= 4, timeout=STEP * 4)
            before_backup.update(submitted)
        result.append(enkatbot(bot.db_path, "backup", str(tmp_path / "kopior")))
        backup_done.set()

    jobs = [lambda i=i: finisher(i) for i in FINISHERS]
    jobs += [lambda i=i: straggler(i) for i in STRAGGLERS]
    run_in_threads([*jobs, operator], timeout=400)

    done = result[0]
    assert done.returncode == 0, done.stderr
    (copy,) = (tmp_path / "kopior").iterdir()
    assert len(before_backup) >= 4

    # While the bot runs, a restore is refused and changes nothing.
    live = bot.db_path.read_bytes()
    refused = enkatbot(bot.db_path, "restore", str(copy))
    assert refused.returncode == 2 and "stoppa den först" in refused.stderr, refused.stderr
    assert bot.db_path.read_bytes() == live

    bot.stop()
    restored = enkatbot(bot.db_path, "restore", str(copy))
    assert restored.returncode == 0, restored.stderr

    with closing(sqlite3.connect(bot.db_path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM session").fetchone() == (0,)
    stored = as_multiset([answers for _, _, answers in bot.responses()])
    wanted = as_multiset(
        [expected_answers("deltagare-pagaende", pattern(i)) for i in sorted(before_backup)]
    )
    assert wanted - stored == as_multiset([]), "a response submitted before the backup is lost"

    # Those who were mid-survey open their link again in the restored bot, and can answer.
    bot.start()
    greetings = {}
    for i in STRAGGLERS:
        phones[i].send(f"/start {tokens[i]}")
        greetings[i] = phones[i].wait_for(lambda m: t.BUTTON_START in flat(m.buttons), STEP)
    last = STRAGGLERS[-1]
    phones[last].tap(t.BUTTON_START, greetings[last])
    walk(phones[last], pattern(last), timeout=STEP)
    submit(phones[last], timeout=STEP)
    stored_after = as_multiset([answers for _, _, answers in bot.responses()])
    assert as_multiset([expected_answers("deltagare-pagaende", pattern(last))]) - stored_after \
        == as_multiset([])
