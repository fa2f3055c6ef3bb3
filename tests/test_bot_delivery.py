"""At-least-once updates, exactly-once effects, and nobody left without a question (issue 9.2, 9.3).

The real bot process against the fake Bot API: the bot is SIGKILLed while updates are in
flight (their replies held by the fake server), and after restart every one of them is
handled, each answer stored once, without a confusing word; a 429 storm that outlasts the
rate limiter's retries ends with the step shown again without the participant doing anything.
"""

from __future__ import annotations

from contextlib import closing

import pytest

from bot.texts import deltagare as t
from questionnaires.model import get
from storage import open_store
from tests.e2e import (
    INSATS,
    PROBE,
    STEP,
    BotUnderTest,
    expected_answers,
    open_survey,
    overview,
    question,
    submit,
    walk,
)

pytestmark = pytest.mark.e2e

COORDINATOR = 730_009_090
CROWD = 40
PROBES_EACH = 3
"""40 chats sending 3 updates each: more than the 100 updates one getUpdates returns."""

CONFUSING = (t.STALE_BUTTON, t.WRITTEN_BEFORE_QUESTION, t.REPEATED_TEXT, t.ERROR, t.NOT_SAVED)


def answers(i: int) -> list[str]:
    """Return participant i's answers to deltagare-pagaende, each on its item's own scale."""
    q = get("deltagare-pagaende")
    scales = [item.scale.options for item in q.items if item.scale is not None]
    return [
        scales[0][i % 4].label,
        *[options[(i + k) % 7].label for k, options in enumerate(scales[1:])],
        f"Ett jobb att gå till, säger nummer {i}", t.BUTTON_SKIP, f"Tack från nummer {i}",
    ]


def confusing_words(bot_texts: list[str]) -> list[str]:
    """Return the bot's messages that would confuse someone whose answer was taken."""
    return [text for text in bot_texts if text.startswith(CONFUSING)]


def texts_since(phone, before: int) -> list[str]:
    """Return the texts of the chat's messages from the bot after the first `before`."""
    return [m.text for m in phone.messages[before:] if m.is_from_bot]


def test_updates_in_flight_at_a_kill_are_handled_after_restart_each_once(
    bot: BotUnderTest,
) -> None:
    bot.start()
    vera, wilma = bot.phone(730_009_001, "Veronika"), bot.phone(730_009_002, "Wilhelmina")
    given_v, given_w = answers(1), answers(2)
    open_survey(vera, bot.link("deltagare-pagaende"))
    walk(vera, given_v[:8])
    question(vera, 9)  # free text
    open_survey(wilma, bot.link("deltagare-pagaende"))
    walk(wilma, given_w[:1])
    second = question(wilma, 2)

    # Every reply the bot sends now is held in flight: the answers are applied, the next
    # questions never arrive, and Vera's /hjalp waits behind her own answer. (Vera's typed
    # answer first marks her question answered; Wilma's tap edits hers into the next one.)
    bot.api.hold("sendMessage")
    bot.api.hold("editMessageText")
    vera.send(given_v[8])
    wilma.tap(given_w[1], second)
    bot.api.wait_held("editMessageText", 2)
    vera.send("/hjalp")
    assert bot.session_answers(vera.user_id)["pagaende-fritext-1"] == given_v[8]
    assert bot.session_answers(wilma.user_id)["pagaende-1"] is not None
    before_v, before_w = len(vera.messages), len(wilma.messages)
    bot.kill()
    bot.api.release("sendMessage")
    bot.api.release("editMessageText")

    # Vera's /hjalp was fetched but not handled: Telegram still holds it for the next process
    # (PTB's own Updater had confirmed it on fetching). The two answers were confirmed once
    # committed, or are sent again: either way each is applied once.
    pending = bot.api.pending_updates
    assert [u["message"]["text"] for u in pending if "message" in u][-1:] == ["/hjalp"]
    bot.start()
    tenth = question(vera, 10)
    # (The help may come before or after the question it follows: either is fine.)
    vera.wait_for(lambda m: m.text.startswith(t.HELP[:40]), STEP, since_start=True)
    third = question(wilma, 3)
    assert confusing_words(texts_since(vera, before_v)) == []
    assert confusing_words(texts_since(wilma, before_w)) == []
    assert sum(m.text.startswith("Fråga 10 av") for m in vera.messages) == 1
    assert sum(m.text.startswith("Fråga 3 av") for m in wilma.messages) == 1

    vera.tap(given_v[9], tenth)
    walk(vera, given_v[10:], first=11)
    submit(vera)
    wilma.tap(given_w[2], third)
    walk(wilma, given_w[3:], first=4)
    submit(wilma)
    bot.api.wait_confirmed()
    got = sorted(bot.responses(), key=lambda r: r[2]["pagaende-kon"])
    want = sorted(
        [("deltagare-pagaende", "Steg framåt", expected_answers("deltagare-pagaende", g))
         for g in (given_v, given_w)],
        key=lambda r: r[2]["pagaende-kon"],
    )
    assert got == want


def test_a_429_storm_beyond_the_retries_ends_with_the_step_shown_again(
    bot: BotUnderTest,
) -> None:
    bot.start()
    nora = bot.phone(730_009_003, "Nora")
    given = answers(3)
    open_survey(nora, bot.link("deltagare-pagaende"))
    walk(nora, given[:1])
    second = question(nora, 2)
    before = len(nora.messages)

    # More 429s than the rate limiter retries (5), and than one more round of the bot's own:
    # the tapped question cannot be edited into the next one.
    bot.api.inject_flood("editMessageText", times=9, retry_after=1)
    nora.tap(given[1], second)
    # Nora does nothing: the bot shows question 3 by itself once sending works again.
    third = question(nora, 3, timeout=STEP * 3)
    assert bot.session_answers(nora.user_id)["pagaende-1"] is not None
    assert confusing_words(texts_since(nora, before)) == []
    bot.wait_for_log("event=step_shown_again")  # by the bot's own job, not by a reply
    assert "event=send_failed" in bot.log

    nora.tap(given[2], third)
    walk(nora, given[3:], first=4)
    submit(nora)
    assert bot.responses() == [
        ("deltagare-pagaende", "Steg framåt", expected_answers("deltagare-pagaende", given))
    ]


def test_a_thanks_that_could_not_be_sent_comes_by_itself(bot: BotUnderTest) -> None:
    bot.start()
    olga = bot.phone(730_009_004, "Olga")
    given = answers(4)
    open_survey(olga, bot.link("deltagare-pagaende"))
    walk(olga, given)
    shown = overview(olga)
    before = len(olga.messages)

    bot.api.inject_flood("sendMessage", times=9, retry_after=1)
    olga.tap(t.BUTTON_SUBMIT, shown)
    olga.wait_for_text(t.THANKS, timeout=STEP * 3)
    assert confusing_words(texts_since(olga, before)) == []
    assert sum(m.text == t.THANKS for m in olga.messages) == 1
    assert bot.responses() == [
        ("deltagare-pagaende", "Steg framåt", expected_answers("deltagare-pagaende", given))
    ]


def test_a_step_lost_in_a_storm_and_a_restart_is_shown_by_the_next_process(
    bot: BotUnderTest,
) -> None:
    bot.start()
    pia = bot.phone(730_009_005, "Pia")
    given = answers(5)
    open_survey(pia, bot.link("deltagare-pagaende"))
    walk(pia, given[:1])
    second = question(pia, 2)
    before = len(pia.messages)

    # The storm outlasts this process: the answer is stored and the tap handled (confirmed),
    # but question 3 never goes out (nor is the tapped question edited into it) before the
    # bot is killed.
    bot.api.inject_flood("sendMessage", times=1000, retry_after=1)
    bot.api.inject_flood("editMessageText", times=1000, retry_after=1)
    pia.tap(given[1], second)
    bot.wait_for_log("event=send_failed")
    bot.api.wait_confirmed()
    bot.kill()
    bot.api.clear_injections()

    # Nothing of Pia's is pending at Telegram: the next process finds her owed step itself.
    bot.start()
    third = question(pia, 3)
    assert confusing_words(texts_since(pia, before)) == []
    pia.tap(given[2], third)
    walk(pia, given[3:], first=4)
    submit(pia)
    assert bot.responses() == [
        ("deltagare-pagaende", "Steg framåt", expected_answers("deltagare-pagaende", given))
    ]


def test_a_token_telegram_stops_accepting_stops_the_bot_instead_of_leaving_it_deaf(
    bot: BotUnderTest,
) -> None:
    bot.expected_errors = True  # the end of polling is logged as an error, on purpose
    bot.start()
    bot.api.token = "7300000001:AAE2eEnAnnanTokenSomInteGaller"  # revoked at @BotFather
    assert bot.proc is not None
    bot.proc.wait(STEP)
    assert "event=polling_ended error=InvalidToken" in bot.log
    assert "Traceback" not in bot.log


def crowd_is_answered(bot: BotUnderTest, first_id: int) -> None:
    """Let 40 other chats send 120 updates in all and wait until every one is answered."""
    crowd = [bot.phone(first_id + i, f"Deltagare{i}") for i in range(CROWD)]
    for _ in range(PROBES_EACH):
        for phone in crowd:
            phone.send(PROBE)
    for phone in crowd:
        for _ in range(PROBES_EACH):
            phone.wait_for(lambda m: m.text.startswith(t.PRIVACY), STEP)


def test_a_report_being_built_keeps_nobody_else_waiting(bot: BotUnderTest) -> None:
    with closing(open_store(bot.db_path)) as store:
        store.add_user(COORDINATOR, "coordinator")
    bot.start()
    cora = bot.phone(COORDINATOR, "Cornelia")
    cora.send("/rapport")
    periods = cora.wait_for_text("Vilken period")
    cora.tap(periods.buttons[1][0])  # förra månaden
    cora.wait_for_text("Alla insatser eller en")
    # The report's first word ("Jag tar fram rapporten …") is held: the tap that asked for
    # the report stays in flight, as it does while a report over many answers is built.
    bot.api.hold("editMessageText")
    cora.tap(INSATS)
    bot.api.wait_held("editMessageText")

    crowd_is_answered(bot, 730_009_100)
    # Confirmed when the report was accepted, not only once the window was full.
    assert "event=update_settled_late" not in bot.log
    bot.api.release("editMessageText")
    cora.wait_for_text("Inga svar under", timeout=60)


def test_an_update_that_hangs_keeps_nobody_else_waiting(bot: BotUnderTest) -> None:
    bot.start()
    # The bot's leaving of a group is held: that update stays in flight, unfinished.
    bot.api.hold("leaveChat")
    group = bot.api.group(-730_009_200, "Laget")
    group.send("Hej allihop")
    bot.api.wait_held("leaveChat")

    crowd_is_answered(bot, 730_009_300)
    bot.wait_for_log("event=update_settled_late")
    bot.api.release("leaveChat")
    bot.api.wait_for_call("leaveChat", lambda c: c.ok)
    bot.api.wait_confirmed()
