"""Updates the bot cannot or must not act on: unparseable, without a message, from someone else.

Each is run through the real bot process against the fake Bot API: the bot goes on answering
everyone else, answers every tap (no spinner left), and logs nothing an update carried.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from contextlib import closing

import pytest

from bot.texts import deltagare as t
from bot.texts import personal as p
from storage import open_store
from tests.e2e import ADMIN_ID, BotUnderTest, open_survey, question, submit, wait_answered, walk
from tests.test_bot_webhook import _start_update
from tests.webb.tools import free_port, wait_listening

pytestmark = pytest.mark.e2e

NAME_IN_POLL = "Annelie Svanström"


def test_an_unparseable_update_is_skipped_counted_and_never_logged(bot: BotUnderTest) -> None:
    bot.start()
    lina = bot.phone(730_008_001, "Lina")
    open_survey(lina, bot.link())
    first = question(lina, 1)
    # A poll as an older self-hosted Bot API server sends it: the library cannot parse it.
    bot.api.queue_raw_update(
        "poll", {"id": "5001", "question": f"Hej {NAME_IN_POLL}, vad tycker du?"}
    )
    lina.tap("Man", first)
    wait_answered(lina, first, "Man")
    second = question(lina, 2)
    # A second one, last in its batch, must not be fetched again and again either.
    bot.api.queue_raw_update("poll", {"id": "5002", "question": NAME_IN_POLL})
    lina.tap(second.buttons[0][0], second)
    wait_answered(lina, second, second.buttons[0][0])
    question(lina, 3)

    log = bot.log
    assert "event=update_unparseable error=TypeError count=1" in log
    assert "event=update_unparseable error=TypeError count=2" in log
    assert "count=3" not in log, "a skipped update was fetched again"
    assert NAME_IN_POLL not in log and "Svanström" not in log
    assert "Received data" not in log and "Traceback" not in log
    bot.api.wait_confirmed()  # confirmed once handled, with the next poll


def test_a_tap_without_a_message_is_answered_kindly(bot: BotUnderTest) -> None:
    bot.start()
    olle = bot.phone(730_008_002, "Olle")
    query_id = bot.api.queue_callback_without_message(olle, "begin")
    answer = bot.api.wait_for_callback_answer(query_id)
    assert answer.text == t.BUTTON_WITHOUT_MESSAGE
    # The bot is still there for the same person.
    open_survey(olle, bot.link())
    question(olle, 1)


def test_a_tap_by_someone_else_than_the_chats_user_changes_nothing(bot: BotUnderTest) -> None:
    bot.start()
    maja = bot.phone(730_008_003, "Maja")
    intruder = bot.phone(730_008_004, "Inkräktare")
    open_survey(maja, bot.link())
    first = question(maja, 1)
    forged = maja.tap_data(first.message_id, "a:avslut-kon:kvinna", sender=intruder)
    bot.api.wait_for_callback_answer(forged)
    assert "event=foreign_sender" in bot.log
    assert bot.session_answers(maja.user_id) == {}
    # Maja's own tap still counts.
    maja.tap("Kvinna", first)
    wait_answered(maja, first, "Kvinna")
    assert bot.session_answers(maja.user_id) == {"avslut-kon": "kvinna"}


FLOOD_RATE = 40
"""Updates a second from the flooding account."""
FLOOD_STEP = 2.0
"""The longest another participant may wait for each next question while the flood goes on."""


def test_one_account_flooding_slows_only_itself(bot: BotUnderTest) -> None:
    bot.start()
    flooder = bot.phone(730_008_005, "Flodvåg")
    anna = bot.phone(730_008_006, "Anna")
    token = bot.link()
    stop = threading.Event()
    sent: list[int] = []

    def flood() -> None:
        next_at = time.monotonic()
        while not stop.is_set():
            flooder.send(f"spam {len(sent)}")
            sent.append(1)
            next_at += 1 / FLOOD_RATE
            stop.wait(max(next_at - time.monotonic(), 0))  # pacing the load, not a wait

    thread = threading.Thread(target=flood, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while len(sent) < 3 * FLOOD_RATE and time.monotonic() < deadline:
            stop.wait(0.05)
        assert len(sent) >= 3 * FLOOD_RATE, "the flood did not get going"
        # Anna answers the whole survey while the flood goes on, each step within 2 s.
        flood_before, began = len(sent), time.monotonic()
        open_survey(anna, token, timeout=FLOOD_STEP)
        walk(anna, [t.BUTTON_SKIP] * 12, timeout=FLOOD_STEP)
        submit(anna, timeout=FLOOD_STEP)
        flood_during, took = len(sent) - flood_before, time.monotonic() - began
        assert thread.is_alive() and not stop.is_set()
    finally:
        stop.set()
        thread.join(10)
    assert len(bot.responses()) == 1
    # The flood really went on while Anna answered, at no less than half its rate.
    assert flood_during >= FLOOD_RATE * took / 2, (flood_during, took)


def test_an_administrator_from_the_environment_is_never_stored(bot: BotUnderTest) -> None:
    bot.start()
    ada = bot.phone(ADMIN_ID, "Adelina")
    ada.send("/prenumerera")
    ada.wait_for_text(p.SUBSCRIBED)
    assert bot.sql("SELECT count(*) FROM user") == [(0,)]
    # Removed from ENKATBOT_ADMINS, she has no role left: not even the monthly summary.
    bot.stop()
    bot.start(ENKATBOT_ADMINS="")
    ada.send("/prenumerera")
    ada.wait_for_text(p.NEEDS_COORDINATOR)
    with closing(open_store(bot.db_path)) as store:
        assert store.subscribers() == []


def test_an_unparseable_update_on_the_webhook_is_acknowledged_and_skipped(
    bot: BotUnderTest,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    secret = "hemlig-nyckel_77"
    bot.start(
        ENKATBOT_WEBB_URL=base, ENKATBOT_WEBB_PORT=str(port),
        ENKATBOT_WEBHOOK_URL="https://enkat.example.se", ENKATBOT_WEBHOOK_SECRET=secret,
    )
    wait_listening(port)
    vera = bot.api.phone(730_008_007, "Vera", started=True)
    bot.phones.append(vera)

    def post(update: dict[str, object]) -> int:
        req = urllib.request.Request(
            f"{base}/telegram", data=json.dumps(update).encode(),
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
        )
        with urllib.request.urlopen(req, timeout=20) as resp:
            return int(resp.status)

    # Refused, Telegram would send it again and again and hold back what comes after it.
    assert post({"update_id": 7, "poll": {"id": "1", "question": NAME_IN_POLL}}) == 200
    wait_for_log(bot, "event=update_unparseable error=TypeError count=1")
    assert post(_start_update(8, vera.user_id, "/start")) == 200
    vera.wait_for_text(t.NO_LINK[:40])
    assert NAME_IN_POLL not in bot.log


def wait_for_log(bot: BotUnderTest, needle: str, timeout: float = 20.0) -> None:
    """Wait until the bot's log holds `needle`, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while needle not in bot.log:
        assert time.monotonic() < deadline, f"{needle!r} not logged within {timeout}s"
        threading.Event().wait(0.05)
