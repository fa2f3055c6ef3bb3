"""Helpers for web survey tests: a server, a form-posting HTTP client, page assertions."""

from __future__ import annotations

import re
import socket
import threading
import time
from contextlib import closing
from pathlib import Path
from types import TracebackType

import httpx
import uvicorn

from bot.config import deep_link
from bot.survey import SurveyService
from storage import Store
from web.app import WebConfig, create_app, server_config
from web.security import GuessLimiter

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BOT_USERNAME = "finsam_test_bot"
INSATS = "Steg framåt"
DEADLINE = 20.0


def free_port() -> int:
    """Return a free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, timeout: float = DEADLINE) -> None:
    """Wait until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listened on port {port}"
            time.sleep(0.05)


class InProcessWeb:
    """The web survey app (no bot) served by a real uvicorn server in a thread."""

    def __init__(self, db_path: Path, *, base_url: str | None = None,
                 limiter: GuessLimiter | None = None) -> None:
        """Prepare a server on the database at `db_path`."""
        self.db_path = db_path
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.store = Store(db_path)
        if self.store.get_insats(INSATS) is None:
            self.store.add_insats(INSATS)
        config = WebConfig(
            base_url=base_url or self.url,
            telegram_link=lambda token: deep_link(BOT_USERNAME, token),
        )
        app = create_app(SurveyService(self.store, remind=False), config, limiter=limiter)
        self.server = uvicorn.Server(server_config(app))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> InProcessWeb:
        """Start serving; return once the server accepts connections."""
        self.thread.start()
        deadline = time.monotonic() + DEADLINE
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Stop the server and close the database."""
        self.server.should_exit = True
        self.thread.join(DEADLINE)
        self.sock.close()
        self.store.close()

    def link(self, enkat: str = "deltagare-avslut", **kwargs: int) -> str:
        """Create a survey link; return its token."""
        with closing(Store(self.db_path)) as store:
            return store.create_links(INSATS, enkat, **kwargs)[0]

    def client(self, **kwargs: object) -> httpx.Client:
        """Return an HTTP client (its own cookie jar) for this server."""
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=DEADLINE,
                            **kwargs)  # type: ignore[arg-type]


def csrf_of(html: str) -> str:
    """Return the CSRF token in a page's form."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def field_of(html: str, name: str) -> str:
    """Return the value of a hidden field in a page's form."""
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def start_in_browser(client: httpx.Client, token: str) -> httpx.Response:
    """Open a link and choose Svara här i webbläsaren; return the first question page."""
    landing = client.get(f"/e/{token}")
    assert landing.status_code == 200, landing.text
    started = client.post(f"/e/{token}", data={"csrf": csrf_of(landing.text), "action": "webb"})
    assert started.status_code == 303, started.text
    page = client.get(started.headers["location"])
    assert page.status_code == 200, page.text
    return page


def post_step(client: httpx.Client, token: str, page: str, **fields: str) -> httpx.Response:
    """Post the form on `page` with `fields` (csrf and fraga are taken from the page)."""
    data = {"csrf": csrf_of(page), "fraga": field_of(page, "fraga"), **fields}
    return client.post(f"/e/{token}/svar", data=data)
