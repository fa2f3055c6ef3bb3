"""The web survey's safety parts: cookies, CSRF tokens, headers, a guessing limiter, body caps.

Nothing here writes to disk or to the log: the limiter lives in memory, bounded, keyed by a
keyed hash of the client address under a key that dies with the process.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("enkatbot.webb")

SESSION_COOKIE = "enkat"
CSRF_COOKIE = "enkat_csrf"
COOKIE_BYTES = 32
MAX_BODY = 32 * 1024
"""Largest form accepted: a free-text answer is cut at 1000 characters, so this is ample."""

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    # The path holds the link token: never send it to another site, e.g. t.me.
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)


def new_cookie_value() -> str:
    """Return a fresh random cookie value (256 bits), unrelated to anything stored."""
    return secrets.token_urlsafe(COOKIE_BYTES)


def looks_like_cookie(value: str | None) -> bool:
    """Return True when `value` has the shape of a cookie value this app hands out."""
    return (
        value is not None
        and 40 <= len(value) <= 64
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in value)
    )


def csrf_token(key: Callable[[str], str], csrf_cookie: str) -> str:
    """Return the form token bound to this browser's CSRF cookie (HMAC under the DB secret)."""
    return key(f"csrf:{csrf_cookie}")


def csrf_ok(key: Callable[[str], str], csrf_cookie: str | None, posted: str | None) -> bool:
    """Return True when the posted form token belongs to this browser's CSRF cookie."""
    if not looks_like_cookie(csrf_cookie) or not posted:
        return False
    assert csrf_cookie is not None
    return hmac.compare_digest(csrf_token(key, csrf_cookie).encode(), posted.encode("utf-8"))


@dataclass
class _Bucket:
    tokens: float
    updated: float


class GuessLimiter:
    """Slow down guessing of link tokens: a token bucket per client, in memory only.

    Each failed lookup (an unknown token) costs one token; a client with an empty bucket is
    refused until it refills. At most `max_clients` buckets are kept; the oldest is forgotten
    first. Client addresses are kept only as keyed hashes under a per-process random key.
    """

    def __init__(
        self,
        capacity: int = 20,
        refill_per_second: float = 0.2,
        max_clients: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Allow `capacity` misses at once, then one per 1/`refill_per_second` seconds."""
        self.capacity = capacity
        self.refill = refill_per_second
        self.max_clients = max_clients
        self.clock = clock
        self._key = secrets.token_bytes(32)
        self._buckets: OrderedDict[bytes, _Bucket] = OrderedDict()

    def _id(self, client: str) -> bytes:
        return hmac.new(self._key, client.encode(), hashlib.sha256).digest()[:16]

    def _bucket(self, client: str) -> _Bucket:
        cid = self._id(client)
        now = self.clock()
        bucket = self._buckets.get(cid)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.capacity), updated=now)
            self._buckets[cid] = bucket
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(cid)
            bucket.tokens = min(
                float(self.capacity), bucket.tokens + (now - bucket.updated) * self.refill
            )
            bucket.updated = now
        return bucket

    def allowed(self, client: str) -> bool:
        """Return True when this client may look up a token now."""
        return self._bucket(client).tokens >= 1

    def missed(self, client: str) -> None:
        """Record that this client asked for a token that does not exist."""
        bucket = self._bucket(client)
        bucket.tokens = max(0.0, bucket.tokens - 1)

    def __len__(self) -> int:
        """Return how many clients are remembered."""
        return len(self._buckets)


class SecurityHeaders:
    """ASGI middleware: every response gets the security headers; pages are never cached."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        """Wrap `app`; with `https`, browsers are also told to use HTTPS only."""
        self.app = app
        self.extra = list(SECURITY_HEADERS)
        if https:
            self.extra.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to the response start message."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", [])
                    if k.lower() not in (b"server", b"cache-control")
                ]
                headers += self.extra
                headers.append(
                    (b"cache-control", b"public, max-age=3600" if static else b"no-store")
                )
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CatchErrors:
    """ASGI middleware: an exception becomes a kind 500 page and one log line, no stack trace.

    The log line names only the exception type: a message could hold an answer.
    """

    def __init__(self, app: ASGIApp, page: Callable[[], bytes]) -> None:
        """Wrap `app`; `page` renders the HTML shown on an error."""
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; on an exception send the error page if nothing was sent yet."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log.error("event=web_error error=%s", type(exc).__name__)
            if started:
                return
            body = self.page()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"text/html; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
