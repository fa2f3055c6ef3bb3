"""Shared fixtures: a real SQLite file in a temporary folder, and the shipped questionnaires."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from questionnaires.model import Questionnaire, get
from storage import Store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Return a path for a fresh database file in its own temporary folder."""
    folder = tmp_path / "db"
    folder.mkdir()
    return folder / "enkatbot.db"


@pytest.fixture
def store(db_path: Path):
    """Yield a Store on a real SQLite file; closed after the test."""
    s = Store(db_path)
    yield s
    with contextlib.suppress(Exception):  # the test may have closed it already
        s.close()


@pytest.fixture
def avslut() -> Questionnaire:
    """Return the shipped deltagare-avslut questionnaire (the one with the 8 → 9–10 branch)."""
    return get("deltagare-avslut")


@pytest.fixture
def bot(tmp_path: Path):
    """Yield the real bot (not yet started: call bot.start()) on a fake Bot API and a fresh DB.

    At teardown the bot is stopped and its log checked for leaks and handler errors
    (see tests/e2e.py).
    """
    from tests.e2e import bot_under_test

    with bot_under_test(tmp_path) as running:
        yield running
