"""The reminder job in the running bot: one reminder after quiet days, expiry after many.

The job runs hourly and only in the daytime; ENKATBOT_PAMINNELSE_ALLTID=1 makes the bot run it
about a second after start at any hour, so the real job can be watched end to end. The date
rules themselves (Store.due_reminders, Store.expire_sessions) are tested in test_storage.py.
"""

from __future__ import annotations

from contextlib import closing

import pytest

from bot.texts import deltagare as t
from storage import open_store
from tests.e2e import BotUnderTest, open_survey, question, walk

pytestmark = pytest.mark.e2e

ANY_HOUR = {"ENKATBOT_PAMINNELSE_ALLTID": "1"}


def quiet_for(bot: BotUnderTest, chat_id: int, days: int) -> None:
    """Make a chat's unfinished survey look untouched for `days` days."""
    with closing(open_store(bot.db_path)) as store:
        key = store.chat_key(chat_id)
    shift = [f"-{days} days"]
    bot.sql("UPDATE session SET last_active = date('now', ?) WHERE chat_key = ?", [*shift, key])


def owed(bot: BotUnderTest) -> list[int]:
    """Return the chat ids a reminder is owed to (stored only sealed under the secret)."""
    with closing(open_store(bot.db_path)) as store:
        return store.owed_reminders()


def reminders(phone: object) -> int:
    """Return how many reminders the phone has received."""
    return sum(m.text == t.REMINDER for m in phone.messages)  # type: ignore[attr-defined]


def test_a_quiet_survey_gets_exactly_one_reminder_and_an_abandoned_one_expires(
    bot: BotUnderTest,
) -> None:
    bot.start()
    quiet = bot.phone(730_006_001, "Tyra")
    recent = bot.phone(730_006_002, "Ulla")
    gone = bot.phone(730_006_003, "Viggo")
    blocked = bot.phone(730_006_004, "Wendela")
    for phone in (quiet, recent, gone, blocked):
        open_survey(phone, bot.link())
        walk(phone, ["Kvinna", "Ofta"])
        question(phone, 3, 14)
    bot.stop()
    quiet_for(bot, quiet.user_id, 3)
    quiet_for(bot, recent.user_id, 1)
    quiet_for(bot, gone.user_id, 20)
    quiet_for(bot, blocked.user_id, 3)
    blocked.block()  # the reminder cannot be delivered; the bot carries on

    bot.start(**ANY_HOUR)
    quiet.wait_for_text(t.REMINDER, timeout=15)
    bot.wait_for_log("event=reminders_checked")  # the run has finished
    for phone in (quiet, recent, gone):
        phone.expect_nothing_yet()
    assert (reminders(quiet), reminders(recent), reminders(gone)) == (1, 0, 0)
    bot.api.wait_for_call("sendMessage", lambda c: c.params.get("chat_id") == blocked.user_id
                          and c.status == 403)
    assert reminders(blocked) == 0 and "event=reminder_undeliverable" in bot.log
    # Reminded: the chat id is forgotten until Tyra answers again. Expired: kept as partial.
    assert owed(bot) == [recent.user_id]
    assert bot.session_answers(quiet.user_id) == {"avslut-kon": "kvinna", "avslut-1": "ofta"}
    assert bot.session_answers(gone.user_id) is None
    (partial,) = bot.responses("partial")
    assert partial[2] == {"avslut-kon": "kvinna", "avslut-1": "ofta"}

    # A restart runs the job again at once; Tyra still has had exactly one reminder.
    runs = bot.log.count("event=reminders_checked")
    bot.stop()
    bot.start(**ANY_HOUR)
    bot.wait_for_log("event=reminders_checked", after=runs)
    quiet.expect_nothing_yet()
    assert reminders(quiet) == 1

    quiet.send("/start")
    quiet.wait_for_text(t.WELCOME_BACK)
    quiet.tap("Alltid", question(quiet, 3, 14))
    question(quiet, 4, 14)
    assert quiet.user_id in owed(bot)
    gone.send("hej")
    gone.wait_for_text(t.NO_LINK)
