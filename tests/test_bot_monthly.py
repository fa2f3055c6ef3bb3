"""The coordinators' monthly summary, end to end: caught up after downtime, never sent twice,
only to subscribed coordinators, and the same on demand with /rapport."""

from __future__ import annotations

import time
from contextlib import closing
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from analysis.periods import month_name
from bot.config import Settings
from bot.reports import due_date, latest_due_month
from bot.survey import SurveyService
from storage import open_store
from tests.e2e import INSATS, BotUnderTest, bot_under_test

pytestmark = pytest.mark.e2e

COORDINATOR = 501
STAFF = 502
LATE_COORDINATOR = 504
STRANGER = 505


def _due_month() -> str:
    return latest_due_month(datetime.now(ZoneInfo("Europe/Stockholm")), Settings(None, None))  # type: ignore[arg-type]


def _fill(bot: BotUnderTest, month: str, count: int = 12) -> None:
    """Store `count` complete avslut responses submitted in `month`."""
    day = date(int(month[:4]), int(month[5:]), 15)
    with closing(open_store(bot.db_path)) as store:
        service = SurveyService(store)
        tokens = store.create_links(INSATS, "deltagare-avslut", count=count)
        for i, token in enumerate(tokens):
            chat = 900_000 + i
            cur = service.open_link(chat, token, today=day).current
            assert cur is not None
            cur = service.begin(chat, cur)
            cur = service.answer(chat, cur, "kvinna" if i % 2 else "man")
            while cur.item is not None:
                scale = cur.item.scale
                value = scale.values[i % len(scale.values)] if scale is not None else None
                cur = service.answer(chat, cur, value)
            service.submit(chat, today=day)


def _people(bot: BotUnderTest, month: str) -> None:
    due = due_date(month, Settings(None, None)).date()  # type: ignore[arg-type]
    with closing(open_store(bot.db_path)) as store:
        store.add_user(COORDINATOR, "coordinator")
        store.subscribe(COORDINATOR, today=date(2020, 1, 1))
        store.add_user(STAFF, "staff")
        store.add_user(LATE_COORDINATOR, "coordinator")
        # Subscribed after the month was due: that month is not sent back in time.
        store.subscribe(LATE_COORDINATOR, today=max(date.today(), due))
    # A staff member with a subscription row (e.g. demoted from coordinator) gets nothing.
    bot.sql("INSERT INTO subscription (telegram_id, since) VALUES (?, '2020-01-01')", [STAFF])


def _phone(bot: BotUnderTest, user_id: int, name: str):
    phone = bot.api.phone(user_id, name, started=True)
    bot.phones.append(phone)
    return phone


def _sent(bot: BotUnderTest, timeout: float = 10.0) -> list[tuple]:
    """Return report_sent once it is non-empty (the bot records it just after the last send)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = bot.sql("SELECT telegram_id, month FROM report_sent")
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def _expect_summary(phone, month: str) -> None:
    text = phone.wait_for(lambda m: "Månadsrapport" in m.text, timeout=30)
    assert text.parse_mode == "HTML"
    assert month_name(month) in text.text  # e.g. "oktober 2026": the month that was due
    photo = phone.wait_for(lambda m: m.photo_bytes is not None, timeout=30)
    assert photo.photo_bytes.startswith(b"\x89PNG")
    doc = phone.wait_for(lambda m: m.document_bytes is not None, timeout=30)
    assert doc.document_bytes.startswith(b"PK")  # an xlsx is a zip
    assert doc.document_name.endswith(".xlsx")


def test_a_missed_month_is_sent_at_start_once_and_only_to_subscribed_coordinators(tmp_path):
    month = _due_month()
    with bot_under_test(tmp_path) as bot:
        _fill(bot, month)
        _people(bot, month)
        cora = _phone(bot, COORDINATOR, "Cora")
        stina = _phone(bot, STAFF, "Stina")
        lena = _phone(bot, LATE_COORDINATOR, "Lena")

        bot.start()  # the catch-up run comes a few seconds after start
        _expect_summary(cora, month)
        stina.expect_silence(1)
        lena.expect_silence(1)
        assert _sent(bot) == [(COORDINATOR, month)]
        # The audit log says the summary went out, and to how many; never to whom.
        assert bot.sql("SELECT actor, action, detail FROM audit_log") == [
            ("schemalagt", "sammanfattning_skickad", f"{month} till 1 mottagare")
        ]

        bot.stop()
        cora.mark()
        bot.start()
        cora.expect_silence(8)  # the catch-up after a restart finds the month already sent
        stina.expect_silence(0.5)
        assert bot.sql("SELECT telegram_id, month FROM report_sent") == [(COORDINATOR, month)]


def test_a_failed_delivery_is_retried_at_the_next_start(tmp_path):
    month = _due_month()
    with bot_under_test(tmp_path) as bot:
        _fill(bot, month)
        _people(bot, month)
        cora = _phone(bot, COORDINATOR, "Cora")
        cora.block()
        bot.start()
        bot.api.wait_for_call("sendMessage", lambda c: c.params.get("chat_id") == COORDINATOR,
                              timeout=30)
        cora.expect_silence(2)
        assert bot.sql("SELECT * FROM report_sent") == []
        bot.stop()

        cora.unblock()
        bot.start()
        _expect_summary(cora, month)
        assert _sent(bot) == [(COORDINATOR, month)]


def test_rapport_on_demand_for_coordinators_and_refused_to_others(tmp_path):
    month = _due_month()
    with bot_under_test(tmp_path) as bot:
        _fill(bot, month)
        with closing(open_store(bot.db_path)) as store:
            store.add_user(COORDINATOR, "coordinator")
        cora = _phone(bot, COORDINATOR, "Cora")
        olle = _phone(bot, STRANGER, "Olle")
        bot.start()

        olle.send("/rapport")
        refusal = olle.wait_for_text("samordnare")
        assert not refusal.buttons

        cora.send("/rapport")
        cora.wait_for_text("Vilken period")
        cora.tap(cora.last.buttons[0][0])
        cora.wait_for_text("Alla insatser eller en")
        assert [INSATS] in cora.last.buttons
        cora.tap(INSATS)
        _expect_summary(cora, month)
        # On demand never counts as the monthly delivery.
        assert _sent(bot, timeout=1) == []
        # ... but it is in the audit log: who asked, for which period and insats.
        assert bot.sql("SELECT actor, action, detail FROM audit_log") == [
            (str(COORDINATOR), "rapport_skickad", f"{month}, {INSATS}, till 1 mottagare")
        ]
