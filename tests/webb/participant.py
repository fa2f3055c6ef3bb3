"""A participant answering the web survey in a real browser, through what is on the page."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from bot.texts import deltagare as t
from web import texts as w

STEP_MS = 20_000


class WebParticipant:
    """Drive one browser page through a survey by its visible labels and buttons."""

    def __init__(self, page: Page, base_url: str, token: str) -> None:
        """Answer the survey of `token` on the server at `base_url`."""
        self.page = page
        self.base_url = base_url
        self.token = token
        page.set_default_timeout(STEP_MS)

    @property
    def url(self) -> str:
        """Return the link the participant was given."""
        return f"{self.base_url}/e/{self.token}"

    def open(self) -> None:
        """Open the link and choose to answer in the browser."""
        self.page.goto(self.url)
        self.page.get_by_role("button", name=w.BUTTON_WEB).click()
        self.wait_question()

    def button(self, name: str) -> None:
        """Press the button labelled exactly `name`."""
        self.page.get_by_role("button", name=name, exact=True).click()

    def heading(self) -> str:
        """Return the page's main heading."""
        return self.page.locator("h1").inner_text()

    def wait_question(self, n: int | None = None, total: int | None = None) -> None:
        """Wait until the page asks question `n` (of `total`)."""
        any_number = r"\d+"
        pattern = f"^Fråga {n or any_number} av {total or any_number}$"
        expect(self.page.locator("h1")).to_have_text(re.compile(pattern))

    def legend(self) -> str:
        """Return the question text (the fieldset's legend)."""
        return self.page.locator("fieldset legend").inner_text()

    def selected(self) -> str | None:
        """Return the label of the selected option, or the text in the text area."""
        area = self.page.locator("textarea")
        if area.count():
            return area.input_value() or None
        checked = self.page.locator("input[type=radio]:checked")
        if not checked.count():
            return None
        return self.page.locator(f"label[for={checked.get_attribute('id')}]").inner_text()

    def item_id(self) -> str:
        """Return which question (or "oversikt") the page's form is for."""
        return self.page.locator("input[name=fraga]").get_attribute("value") or ""

    def _moved_on_from(self, item_id: str) -> None:
        expect(self.page.locator("input[name=fraga]")).not_to_have_value(item_id)

    def answer(self, answer: str) -> None:
        """Answer the current question: pick the option labelled `answer`, type it, or skip.

        Returns once the next page (question or overview) is showing.
        """
        before = self.item_id()
        if answer == t.BUTTON_SKIP:
            self.button(t.BUTTON_SKIP)
        else:
            if self.page.locator("textarea").count():
                self.page.locator("textarea").fill(answer)
            else:
                self.page.get_by_label(answer, exact=True).check()
            self.button(w.BUTTON_NEXT)
        self._moved_on_from(before)

    def walk(self, answers: list[str]) -> None:
        """Answer questions one after another."""
        for answer in answers:
            self.answer(answer)

    def back(self) -> None:
        """Press ← Föregående and wait for the earlier page."""
        before = self.item_id()
        self.button(t.BUTTON_BACK)
        self._moved_on_from(before)

    def overview(self) -> list[str]:
        """Wait for the overview; return its lines."""
        expect(self.page.locator("h1")).to_have_text(t.OVERVIEW_TITLE)
        return self.page.locator("ol.overview li").all_inner_texts()

    def submit(self) -> None:
        """Press Skicka in on the overview and wait for the thanks."""
        self.overview()
        self.button(t.BUTTON_SUBMIT)
        expect(self.page.locator("h1")).to_have_text(w.THANKS_TITLE)
