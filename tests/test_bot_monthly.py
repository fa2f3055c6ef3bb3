"""The coordinators' monthly summary, end to end: caught up after downtime, never sent twice,
only to subscribed coordinators, and the same on demand with /rapport."""

from __future__ import annotations

import time
from contextlib import closing
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from analysis.periods import (
    measurement_year,
    measurement_year_of,
    month_name,
    shift_month,
    year_to_date,
)
from bot.config import Settings
from bot.reports import due_date, latest_due_month
from bot.survey import SurveyService
from questionnaires import engine, flow
from storage import open_store
from tests.botapi import BotMessage
from tests.e2e import INSATS, BotUnderTest, bot_under_test, flat

pytestmark = pytest.mark.e2e

COORDINATOR = 501
STAFF = 502
LATE_COORDINATOR = 504
STRANGER = 730_000_505


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
            assert service.open_with_link(chat, token, today=day).after is not None
            state = service.handle(chat, flow.Begin(), today=day).after
            while state is not None and state.stage is flow.Stage.QUESTION:
                item = engine.current_item(state.q, state.survey)
                assert item is not None
                scale = item.scale
                if item is state.q.items[0]:
                    event: flow.Event = flow.Tap(item.id, "kvinna" if i % 2 else "man")
                elif scale is not None:
                    event = flow.Tap(item.id, scale.values[i % len(scale.values)])
                else:
                    event = flow.Skip(item.id)
                state = service.handle(chat, event, today=day).after
            service.handle(chat, flow.Submit(), today=day)
            assert service.load_flow(chat) is None


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
    pdf = phone.wait_for(lambda m: m.document_bytes is not None, timeout=30)
    assert pdf.document_bytes.startswith(b"%PDF") and pdf.caption


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
        bot.wait_for_log("event=monthly_summary", timeout=30)  # the run has finished
        stina.expect_nothing_yet()
        lena.expect_nothing_yet()
        assert _sent(bot) == [(COORDINATOR, month)]
        # The audit log says the summary went out, and to how many; never to whom.
        assert bot.sql("SELECT actor, action, detail FROM audit_log") == [
            ("schemalagt", "sammanfattning_skickad", f"{month} till 1 mottagare")
        ]

        runs = bot.log.count("event=monthly_summary")
        bot.stop()
        cora.mark()
        bot.start()
        # The catch-up after a restart finds the month already sent.
        bot.wait_for_log(f"event=monthly_summary month={month} sent=0", timeout=30)
        assert bot.log.count("event=monthly_summary") == runs + 1
        cora.expect_nothing_yet()
        stina.expect_nothing_yet()
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
        bot.wait_for_log("event=monthly_summary", timeout=30)  # the run has finished
        cora.expect_nothing_yet()
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
        cora.tap(cora.last.buttons[1][0])  # förra månaden
        cora.wait_for_text("Alla insatser eller en")
        assert [INSATS] in cora.last.buttons
        cora.tap(INSATS)
        _expect_report(cora, f"Rapport för {month_name(month)}")
        # On demand never counts as the monthly delivery.
        assert _sent(bot, timeout=1) == []
        # ... but it is in the audit log: who asked, for which period and insats.
        assert bot.sql("SELECT actor, action, detail FROM audit_log") == [
            (str(COORDINATOR), "rapport_skickad",
             f"{month_name(month)}, {INSATS}, till 1 mottagare")
        ]


def _expect_report(phone, heading: str) -> BotMessage:
    """Wait for a /rapport answer: the text headed `heading`, then chart, workbook and PDF."""
    text = phone.wait_for(lambda m: m.text.startswith(heading), timeout=60)
    assert text.parse_mode == "HTML"
    photo = phone.wait_for(lambda m: m.photo_bytes is not None, timeout=30)
    assert photo.photo_bytes.startswith(b"\x89PNG") and photo.caption
    book = phone.wait_for(lambda m: m.document_bytes is not None, timeout=30)
    assert book.document_name.endswith(".xlsx") and book.document_bytes.startswith(b"PK")
    assert book.caption.startswith("Arbetsboken med alla siffror för")
    pdf = phone.wait_for(lambda m: m.document_bytes is not None, timeout=30)
    assert pdf.document_name.endswith(".pdf") and pdf.document_bytes.startswith(b"%PDF")
    assert pdf.caption.startswith("Rapporten som PDF")
    label = heading.removeprefix("Rapport för ")
    assert label in book.caption and label in pdf.caption
    return text


def test_every_rapport_choice_sends_its_own_period_including_this_month(tmp_path):
    today = datetime.now(ZoneInfo("Europe/Stockholm")).date()  # the bot's time zone
    this = f"{today.year:04d}-{today.month:02d}"
    last = shift_month(this, -1)
    year = measurement_year_of(this)
    earlier = shift_month(this, -14)  # in an earlier measurement year than last month's
    with bot_under_test(tmp_path) as bot:
        _fill(bot, this, count=6)
        _fill(bot, last, count=7)
        _fill(bot, earlier, count=8)
        with closing(open_store(bot.db_path)) as store:
            store.add_user(COORDINATOR, "coordinator")
        cora = _phone(bot, COORDINATOR, "Cora")
        bot.start(ENKATBOT_FORBUND="Samordningsförbundet Test")

        cora.send("/rapport")
        menu = cora.wait_for_text("Vilken period")
        labels = [row[0] for row in menu.buttons]
        expected = {
            f"m{this}": (
                f"Den här månaden hittills ({month_name(this)})",
                f"Rapport för {month_name(this)} (hittills)",
                6,
            ),
            f"m{last}": (
                f"Förra månaden ({month_name(last)})",
                f"Rapport för {month_name(last)}",
                7,
            ),
            f"y{this}": (
                f"Mätåret {year} hittills",
                f"Rapport för {year_to_date(this, so_far=True).label}",
                6 + (7 if measurement_year_of(last) == year else 0),
            ),
        }
        for y in sorted({measurement_year_of(last), measurement_year_of(earlier)} - {year},
                        reverse=True):
            count = (7 if measurement_year_of(last) == y else 0) + (
                8 if measurement_year_of(earlier) == y else 0
            )
            expected[f"a{y}"] = (
                f"Hela mätåret {y}", f"Rapport för {measurement_year(y).label}", count
            )
        in_november = today.month == 11
        # In November the year so far is this month: no second button sends the same report.
        assert labels == [v[0] for k, v in expected.items() if not (in_november and k[0] == "y")]
        headings = []
        for key, (label, heading, count) in expected.items():
            cora.mark()
            if label in labels:
                cora.tap(label, menu)
            else:  # an old keyboard's button still works
                cora.tap_data(menu.message_id, f"R:p:{key}")
            cora.wait_for_text("Alla insatser eller en")
            cora.tap("Alla insatser")
            text = _expect_report(cora, heading)
            shown = text.text.splitlines()
            assert shown[1] == "Samordningsförbundet Test"
            assert f"Deltagare avslut: {count}" in text.text
            if label in labels:
                headings.append(shown[0])
            cora.send("/rapport")
            menu = cora.wait_for_text("Vilken period")
        assert len(set(headings)) == len(headings) == len(labels)

        # The förbund's name greets participants too.
        pia = bot.phone(730_009_001, "Pia")
        pia.send(f"/start {bot.link()}")
        greeting = pia.wait_for(lambda m: "Börja" in flat(m.buttons), timeout=30)
        assert greeting.text.startswith(
            "Hej! Det här är en kort enkät från Samordningsförbundet Test om hur du har upplevt"
        )


def test_a_period_without_answers_is_one_sentence_and_no_documents(tmp_path):
    today = datetime.now(ZoneInfo("Europe/Stockholm")).date()  # the bot's time zone
    this = f"{today.year:04d}-{today.month:02d}"
    with bot_under_test(tmp_path) as bot:
        _fill(bot, shift_month(this, -1), count=5)
        with closing(open_store(bot.db_path)) as store:
            store.add_user(COORDINATOR, "coordinator")
        cora = _phone(bot, COORDINATOR, "Cora")
        bot.start()
        cora.send("/rapport")
        cora.wait_for_text("Vilken period")
        cora.tap(f"Den här månaden hittills ({month_name(this)})")
        cora.wait_for_text("Alla insatser eller en")
        cora.tap("Alla insatser")
        text = cora.wait_for(lambda m: m.text.startswith("Rapport för"), timeout=60)
        assert text.text.splitlines()[-1] == (
            f"Inga svar under {month_name(this)} (hittills), så det finns ingen rapport att "
            "skicka."
        )
        # No chart, workbook or PDF: the next command's answer is the next thing the bot says.
        cora.expect_nothing_before(
            lambda: cora.send("/rapport"), lambda m: "Vilken period" in m.text, timeout=30
        )
