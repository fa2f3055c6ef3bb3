"""Small rules of the bot that need no Telegram: reminder hours and settings parsing."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.app import is_reminder_hour
from bot.config import BOTFATHER_HELP, ConfigError, Settings
from bot.texts import deltagare
from questionnaires import engine
from questionnaires.model import get

pytestmark = pytest.mark.pure

STHLM = ZoneInfo("Europe/Stockholm")


@pytest.mark.parametrize(
    ("hour", "allowed"), [(3, False), (8, False), (9, True), (13, True), (18, True), (19, False)]
)
def test_reminders_go_out_in_the_daytime_only(hour, allowed):
    assert is_reminder_hour(datetime(2026, 11, 24, hour, 30, tzinfo=STHLM)) is allowed


def test_a_missing_token_explains_how_to_get_one_from_botfather(monkeypatch, tmp_path):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("ENKATBOT_DB", str(tmp_path / "e.db"))
    with pytest.raises(ConfigError) as err:
        Settings.from_env().require_token()
    assert "@BotFather" in str(err.value) and "/newbot" in str(err.value)
    assert str(err.value) == BOTFATHER_HELP


def test_admins_and_numbers_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("ENKATBOT_ADMINS", "11, 22;33")
    monkeypatch.setenv("ENKATBOT_PAMINNELSE_DAGAR", "3")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    s = Settings.from_env()
    assert s.admins == {11, 22, 33}
    assert s.reminder_days == 3
    assert s.api_url == "http://127.0.0.1:8081"


@pytest.mark.parametrize(
    ("name", "value"),
    [("ENKATBOT_ADMINS", "anna"), ("ENKATBOT_UTGANG_DAGAR", "två"), ("ENKATBOT_SMA_GRUPPER", "0")],
)
def test_a_malformed_setting_is_refused_with_its_name(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        Settings.from_env()


def test_run_without_a_token_exits_with_the_botfather_help(monkeypatch, tmp_path, capsys):
    from enkatbot.main import main

    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    code = main(["--db", str(tmp_path / "e.db"), "run"])
    assert code == 2
    assert "@BotFather" in capsys.readouterr().err


def test_the_overview_words_each_answer_for_the_participant():
    q = get("deltagare-avslut")
    state = engine.start(q)
    state = engine.answer(q, state, "kvinna")  # kön: an option, shown by its label
    state = engine.skip(q, state)  # the first question, skipped
    words = [deltagare.overview_answer(line) for line in engine.overview(q, state)]
    assert words[:2] == ["Kvinna", "Hoppade över"]
    assert set(words[2:]) == {"Inte besvarad"}  # not reached yet
