"""Every kind of bad input gets a kind reply and loses nothing that was already answered."""

from __future__ import annotations

import pytest

from bot.participant import SPLIT_WINDOW_SECONDS
from bot.texts import deltagare as t
from bot.texts import personal as p
from questionnaires.engine import MAX_TEXT_LENGTH
from storage import hash_token, open_store
from tests.botapi import Phone
from tests.e2e import (
    BotUnderTest,
    expect_no_reply,
    flat,
    open_survey,
    overview,
    question,
    wait_answered,
    walk,
)

pytestmark = pytest.mark.e2e

FIRST_TWO = {"avslut-kon": "kvinna", "avslut-1": "alltid"}


def buttons_of(phone: Phone, message_id: int) -> list[list[str]]:
    """Return the buttons the bot's message `message_id` shows now."""
    (msg,) = [m for m in phone.messages if m.message_id == message_id]
    return msg.buttons


def test_text_where_buttons_are_shown_asks_the_question_again(bot: BotUnderTest) -> None:
    bot.start()
    eva = bot.phone(730_002_001, "Evelina")
    eva.send(f"/start {bot.link()}")
    greeting = eva.wait_for_text("Tryck på Börja")
    eva.send("Vad är det här?")
    eva.wait_for_text(t.USE_BUTTONS)
    again = eva.wait_for(lambda m: t.BUTTON_START in flat(m.buttons))
    assert again.message_id != greeting.message_id
    assert buttons_of(eva, greeting.message_id) == []  # only one Börja left to tap
    eva.tap(t.BUTTON_START, again)
    walk(eva, ["Kvinna", "Alltid"])

    third = question(eva, 3, 14)
    eva.send("Ganska ofta faktiskt")
    eva.wait_for_text(t.USE_BUTTONS)
    shown = question(eva, 3, 14)
    assert shown.message_id > third.message_id
    assert buttons_of(eva, third.message_id) == []
    eva.send("/okant_kommando")
    eva.wait_for_text(t.USE_BUTTONS)
    shown = question(eva, 3, 14)
    assert bot.session_answers(eva.user_id) == FIRST_TWO
    eva.tap("Ofta", shown)
    question(eva, 4, 14)
    assert bot.session_answers(eva.user_id) == {**FIRST_TWO, "avslut-2": "ofta"}


def test_old_forged_and_garbage_buttons_are_ignored(bot: BotUnderTest) -> None:
    bot.start()
    fia = bot.phone(730_002_002, "Fiona")
    open_survey(fia, bot.link())
    walk(fia, ["Kvinna", "Alltid"])
    current = question(fia, 3, 14)
    stale = [
        (current.message_id, "a:avslut-kon:man"),  # an answered question's button
        (current.message_id, "a:avslut-5:alltid"),  # an answer for another question
        (current.message_id, "a:avslut-2:superbra"),  # not an option of this question
        (current.message_id, "a:avslut-2:"),
        (current.message_id, "a:avslut-2:alltid:extra"),
        (current.message_id, "skip:avslut-7"),
        (current.message_id, "back:avslut-9"),
        (current.message_id, "back:*"),
        (current.message_id, "goto:avslut-1"),
        (current.message_id, "submit"),  # Skicka in while a question is open
        (current.message_id, "change"),
        (current.message_id, "del:yes"),  # /radera's yes without /radera
        (current.message_id, "begin"),
        (current.message_id, "💥🙂"),
        (current.message_id, ":::"),
        (current.message_id, " "),
        (current.message_id, "x" * 64),
    ]
    for _, data in stale:
        # Each on the message that now shows question 3 (one message per survey): the tap is
        # answered on the button itself, nothing is stored, and question 3 stays as it is.
        answer = bot.api.wait_for_callback_answer(fia.tap_data(current.message_id, data))
        assert (answer.text, answer.show_alert) == (t.OLD_BUTTON, False), data
        assert bot.session_answers(fia.user_id) == FIRST_TWO, data
    expect_no_reply(fia)
    # Question 3 is still the one message with buttons: no copy of it was sent.
    (shown,) = [m for m in fia.messages if m.buttons]
    assert shown.message_id == current.message_id and shown.text.startswith("Fråga 3 av 14")

    # Staff, invite and report buttons forged by a participant are refused, not obeyed.
    for data, refusal in [
        ("L:i:1", p.NOT_ALLOWED),
        ("L:e:1:0", p.NOT_ALLOWED),
        ("B:admin", p.NEEDS_ADMIN),
        ("R:p:2025-01", p.NEEDS_COORDINATOR),
        ("R:i:2025-01:0", p.NEEDS_COORDINATOR),
    ]:
        answer = bot.api.wait_for_callback_answer(fia.tap_data(current.message_id, data))
        assert (answer.text, answer.show_alert) == (refusal, True)
    expect_no_reply(fia)
    assert bot.sql("SELECT count(*) FROM invite") == [(0,)]
    assert bot.sql("SELECT count(*) FROM link") == [(1,)]

    fia.tap("Ofta", current)
    walk(fia, ["Ofta", "Ibland", "Sällan", "Inte alls", "Vet inte", "Nej"], first=4)
    walk(fia, [t.BUTTON_SKIP, t.BUTTON_SKIP, t.BUTTON_SKIP], first=10)
    shown = overview(fia)
    for data in ("goto:avslut-9", "goto:finns-inte", "a:avslut-1:aldrig", "del:no"):
        answer = bot.api.wait_for_callback_answer(fia.tap_data(shown.message_id, data))
        assert answer.text == t.OLD_BUTTON, data
    expect_no_reply(fia)
    answers = bot.session_answers(fia.user_id)
    assert answers is not None and len(answers) == 12
    assert {k: answers[k] for k in FIRST_TWO} == FIRST_TWO and answers["avslut-2"] == "ofta"


def test_stickers_photos_voice_and_files_get_a_kind_reply(bot: BotUnderTest) -> None:
    bot.start()
    gun = bot.phone(730_002_003, "Gunnel")
    open_survey(gun, bot.link())
    walk(gun, ["Kvinna", "Alltid"])
    current = question(gun, 3, 14)
    for send in (gun.send_sticker, gun.send_photo, gun.send_voice, gun.send_document):
        send()
        gun.wait_for_text(t.NOT_UNDERSTOOD_MEDIA)
        current = question(gun, 3, 14)
    gun.tap("Ofta", current)
    walk(gun, ["Ibland", "Sällan", "Aldrig", "Vet inte", "Ibland", "Nej"], first=4)
    free = question(gun, 10, 12)
    for send in (gun.send_sticker, gun.send_photo, gun.send_voice, gun.send_document):
        send()
        gun.wait_for_text(t.ONLY_TEXT)
    gun.send("Att någon lyssnar")
    wait_answered(gun, free, "Att någon lyssnar")
    question(gun, 11, 12)
    answers = bot.session_answers(gun.user_id)
    assert answers is not None and len(answers) == 10
    assert answers["avslut-fritext-1"] == "Att någon lyssnar"


def test_very_long_text_is_stored_cut_with_a_note(bot: BotUnderTest) -> None:
    bot.start()
    hugo = bot.phone(730_002_004, "Hugo")
    open_survey(hugo, bot.link())
    walk(hugo, ["Man", *["Ibland"] * 5, "I viss mån", "Ibland", "Nej"])
    free = question(hugo, 10, 12)
    long_text = ("Det här är en lång berättelse om stödet. " * 130)[:5000]
    # A Telegram app sends a 5000-character paste as two messages: 4096 characters, then 904.
    hugo.send(long_text[:4096])
    hugo.send(long_text[4096:])
    shown = wait_answered(hugo, free, long_text[:40])
    assert len(shown.text) < 600  # the ✓ shows a short excerpt, not 5000 characters
    hugo.wait_for_text(t.TEXT_CUT.format(limit=MAX_TEXT_LENGTH))
    question(hugo, 11, 12)
    stored = bot.session_answers(hugo.user_id)  # type: ignore[assignment]
    assert len(stored["avslut-fritext-1"]) == MAX_TEXT_LENGTH  # type: ignore[index]
    assert stored["avslut-fritext-1"].endswith("…")  # type: ignore[index]
    assert long_text.startswith(stored["avslut-fritext-1"][:-1].rstrip())  # type: ignore[index]
    # The paste's second part is not taken as the answer to the next question.
    expect_no_reply(hugo)
    assert "avslut-fritext-2" not in stored
    assert "avslut-fritext-2" not in bot.session_answers(hugo.user_id)  # type: ignore[operator]
    # A person reads the next question before answering it: later than a paste's parts.
    bot.api.advance_clock(SPLIT_WINDOW_SECONDS + 1)

    # Personal data in a free text is masked before it is stored, and the participant is told.
    hugo.send("Ring mig på 070-123 45 67 eller mejla hugo@example.se")
    hugo.wait_for_text(t.TEXT_MASKED)
    last = question(hugo, 12, 12)
    stored = bot.session_answers(hugo.user_id)["avslut-fritext-2"]  # type: ignore[index]
    assert stored == "Ring mig på [telefonnummer] eller mejla [e-post]"

    # Markup characters and emoji are text like any other, in the ✓ and in the overview.
    tricky = "<b>Bättre</b> än <3 & 1 > 0 &amp; 🙂" + "🙂" * 300
    hugo.send(tricky)
    shown = wait_answered(hugo, last, "<b>Bättre</b> än <3 & 1 > 0 &amp; 🙂")
    assert shown.entities[-1]["type"] == "bold"  # only the bot's own <b> became markup
    hugo.wait_for(lambda m: m.text.startswith(t.OVERVIEW_TITLE) and tricky[:30] in m.text)
    stored = bot.session_answers(hugo.user_id)["avslut-fritext-3"]  # type: ignore[index]
    assert stored == tricky


def test_edited_messages_change_no_answer(bot: BotUnderTest) -> None:
    bot.start()
    ida = bot.phone(730_002_005, "Ingrid")
    open_survey(ida, bot.link())
    walk(ida, ["Kvinna", *["Ofta"] * 5, "I ganska hög grad", "Ofta", "Nej"])
    free = question(ida, 10, 12)
    sent = ida.send("Mitt första svar")
    wait_answered(ida, free, "Mitt första svar")
    question(ida, 11, 12)
    ida.edit(sent, "Ett helt annat svar")
    ida.wait_for_text(t.EDITED_IGNORED)
    expect_no_reply(ida)
    answers = bot.session_answers(ida.user_id)
    assert answers is not None and answers["avslut-fritext-1"] == "Mitt första svar"
    assert "avslut-fritext-2" not in answers


def test_group_chats_are_told_and_left(bot: BotUnderTest) -> None:
    bot.start()
    jan = bot.phone(730_002_006, "Jannike")
    group = bot.api.group(-100_730_002_006, "Föräldragruppen", member=jan)
    group.send(f"/start@{bot.api.bot_user['username']} {bot.link()}")
    group.wait_for_text(t.PRIVATE_ONLY)
    bot.api.wait_for_call("leaveChat", lambda c: c.params.get("chat_id") == group.chat_id)
    other = bot.api.group(-730_002_007, "Fikagänget", member=jan, bot_member=False)
    other.add_bot()
    other.wait_for_text(t.PRIVATE_ONLY)
    deadline_checks = bot.api.wait_for_call(
        "leaveChat", lambda c: c.params.get("chat_id") == -730_002_007
    )
    assert deadline_checks.ok
    assert sorted(bot.api.left_chats) == sorted([-100_730_002_006, -730_002_007])
    # The bot has left: it cannot say more there, so checking at once is enough.
    group.expect_nothing_yet()
    # Nothing was started from the group: the link is still unused.
    assert bot.sql("SELECT uses_left FROM link") == [(1,)]
    assert bot.session_answers(group.chat_id) is None


def test_unknown_used_expired_and_withdrawn_links_each_get_their_sentence(
    bot: BotUnderTest,
) -> None:
    bot.start()
    used, expired, withdrawn = bot.link(), bot.link(), bot.link()
    bot.sql("UPDATE link SET uses_left = 0 WHERE token_hash = ?", [hash_token(used)])
    bot.expire_link(expired)
    store = open_store(bot.db_path)
    assert store.withdraw_link(withdrawn)
    store.close()
    cases = [
        ("NyaLänkenSomInteFinns123", t.LINK_UNKNOWN),
        (used, t.LINK_USED),
        (expired, t.LINK_EXPIRED),
        (withdrawn, t.LINK_WITHDRAWN),
    ]
    assert len({sentence for _, sentence in cases}) == 4
    for n, (token, sentence) in enumerate(cases):
        phone = bot.phone(730_002_010 + n, f"Kalle{n}")
        phone.send(f"/start {token}")
        phone.wait_for_text(sentence)
        expect_no_reply(phone)
        assert bot.session_answers(phone.user_id) is None
    # Two phones opening one link at the same moment: one survey starts, the other is told.
    shared = bot.link()
    first, second = bot.phone(730_002_015, "Märta"), bot.phone(730_002_016, "Nanna")
    first.send(f"/start {shared}")
    second.send(f"/start {shared}")
    replies = [
        phone.wait_for(lambda m: bool(m.text)).text.split("\n")[0] for phone in (first, second)
    ]
    assert sum(r.startswith("Hej! Det här är en kort enkät") for r in replies) == 1
    assert replies.count(t.LINK_USED) == 1
    nobody = bot.phone(730_002_020, "Lova")
    nobody.send("/start")
    nobody.wait_for_text(t.NO_LINK)
    nobody.send("hej hej")
    nobody.wait_for_text(t.NO_LINK)
    nobody.send_sticker()
    nobody.wait_for_text(t.NO_LINK)

    # A second link while a survey is open: the open one continues, the new one is untouched.
    fresh, second = bot.link(), bot.link()
    open_survey(nobody, fresh)
    question(nobody, 1, 14)
    nobody.send(f"/start {second}")
    nobody.wait_for_text(t.ALREADY_STARTED_OTHER)
    question(nobody, 1, 14)
    unused = bot.sql("SELECT uses_left FROM link WHERE token_hash = ?", [hash_token(second)])
    assert unused == [(1,)]


def test_pause_help_privacy_and_delete(bot: BotUnderTest) -> None:
    bot.start()
    maja = bot.phone(730_002_030, "Majken")
    maja.send("/avbryt")
    maja.wait_for_text(t.NOTHING_TO_PAUSE)
    maja.send("/radera")
    maja.wait_for_text(t.NOTHING_TO_DELETE)
    token = bot.link()
    open_survey(maja, token)
    walk(maja, ["Vill inte svara", "Aldrig"])
    question(maja, 3, 14)

    maja.send("/hjalp")
    assert maja.wait_for_text("Så här fungerar enkäten").text == t.HELP
    maja.send("/integritet")
    assert maja.wait_for_text("Så hanteras dina svar").text == t.privacy(None, None)

    maja.send("/avbryt")
    maja.wait_for_text(t.PAUSED)
    assert all(not m.buttons for m in maja.messages)  # nothing left to tap by mistake
    maja.send("hej")
    current = question(maja, 3, 14)

    maja.send("/radera")
    confirm = maja.wait_for_text(t.CONFIRM_DELETE)
    assert flat(confirm.buttons) == [t.BUTTON_DELETE_YES, t.BUTTON_DELETE_NO]
    assert buttons_of(maja, current.message_id) == []
    maja.tap(t.BUTTON_DELETE_NO, confirm)
    maja.wait_for_text(t.NOT_DELETED)
    current = question(maja, 3, 14)
    assert bot.session_answers(maja.user_id) == {
        "avslut-kon": "vill_inte_svara", "avslut-1": "aldrig",
    }

    maja.send("/radera")
    confirm = maja.wait_for_text(t.CONFIRM_DELETE)
    maja.tap(t.BUTTON_DELETE_YES, confirm)
    maja.wait_for_text(t.DELETED)
    assert bot.session_answers(maja.user_id) is None
    assert bot.sql("SELECT count(*) FROM response") == [(0,)]
    assert bot.sql("SELECT count(*) FROM answer") == [(0,)]
    assert bot.sql("SELECT count(*) FROM reminder") == [(0,)]
    maja.tap_data(current.message_id, "a:avslut-2:ofta")  # a button left from before
    maja.wait_for_text(t.BUTTON_OF_ENDED_SURVEY)

    # The link works again after /radera.
    open_survey(maja, token)
    question(maja, 1, 14)


def test_pause_at_a_free_text_question_then_hej_resumes_without_answering(
    bot: BotUnderTest,
) -> None:
    bot.start()
    nils = bot.phone(730_002_031, "Nils")
    open_survey(nils, bot.link())
    walk(nils, ["Man", *["Ibland"] * 5, "I viss mån", "Ibland", "Nej"])
    question(nils, 10, 12)
    nils.send("/avbryt")
    nils.wait_for_text(t.PAUSED)
    # PAUSED says: write /start or anything else to continue. "hej" is not an answer.
    nils.send("hej")
    nils.wait_for_text(t.WELCOME_BACK)
    free = question(nils, 10, 12)
    answers = bot.session_answers(nils.user_id)
    assert answers is not None and "avslut-fritext-1" not in answers
    nils.send("Ett riktigt svar")
    wait_answered(nils, free, "Ett riktigt svar")
    question(nils, 11, 12)
    answers = bot.session_answers(nils.user_id)
    assert answers is not None and answers["avslut-fritext-1"] == "Ett riktigt svar"
