"""The web survey in the real bot process, answered in headless Chromium with JavaScript off.

`enkatbot run` with ENKATBOT_WEBB_URL serves the web pages beside the Telegram bot (the fake
Bot API stands in for Telegram). Each test answers through the pages as a participant would
and ends with what the database holds.
"""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.request
from contextlib import closing
from datetime import UTC, datetime

import pytest
from PIL import Image
from playwright.sync_api import expect

from analysis.figures import Dataset
from bot.texts import deltagare as t
from bot.texts import personal as p
from questionnaires.model import get
from storage import Store
from tests.e2e import (
    ADMIN_ID,
    INSATS,
    BotUnderTest,
    as_multiset,
    expected_answers,
    flat,
    open_survey,
    submit,
    walk,
)
from tests.test_bot_webhook import _start_update
from tests.test_cli import _decode_qr, _qr_modules_encode
from tests.webb.participant import WebParticipant
from tests.webb.tools import free_port, wait_listening
from web import texts as w

pytestmark = pytest.mark.e2e

SKIP = t.BUTTON_SKIP
PAGAENDE = ["Kvinna", "Alltid", "Vet inte", SKIP, "Ofta", "Ibland", "I låg grad", "Aldrig",
            "Att få komma ut bland folk igen.", SKIP, "Mer tid med handledaren."]
AVSLUT_JA = ["Man", "Alltid", "För det mesta", "Ofta", "Ibland", "Sällan", "Inte alls",
             "Vet inte", "Ja", "I ganska hög grad", SKIP, "Ett jobb att gå till.",
             "Att någon lyssnade.", SKIP]
AVSLUT_NEJ = [*AVSLUT_JA[:8], "Nej", *AVSLUT_JA[11:]]
FORWARDED_FOR = "203.0.113.45"
USER_AGENT = "EnkatTestbrowser/7.3 (Provtelefon)"


def start_with_web(bot: BotUnderTest, port: int | None = None, **env: str) -> str:
    """Start the bot with the web survey on; return its base URL once it listens."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    bot.start(ENKATBOT_WEBB_URL=base, ENKATBOT_WEBB_PORT=str(port), **env)
    wait_listening(port)
    return base


@pytest.fixture
def browser_context(chromium):
    """Yield a factory of browser contexts (each its own cookies), JavaScript off."""
    contexts = []

    def make(**kwargs):
        context = chromium.new_context(java_script_enabled=False, locale="sv-SE", **kwargs)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def test_pagaende_in_the_browser_back_and_change_then_submit(bot, browser_context):
    token = bot.link("deltagare-pagaende")
    base = start_with_web(bot)
    q = get("deltagare-pagaende")
    anna = WebParticipant(browser_context().new_page(), base, token)
    anna.page.goto(anna.url)
    assert anna.page.locator("html").get_attribute("lang") == "sv"
    hello, length = t.greeting_intro(q, 11)
    expect(anna.page.locator("h1")).to_have_text(hello)
    expect(anna.page.locator("main")).to_contain_text(length)
    expect(anna.page.get_by_role("link", name=w.BUTTON_TELEGRAM)).to_have_attribute(
        "href", f"https://t.me/finsam_test_bot?start={token}"
    )
    anna.button(w.BUTTON_WEB)
    anna.wait_question(1, 11)
    assert anna.legend() == "Vilket kön har du?"
    assert anna.page.get_by_role("button", name=t.BUTTON_BACK).count() == 0

    legends = []
    for answer in PAGAENDE[:5]:
        legends.append(anna.legend())
        anna.answer(answer)
    anna.wait_question(6, 11)
    anna.back()
    anna.wait_question(5, 11)
    assert anna.selected() == "Ofta"  # going back shows the earlier answer selected
    anna.back()
    anna.wait_question(4, 11)
    assert anna.selected() is None  # it was skipped
    anna.answer("För det mesta")  # answering it now: on to where she left off
    anna.wait_question(6, 11)
    for answer in PAGAENDE[5:]:
        legends.append(anna.legend())
        anna.answer(answer)
    assert legends[:4] + legends[5:] == [it.text for it in q.items if it.id != "pagaende-4"]

    lines = anna.overview()
    assert len(lines) == 11
    assert lines[3].endswith("→ För det mesta") and lines[2].endswith("→ Vet inte")
    anna.button(t.BUTTON_CHANGE)
    anna.page.get_by_label(re.compile(r"^3\. ")).check()
    anna.button(w.BUTTON_CHANGE_THIS)
    anna.wait_question(3, 11)
    assert anna.selected() == "Vet inte"
    anna.answer("Alltid")
    anna.submit()

    chosen = [*PAGAENDE]
    chosen[3], chosen[2] = "För det mesta", "Alltid"
    assert bot.responses() == [("deltagare-pagaende", INSATS,
                                expected_answers("deltagare-pagaende", chosen))]
    assert bot.responses("in_progress") == []
    assert not [c for c in anna.page.context.cookies() if c["name"] == "enkat"]
    # The link is used now; opening it again says so kindly.
    anna.page.goto(anna.url)
    expect(anna.page.locator("main")).to_contain_text(t.LINK_USED)


def test_avslut_both_branches_to_the_end(bot, browser_context):
    ja_token, nej_token = bot.link(), bot.link()
    base = start_with_web(bot)
    ja = WebParticipant(browser_context().new_page(), base, ja_token)
    nej = WebParticipant(browser_context().new_page(), base, nej_token)
    for person in (ja, nej):
        person.open()
        person.wait_question(1, 14)
        person.walk(AVSLUT_JA[:8])
        person.wait_question(9, 14)
    ja.answer("Ja")
    ja.wait_question(10, 14)
    assert ja.legend() == get("deltagare-avslut").item("avslut-9").text
    ja.walk(AVSLUT_JA[9:])
    nej.answer("Nej")
    nej.wait_question(10, 12)  # 9 and 10 are not asked after Nej on 8
    assert nej.legend() == get("deltagare-avslut").item("avslut-fritext-1").text
    nej.walk(AVSLUT_NEJ[9:])
    assert len(ja.overview()) == 14 and len(nej.overview()) == 12
    ja.submit()
    nej.submit()
    stored = [answers for _, _, answers in bot.responses()]
    assert as_multiset(stored) == as_multiset([
        expected_answers("deltagare-avslut", AVSLUT_JA),
        expected_answers("deltagare-avslut", AVSLUT_NEJ),
    ])


def test_a_survey_resumes_after_the_bot_process_is_killed(bot, browser_context):
    token = bot.link()
    port = free_port()
    base = start_with_web(bot, port)
    context = browser_context(
        user_agent=USER_AGENT, extra_http_headers={"X-Forwarded-For": FORWARDED_FOR}
    )
    vera = WebParticipant(context.new_page(), base, token)
    vera.open()
    vera.walk(AVSLUT_JA[:5])
    vera.wait_question(6, 14)
    bot.kill()

    start_with_web(bot, port)
    vera.page.goto(f"{vera.url}/svar")
    vera.wait_question(6, 14)
    vera.back()
    assert vera.selected() == AVSLUT_JA[4]
    vera.answer(AVSLUT_JA[4])
    vera.walk(AVSLUT_JA[5:9])
    cookie = next(c["value"] for c in context.cookies() if c["name"] == "enkat")
    csrf = next(c["value"] for c in context.cookies() if c["name"] == "enkat_csrf")
    bot.kill()  # again, mid-survey: the unfinished survey is on disk, found by the cookie

    start_with_web(bot, port)
    vera.page.goto(vera.url)  # the link again, as from the QR code
    vera.button(w.BUTTON_WEB)
    vera.wait_question(10, 14)
    expect(vera.page.locator(".note")).to_have_text(t.WELCOME_BACK)
    vera.walk(AVSLUT_JA[9:])
    vera.submit()
    bot.stop()
    assert bot.responses() == [
        ("deltagare-avslut", INSATS, expected_answers("deltagare-avslut", AVSLUT_JA))
    ]

    # Nothing that could tie the response to this browser or this person was kept.
    leaks = {"cookie": cookie, "csrf cookie": csrf, "token": token,
             "address": FORWARDED_FOR, "user agent": "EnkatTestbrowser"}
    files = [p for p in bot.db_path.parent.iterdir() if p.name.startswith(bot.db_path.name)]
    assert files
    for path in [*files, *bot.workdir.glob("bot-*.std*")]:
        data = path.read_bytes()
        for what, value in leaks.items():
            assert value.encode() not in data, f"{path.name} holds the {what}"
    with closing(Store(bot.db_path)) as store:
        assert store.chat_key(cookie) not in (bot.db_path.read_bytes().decode("latin-1"))
        months = {r["month"] for r in store.db.query("SELECT month FROM response")}
    assert months == {datetime.now(UTC).strftime("%Y-%m")}


def test_the_same_link_in_telegram_or_the_browser_gives_the_same_response(bot, browser_context):
    telegram_link, web_link = bot.link(), bot.link()
    base = start_with_web(bot)
    answers = AVSLUT_NEJ
    # Opened in Telegram first: Telegram owns it; the browser says so, kindly.
    phone = bot.phone(730_100_001, "Tove")
    open_survey(phone, telegram_link)
    page = browser_context().new_page()
    page.goto(f"{base}/e/{telegram_link}")
    expect(page.locator("main")).to_contain_text(w.ELSEWHERE_TELEGRAM)
    assert page.get_by_role("button", name=w.BUTTON_WEB).count() == 0
    walk(phone, answers[:9])
    walk(phone, answers[9:], first=10)
    submit(phone)

    # Opened in the browser first: the browser owns it; Telegram says so.
    browser = WebParticipant(browser_context().new_page(), base, web_link)
    browser.open()
    browser.walk(answers[:3])
    other_phone = bot.phone(730_100_002, "Ulla")
    other_phone.send(f"/start {web_link}")
    other_phone.wait_for_text(t.LINK_ELSEWHERE)
    assert bot.session_answers(other_phone.user_id) is None
    browser.walk(answers[3:])
    browser.submit()

    responses = bot.responses()
    assert len(responses) == 2
    assert responses[0] == responses[1] == (
        "deltagare-avslut", INSATS, expected_answers("deltagare-avslut", answers)
    )
    with closing(Store(bot.db_path)) as store:
        rows = list(store.db.query("SELECT * FROM response"))
        frames = store.response_frames()
    assert [sorted(r) for r in rows] == [sorted(rows[0])] * 2
    assert {(r["enkat"], r["version"], r["insats_id"], r["month"], r["status"]) for r in rows} \
        == {(rows[0]["enkat"], rows[0]["version"], rows[0]["insats_id"], rows[0]["month"],
             "complete")}
    data = Dataset(*frames)
    counts = data.select([rows[0]["month"]]).respondent_counts()
    assert counts["deltagare-avslut"] == (2, 0)  # the report counts both channels together


def test_webhook_and_web_share_one_port(bot, browser_context):
    token = bot.link("deltagare-pagaende")
    other = bot.link("deltagare-pagaende")
    wilma = bot.api.phone(1001, "Wilma", started=True)
    bot.phones.append(wilma)
    port = free_port()
    base = start_with_web(bot, port, ENKATBOT_WEBHOOK_URL="https://enkat.example.se",
                          ENKATBOT_WEBHOOK_SECRET="hemlig-nyckel_42")
    call = bot.api.wait_for_call("setWebhook", timeout=20)
    assert call.params["url"] == "https://enkat.example.se/telegram"
    assert call.params["secret_token"] == "hemlig-nyckel_42"
    assert bot.api.calls_of("getUpdates") == []

    def post(update: dict, secret: str | None) -> int:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        req = urllib.request.Request(f"{base}/telegram", data=json.dumps(update).encode(),
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code

    assert post(_start_update(1, 1001, f"/start {token}"), "fel") == 403
    assert post(_start_update(2, 1001, f"/start {token}"), None) == 403

    def post_the_real_one() -> None:
        assert post(_start_update(3, 1001, f"/start {token}"), "hemlig-nyckel_42") == 200

    # The refused posts started nothing: the bot's first word is the real one's greeting.
    greeting = wilma.expect_nothing_before(
        post_the_real_one, lambda m: t.BUTTON_START in m.content
    )
    assert greeting.buttons == [[t.BUTTON_START]]

    person = WebParticipant(browser_context().new_page(), base, other)
    person.open()
    person.wait_question(1, 11)


def test_lank_gives_the_web_page_and_it_is_answered_in_the_browser(bot, browser_context):
    base = start_with_web(bot)
    ada = bot.phone(ADMIN_ID, "Ada")
    ada.send("/lank")
    choose = ada.wait_for_text(p.CHOOSE_INSATS)
    ada.tap(INSATS, choose)
    enkat = ada.wait_for(lambda m: m.message_id == choose.message_id and bool(m.buttons))
    assert "Pågående (under insatsen)" in flat(enkat.buttons)
    ada.tap("Pågående (under insatsen)", enkat)
    created = ada.wait_for_text(f"Enkätlänk för {INSATS}, pågående.")
    found = re.search(rf"{re.escape(base)}/e/([\w-]+)", created.text)
    assert found is not None, created.text
    assert "t.me" not in created.text
    qr = ada.wait_for(lambda m: m.kind == "photo")
    assert qr.photo_bytes is not None and qr.photo_bytes.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(qr.photo_bytes)) as img:
        img.load()
        decoded = _decode_qr(img)
        assert decoded == found.group(0) if decoded is not None else _qr_modules_encode(
            img, found.group(0))

    person = WebParticipant(browser_context().new_page(), base, found.group(1))
    person.open()
    person.walk(PAGAENDE)
    person.submit()
    assert bot.responses() == [("deltagare-pagaende", INSATS,
                                expected_answers("deltagare-pagaende", PAGAENDE))]
