"""Fixtures for the web survey: a real uvicorn server on loopback, and real headless Chromium.

The browser is Debian's `chromium`, driven by Playwright with the system browser as its
executable (never `playwright install`). Without it the browser tests are skipped on a
developer's machine but FAIL under CI (CI=true), so a missing browser cannot pass unnoticed;
`make test` installs it. ENKATBOT_TEST_CHROMIUM names another executable (used to test
exactly that).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.webb.tools import CHROMIUM, CHROMIUM_ARGS, InProcessWeb


@pytest.fixture
def web(db_path: Path) -> Iterator[InProcessWeb]:
    """Yield the web survey served by uvicorn in a thread, on a fresh database."""
    with InProcessWeb(db_path) as server:
        yield server


@pytest.fixture(scope="module")
def chromium():
    """Yield a headless Chromium (the system one) driven by Playwright, for one module.

    Not for the whole session: Playwright's sync API keeps an event loop running in the main
    thread, and later tests (the CLI's asyncio.run) must find none.
    """
    executable = os.environ.get("ENKATBOT_TEST_CHROMIUM", CHROMIUM)
    if not Path(executable).exists():
        message = (
            f"{executable} saknas: installera den med `apt-get install -y chromium` "
            "(make test gör det)."
        )
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright  # heavy: only when a browser test runs

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium):
    """Yield a fresh page in its own context (own cookies), JavaScript off: plain forms."""
    context = chromium.new_context(java_script_enabled=False, locale="sv-SE")
    try:
        yield context.new_page()
    finally:
        context.close()
