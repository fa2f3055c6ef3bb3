"""The bot keeps every acknowledged answer through crashes, restarts, downtime and flood control."""

from __future__ import annotations

from contextlib import closing

import pytest

from bot.texts import deltagare as t
from storage import open_store
from tests.botapi import BotMessage, Phone
from tests.e2e import (
    BotUnderTest,
    expect_no_reply,
    expected_answers,
    expire_callback_query,
    flat,
    open_survey,
    question,
    submit,
    wait_answered,
    walk,
)

pytestmark = pytest.mark.e2e

AVSLUT = [
    "Annat", "Ofta", "Alltid", "Ibland", "För det mesta", "Sällan", "Vet inte", "Aldrig",
    "Ja", "I viss mån", "I ganska hög grad", "Ett jobb nära hemmet", "Att min coach trodde på mig",
    t.BUTTON_SKIP,
]


def test_resume_after_the_bot_is_killed_mid_survey(bot: BotUnderTest) -> None:
    bot.start()
    token = bot.link()
    vera = bot.phone(730_004_001, "Veronika")
    open_survey(vera, token)
    fifth = walk(vera, AVSLUT[:5])[-1]
    # Acknowledged: the answer is marked on its message and the next question has arrived.
    wait_answered(vera, fifth, "För det mesta")
    old_sixth = question(vera, 6, 14)
    bot.kill()

    bot.start()
    vera.send("hej")
    vera.wait_for_text(t.USE_BUTTONS)
    sixth = question(vera, 6, 14)
    assert sixth.text == old_sixth.text and sixth.message_id > old_sixth.message_id
    # (Whether the old message lost its buttons depends on whether the kill came before the
    # bot recorded that message's id; either way a tap on it answers the current question.)
    vera.tap(AVSLUT[5], sixth)
    twelfth = walk(vera, AVSLUT[6:12], first=7)[-1]
    wait_answered(vera, twelfth, AVSLUT[11])
    question(vera, 13, 14)
    bot.kill()

    # Killed again, at a free-text question: /start resumes it (typed text would answer it).
    bot.start()
    vera.send("/start")
    vera.wait_for_text(t.WELCOME_BACK)
    walk(vera, AVSLUT[12:], first=13)
    submit(vera)
    assert bot.responses() == [
        ("deltagare-avslut", "Steg framåt", expected_answers("deltagare-avslut", AVSLUT))
    ]
    assert bot.responses("in_progress") == []
    vera.send(f"/start {token}")
    vera.wait_for_text(t.LINK_USED)


def test_updates_sent_while_the_bot_is_down_are_processed_when_it_starts(
    bot: BotUnderTest,
) -> None:
    bot.start()
    wilma = bot.phone(730_004_002, "Wilma")
    open_survey(wilma, bot.link())
    walk(wilma, AVSLUT[:2])
    third = question(wilma, 3, 14)
    bot.stop()

    wilma.tap("Alltid", third)
    newcomer = bot.phone(730_004_003, "Xerxes")
    newcomer.send(f"/start {bot.link()}")
    wilma.expect_nothing_yet()  # the bot is stopped: nothing can have answered
    assert len(bot.api.pending_updates) == 2

    bot.start()
    wait_answered(wilma, third, "Alltid")
    question(wilma, 4, 14)
    newcomer.wait_for(lambda m: t.BUTTON_START in flat(m.buttons))
    assert bot.session_answers(wilma.user_id) == {
        "avslut-kon": "annat", "avslut-1": "ofta", "avslut-2": "alltid",
    }


def test_a_tap_made_while_the_bot_was_down_counts_though_its_query_is_too_old(
    bot: BotUnderTest,
) -> None:
    bot.start()
    ada = bot.phone(730_004_006, "Agneta")
    open_survey(ada, bot.link())
    walk(ada, AVSLUT[:2])
    third = question(ada, 3, 14)
    bot.stop()
    expire_callback_query(bot.api, ada.tap("Sällan", third))

    bot.start()
    wait_answered(ada, third, "Sällan")
    question(ada, 4, 14)
    assert bot.session_answers(ada.user_id) == {
        "avslut-kon": "annat", "avslut-1": "ofta", "avslut-2": "sallan",
    }


def test_flood_control_is_waited_out_and_no_answer_is_lost(bot: BotUnderTest) -> None:
    bot.start()
    yngve = bot.phone(730_004_004, "Yngve")
    open_survey(yngve, bot.link())
    walk(yngve, AVSLUT[:2])
    third = question(yngve, 3, 14)
    before = len(bot.api.calls_of("editMessageText"))
    # The tapped question is edited into the next one: that edit meets the flood control.
    bot.api.inject_flood("editMessageText", times=2, retry_after=1)
    yngve.tap("Alltid", third)
    wait_answered(yngve, third, "Alltid")
    fourth = question(yngve, 4, 14)
    assert [c.status for c in bot.api.calls_of("editMessageText")[before:]] == [429, 429, 200]

    bot.api.inject_flood("answerCallbackQuery", times=1, retry_after=1)
    yngve.tap(AVSLUT[3], fourth)
    wait_answered(yngve, fourth, AVSLUT[3])
    walk(yngve, AVSLUT[4:], first=5)
    submit(yngve)
    (stored,) = bot.responses()
    assert stored[2] == expected_answers("deltagare-avslut", AVSLUT)


def test_quick_taps_and_texts_from_one_chat_are_processed_in_order(bot: BotUnderTest) -> None:
    bot.start()
    zara = bot.phone(730_004_005, "Zara")
    open_survey(zara, bot.link())
    walk(zara, ["Kvinna"])
    second = question(zara, 2, 14)
    (data,) = [d for row in second.callback_data for d in row if d and d.endswith(":alltid")]
    # A double tap: the first answers 2, the second comes from a question already answered.
    zara.tap_data(second.message_id, data)
    again = zara.tap_data(second.message_id, data.replace("alltid", "aldrig"))
    third = question(zara, 3, 14)
    # The message now shows question 3: the second tap is told so on the button.
    assert bot.api.wait_for_callback_answer(again).text == t.OLD_BUTTON
    assert bot.session_answers(zara.user_id) == {"avslut-kon": "kvinna", "avslut-1": "alltid"}

    zara.tap("Ofta", third)
    walk(zara, ["Ofta", "Ofta", "Ofta", "I ganska hög grad", "Ofta", "Nej"], first=4)
    tenth = question(zara, 10, 12)
    # Three messages typed in a row, before the bot could show the next question: the first
    # answers 10; the other two were written before 11 was shown, so they answer nothing.
    bot.stop()
    for text in ("Första svaret", "Andra svaret", "Tredje svaret"):
        zara.send(text)
    bot.api.advance_clock(3)
    bot.start()
    wait_answered(zara, tenth, "Första svaret")
    zara.wait_for_text(t.WRITTEN_BEFORE_QUESTION)
    eleventh = question(zara, 11, 12)
    zara.wait_for_text(t.WRITTEN_BEFORE_QUESTION)
    eleventh = question(zara, 11, 12)
    expect_no_reply(zara)
    answers = bot.session_answers(zara.user_id)
    assert answers is not None and answers["avslut-fritext-1"] == "Första svaret"
    assert "avslut-fritext-2" not in answers and "avslut-fritext-3" not in answers
    # Typed after the question is on the screen, they are answers, in their order.
    zara.send("Andra svaret")
    wait_answered(zara, eleventh, "Andra svaret")
    question(zara, 12, 12)
    zara.send("Tredje svaret")
    shown = zara.wait_for(lambda m: m.text.startswith(t.OVERVIEW_TITLE))
    answers = bot.session_answers(zara.user_id)
    assert answers is not None
    assert [answers[f"avslut-fritext-{n}"] for n in (1, 2, 3)] == [
        "Första svaret", "Andra svaret", "Tredje svaret",
    ]
    # Skicka in tapped twice: one response, sent once.
    zara.tap_data(shown.message_id, "submit")
    zara.tap_data(shown.message_id, "submit")
    zara.wait_for_text(t.THANKS)
    zara.wait_for_text(t.BUTTON_OF_ENDED_SURVEY)
    assert len(bot.responses()) == 1 and bot.session_answers(zara.user_id) is None


def test_text_sent_while_the_bot_was_down_answers_only_the_question_it_was_written_for(
    bot: BotUnderTest,
) -> None:
    bot.start()
    vera = bot.phone(730_004_007, "Vera")
    open_survey(vera, bot.link())
    walk(vera, ["Man", *["Ibland"] * 5, "I viss mån", "Ibland", "Nej"])
    free = question(vera, 10, 12)
    bot.stop()
    # The answer to 10, then a worried question typed while nothing happened.
    vera.send("Att få jobba i min egen takt")
    vera.send("Hallå? Fungerar det här?")
    bot.api.advance_clock(5)  # the bot is back a few seconds later
    bot.start()
    wait_answered(vera, free, "Att få jobba i min egen takt")
    vera.wait_for_text(t.WRITTEN_BEFORE_QUESTION)
    eleventh = question(vera, 11, 12)
    answers = bot.session_answers(vera.user_id)
    assert answers is not None and answers["avslut-fritext-1"] == "Att få jobba i min egen takt"
    assert "avslut-fritext-2" not in answers

    # No reply seen, the person sends the same text again: not the answer to 11 either.
    vera.send("Att få jobba i min egen takt")
    vera.wait_for_text(t.REPEATED_TEXT)
    eleventh = question(vera, 11, 12)
    answers = bot.session_answers(vera.user_id)
    assert answers is not None and "avslut-fritext-2" not in answers

    # A reply to an older question's message is not an answer to the current one.
    vera.send("Det var bra", reply_to=free.message_id)
    vera.wait_for_text(t.WRITTEN_BEFORE_QUESTION)
    eleventh = question(vera, 11, 12)
    # A reply to the question on the screen is.
    vera.send("Min coach lyssnade", reply_to=eleventh.message_id)
    wait_answered(vera, eleventh, "Min coach lyssnade")
    question(vera, 12, 12)
    answers = bot.session_answers(vera.user_id)
    assert answers is not None and answers["avslut-fritext-2"] == "Min coach lyssnade"


def test_thanks_comes_before_the_overview_loses_its_buttons(bot: BotUnderTest) -> None:
    bot.start()
    sam = bot.phone(730_004_008, "Sam")
    open_survey(sam, bot.link())
    walk(sam, AVSLUT)
    shown = sam.wait_for(lambda m: m.text.startswith(t.OVERVIEW_TITLE))
    sam.tap(t.BUTTON_SUBMIT, shown)
    sam.wait_for_text(t.THANKS)
    sam.wait_for(lambda m: m.message_id == shown.message_id and not m.buttons)
    (thanks,) = [c for c in bot.api.calls_of("sendMessage") if c.params.get("text") == t.THANKS]
    (strip,) = [c for c in bot.api.calls_of("editMessageReplyMarkup")
                if c.params.get("message_id") == shown.message_id]
    assert thanks.time < strip.time


def _killed_between_submitting_and_the_thanks(bot: BotUnderTest, user_id: int) -> tuple[
        Phone, BotMessage]:
    """Walk an avslut survey to Skicka in; the bot dies with its thanks on the way.

    Returns the phone and its overview message.
    """
    bot.start()
    tove = bot.phone(user_id, "Tove")
    open_survey(tove, bot.link())
    walk(tove, AVSLUT)
    shown = tove.wait_for(lambda m: m.text.startswith(t.OVERVIEW_TITLE))
    # The submission is committed; the thanks is on its way when the process dies.
    bot.api.hold("sendMessage")
    tove.tap(t.BUTTON_SUBMIT, shown)
    bot.api.wait_held("sendMessage")
    bot.kill()
    bot.api.release("sendMessage")
    assert len(bot.responses()) == 1
    return tove, shown


def _thanked_once(bot: BotUnderTest, tove: Phone, shown: BotMessage) -> None:
    """Check the thanks came instead of "redan inskickad", once, and its note is gone."""
    tove.wait_for_text(t.THANKS)
    tove.wait_for(lambda m: m.message_id == shown.message_id and not m.buttons)
    assert t.BUTTON_OF_ENDED_SURVEY not in [m.text for m in tove.messages]
    assert len(bot.responses()) == 1
    bot.api.wait_confirmed()
    with closing(open_store(bot.db_path)) as store:
        assert store.db.execute("SELECT count(*) FROM thanks_owed").fetchone()[0] == 0


def test_killed_between_submitting_and_the_thanks_the_thanks_comes_after_the_restart(
    bot: BotUnderTest,
) -> None:
    tove, shown = _killed_between_submitting_and_the_thanks(bot, 730_004_009)
    # Telegram delivers the unconfirmed tap again: the bot thanks without being asked.
    bot.start()
    _thanked_once(bot, tove, shown)


def test_killed_before_the_thanks_with_the_tap_confirmed_a_second_tap_is_thanked(
    bot: BotUnderTest,
) -> None:
    tove, shown = _killed_between_submitting_and_the_thanks(bot, 730_004_010)
    # The tap was confirmed before it was handled to the end (settled late behind a full
    # window): Telegram will not deliver it again.
    assert bot.api.forget_updates() == 1
    # That tap's query died with the process (Telegram's spinner times out on its own).
    bot.check_callbacks_answered = False
    bot.start()
    bot.api.wait_confirmed()
    assert not any(t.THANKS in m.text for m in tove.messages)

    # Nothing happened, so she taps Skicka in again: thanked, not told it was sent already.
    tove.tap(t.BUTTON_SUBMIT, shown)
    _thanked_once(bot, tove, shown)


def test_a_tap_on_an_older_copy_of_the_question_moves_the_newest_message_on(
    bot: BotUnderTest,
) -> None:
    bot.start()
    ines = bot.phone(730_004_011, "Ines")
    open_survey(ines, bot.link())
    walk(ines, ["Man", "Ofta"])
    first = question(ines, 3)
    # /start shows the question again in a new message; taking the buttons off the first
    # copy is lost (as at a crash between the two), so both copies still take taps.
    bot.api.inject_error("editMessageReplyMarkup", status=400)
    ines.send("/start")
    ines.wait_for_text(t.WELCOME_BACK)
    copy = ines.wait_for(lambda m: m.message_id > first.message_id
                         and m.text.startswith("Fråga 3 av ") and bool(m.buttons))
    assert any(m.message_id == first.message_id and m.buttons for m in ines.messages)

    ines.tap("Alltid", first)
    # The answer counts, and the next question comes where she reads on: in the newest
    # message. The older copy shows the answer and takes no more taps.
    ines.wait_for(lambda m: m.message_id == first.message_id and not m.buttons
                  and f"✓ {t.ANSWERED_PREFIX} Alltid" in m.text)
    ines.wait_for(lambda m: m.message_id == copy.message_id and m.text.startswith("Fråga 4 av "))
    with_buttons = [m for m in ines.messages if m.buttons]
    assert [m.message_id for m in with_buttons] == [copy.message_id]
    answers = bot.session_answers(ines.user_id)
    assert answers is not None and answers["avslut-2"] == "alltid"
