"""Every page type in headless Chromium: WCAG 2.1 AA by axe-core, keyboard only, small screens.

The pages are served by a real uvicorn server on loopback. Axe runs in a context with
JavaScript on (axe is the test's script; the pages have none); everything else runs with
JavaScript off, proving plain forms suffice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import closing

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from bot.survey import SurveyService
from bot.texts import deltagare as t
from storage import Store, hash_token
from tests.webb.participant import WebParticipant
from tests.webb.tools import WCAG_21_AA, InProcessWeb
from web import texts as w

pytestmark = pytest.mark.web

PAGE_LIMIT = 30_000
AVSLUT = ["Kvinna", "Alltid", "För det mesta", "Ofta", "Ibland", "Sällan", "Inte alls",
          "Vet inte", "Ja", "I ganska hög grad", t.BUTTON_SKIP, "Ett arbete.",
          "Att bli lyssnad på.", "Inget."]


def _page_types(web: InProcessWeb, person: WebParticipant) -> dict[str, Callable[[], None]]:
    """Return how to reach each page type, in an order one browser can follow."""
    page = person.page
    used = web.link()
    with closing(Store(web.db_path)) as store:
        store.db.execute("UPDATE link SET uses_left = 0 WHERE token_hash = ?", [hash_token(used)])
    telegram_owned = web.link()
    SurveyService(web.store).open_with_link(777, telegram_owned)

    def question_with_error() -> None:
        person.button(w.BUTTON_NEXT)
        expect(page.locator(".error")).to_have_count(1)

    def free_text() -> None:
        person.walk(AVSLUT[:11])
        expect(page.locator("textarea")).to_have_count(1)

    def free_text_with_error() -> None:
        person.button(w.BUTTON_NEXT)
        expect(page.locator(".error")).to_have_count(1)

    def change() -> None:
        person.walk(AVSLUT[11:])
        person.overview()
        person.button(t.BUTTON_CHANGE)
        expect(page.locator("h1")).to_have_text(w.CHOOSE_CHANGE)

    def change_with_error() -> None:
        person.button(w.BUTTON_CHANGE_THIS)
        expect(page.locator(".error")).to_have_count(1)

    def overview() -> None:
        person.button(t.BUTTON_CANCEL_CHANGE)
        person.overview()

    def stale_note() -> None:
        page.goto(f"{person.url}/svar?n=stale_button")
        expect(page.locator(".note")).to_have_count(1)

    return {
        "home": lambda: page.goto(web.url),
        "landing": lambda: page.goto(person.url),
        "question": lambda: (person.button(w.BUTTON_WEB), person.wait_question(1, 14)),
        "question with error": question_with_error,
        "free text": free_text,
        "free text with error": free_text_with_error,
        "change an answer": change,
        "change with error": change_with_error,
        "overview": overview,
        "overview with note": stale_note,
        "thanks": lambda: person.submit(),
        "used link": lambda: page.goto(f"{web.url}/e/{used}"),
        "unknown link": lambda: page.goto(f"{web.url}/e/FinnsInte123"),
        "under way in Telegram": lambda: page.goto(f"{web.url}/e/{telegram_owned}"),
        "no survey in this browser": lambda: page.goto(f"{web.url}/e/{telegram_owned}/svar"),
        "not found": lambda: page.goto(f"{web.url}/nagot/annat"),
    }


def test_every_page_type_meets_wcag_21_aa(web, chromium):
    context = chromium.new_context(locale="sv-SE")
    person = WebParticipant(context.new_page(), web.url, web.link())
    axe = Axe()
    failures = {}
    try:
        for name, reach in _page_types(web, person).items():
            reach()
            result = axe.run(
                person.page,
                options={"runOnly": {"type": "tag", "values": WCAG_21_AA},
                         "resultTypes": ["violations"]},
            )
            assert result.response["passes"] or result.response["inapplicable"], name
            if result.violations_count:
                failures[name] = result.generate_report()
    finally:
        context.close()
    assert failures == {}


def _no_sideways_scroll(page: Page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


@pytest.mark.parametrize(("width", "text_zoom"), [(320, "100%"), (640, "200%")])
def test_pages_reflow_at_320_px_and_200_percent_text(web, chromium, width, text_zoom):
    context = chromium.new_context(viewport={"width": width, "height": 640}, locale="sv-SE")
    person = WebParticipant(context.new_page(), web.url, web.link())
    seen = []
    try:
        for name, reach in _page_types(web, person).items():
            reach()
            person.page.evaluate(f"document.documentElement.style.fontSize = '{text_zoom}'")
            if not _no_sideways_scroll(person.page):
                seen.append(name)
            for button in person.page.locator("button, a.button").all():
                box = button.bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    finally:
        context.close()
    assert seen == []


def test_pages_are_small_need_no_script_and_ask_nothing_of_other_sites(web, chromium):
    context = chromium.new_context(java_script_enabled=False, locale="sv-SE")
    requests: list[str] = []
    sizes: dict[str, int] = {}
    page = context.new_page()
    page.on("request", lambda r: requests.append(r.url))

    def record(response) -> None:
        sizes[response.url] = len(response.body()) if response.status < 300 else 0

    page.on("response", record)
    person = WebParticipant(page, web.url, web.link())
    try:
        person.open()
        person.walk(AVSLUT)
        person.submit()
        page.goto(f"{web.url}/e/FinnsInte")
    finally:
        context.close()
    assert requests and all(url.startswith(web.url + "/") for url in requests)
    css = sum(size for url, size in sizes.items() if url.endswith(".css"))
    for url, size in sizes.items():
        if not url.endswith(".css"):
            assert size + css < PAGE_LIMIT, url
    assert not [u for u in requests if u.endswith(".js")]


def test_a_whole_survey_by_keyboard_alone_with_visible_focus(web, chromium):
    context = chromium.new_context(locale="sv-SE")
    page = context.new_page()
    person = WebParticipant(page, web.url, web.link("deltagare-pagaende"))
    keys = page.keyboard

    def focused() -> dict:
        return page.evaluate(
            "(() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return {tag: e.tagName, type: e.type || '', text: e.innerText || '',"
            " label: e.labels && e.labels.length ? e.labels[0].innerText : '',"
            " outline: s.outlineStyle, width: parseFloat(s.outlineWidth)}; })()"
        )

    def tab_to(match: Callable[[dict], bool], limit: int = 12) -> dict:
        for _ in range(limit):
            keys.press("Tab")
            now = focused()
            if match(now):
                assert now["outline"] != "none" and now["width"] >= 2, now  # focus visible
                return now
        raise AssertionError(f"never reached by Tab; last {focused()}")

    def is_button(text: str) -> Callable[[dict], bool]:
        return lambda f: f["tag"] in ("BUTTON", "A") and f["text"].strip() == text

    answers = ["Man", "Ofta", "Vet inte", None, "Alltid", "Ibland", "I låg grad", "Aldrig",
               "Skrivet med tangentbordet.", None, "Inget."]
    try:
        page.goto(person.url)
        tab_to(is_button(w.BUTTON_WEB))
        keys.press("Enter")
        for n, answer in enumerate(answers, 1):
            person.wait_question(n, 11)
            before = person.item_id()
            if answer is None:
                tab_to(is_button(t.BUTTON_SKIP))
                keys.press("Enter")
            elif page.locator("textarea").count():
                tab_to(lambda f: f["tag"] == "TEXTAREA")
                keys.type(answer)
                tab_to(is_button(w.BUTTON_NEXT))
                keys.press("Enter")
            else:
                tab_to(lambda f: f["type"] == "radio")
                # Arrow keys move through a radio group and select as they go.
                for _ in range(12):
                    if focused()["label"] == answer:
                        break
                    keys.press("ArrowDown")
                keys.press("Space")
                assert focused()["label"] == answer
                tab_to(is_button(w.BUTTON_NEXT))
                keys.press("Enter")
            expect(page.locator("input[name=fraga]")).not_to_have_value(before)
        person.overview()
        tab_to(is_button(t.BUTTON_SUBMIT))
        keys.press("Enter")
        expect(page.locator("h1")).to_have_text(w.THANKS_TITLE)
    finally:
        context.close()
    with closing(Store(web.db_path)) as store:
        frames, answers_frame = store.response_frames()
    stored = dict(zip(answers_frame["item_id"], answers_frame["value"], strict=True))
    assert len(frames) == 1 and stored["pagaende-kon"] == "man"
    assert stored["pagaende-fritext-1"] == "Skrivet med tangentbordet."
    assert re.fullmatch(r"\d{4}-\d{2}", frames["month"][0])
