"""A rate limiter that counts what Telegram counts.

Telegram limits how many *messages a bot sends*: about 30 a second in all, about one a second
in one chat (short bursts allowed) and 20 a minute in a group. Editing a message and answering
a button tap are not sends; Telegram throttles them on its own and says so with 429. PTB's
AIORateLimiter puts every call that names a chat under the overall limit, edits included, so a
bot that edits and sends per answer is capped near 15 answers a second even with one
participant. This limiter queues only sends, and retries every call Telegram answers with 429
after the `retry_after` it gives, whatever the method.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger("enkatbot.ratelimit")

SEND_METHODS = frozenset({
    "sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "sendVideo", "sendAudio",
    "sendVoice", "sendAnimation", "sendSticker", "sendLocation", "sendContact", "sendPoll",
    "sendVideoNote", "sendVenue", "sendDice", "copyMessage", "copyMessages", "forwardMessage",
    "forwardMessages",
})
"""Bot API methods that put a new message in a chat: the calls Telegram's limits count."""

OVERALL_PER_SECOND = 28
"""A little under Telegram's 30, so jitter on the way cannot put 31 into one second."""
CHAT_PER_5_SECONDS = 5
"""Sends to one private chat in any five seconds: one a second, in bursts of up to five."""
GROUP_PER_MINUTE = 19
IDLE_CHAT_SECONDS = 60.0
"""How often chats with an empty window are forgotten."""

Result = bool | dict[str, Any] | list[dict[str, Any]]


class SlidingWindow:
    """At most `limit` calls in any `period` seconds, as the receiving end counts them.

    A call holds its place from `acquire` until `release`, and counts for `period` seconds
    after it *finished*: its request has reached Telegram by then, so however long the next
    request takes on the way, Telegram never sees more than `limit` of them in one period.
    (A token bucket would let a full bucket plus its refill through within one period.)
    """

    def __init__(self, limit: int, period: float) -> None:
        """Allow `limit` calls per `period` seconds."""
        self.limit = limit
        self.period = period
        self._in_flight = 0
        self._finished: deque[float] = deque()
        self._released = asyncio.Event()
        self._turn = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one more call fits in the window, then take its place.

        Callers get their places in the order they asked (asyncio.Lock is first come, first
        served), so under load no one waits much longer than the others.
        """
        async with self._turn:
            while True:
                now = time.monotonic()
                while self._finished and now - self._finished[0] >= self.period:
                    self._finished.popleft()
                if self._in_flight + len(self._finished) < self.limit:
                    self._in_flight += 1
                    return
                # A release only turns a call in flight into a finished one: a place comes
                # free when the oldest finished call leaves the window, at a known time. Only
                # with every place in flight is there a release to wait for first. (A
                # Condition waited on with asyncio.wait_for was seen, on Python 3.11, to
                # leave the window full for good with nothing in flight.)
                if self._finished:
                    await asyncio.sleep(self._finished[0] + self.period - now)
                else:
                    self._released.clear()
                    await self._released.wait()

    async def release(self) -> None:
        """Mark the call taken by `acquire` as finished now."""
        self._in_flight -= 1
        self._finished.append(time.monotonic())
        self._released.set()

    def idle(self, now: float) -> bool:
        """Return True when no call is in flight or finished within the last period."""
        return not self._in_flight and (
            not self._finished or now - self._finished[-1] >= self.period
        )


class TelegramRateLimiter(BaseRateLimiter[int]):
    """Queue sends within Telegram's limits; let edits and answers through; retry every 429.

    `rate_limit_args` (PTB's per-call argument) overrides the number of retries.
    """

    def __init__(
        self,
        overall_per_second: int = OVERALL_PER_SECOND,
        chat_per_5_seconds: int | None = CHAT_PER_5_SECONDS,
        group_per_minute: int = GROUP_PER_MINUTE,
        max_retries: int = 5,
    ) -> None:
        """Set the limits; `max_retries` is how often one call is retried after a 429.

        `chat_per_5_seconds` None leaves private chats without a limit of their own.
        """
        self._overall = SlidingWindow(overall_per_second, 1.0)
        self._chat_limit = chat_per_5_seconds
        self._group_per_minute = group_per_minute
        self._max_retries = max_retries
        self._chats: dict[int | str, SlidingWindow] = {}
        self._pruned = time.monotonic()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    def _chat_limiter(self, chat_id: int | str) -> SlidingWindow | None:
        now = time.monotonic()
        if now - self._pruned > IDLE_CHAT_SECONDS:
            # Forget chats whose window is empty, so the table does not grow with every chat.
            self._chats = {k: w for k, w in self._chats.items() if not w.idle(now)}
            self._pruned = now
        window = self._chats.get(chat_id)
        if window is None:
            group = isinstance(chat_id, str) or chat_id < 0
            if group:
                window = SlidingWindow(self._group_per_minute, 60.0)
            elif self._chat_limit is None:
                return None
            else:
                window = SlidingWindow(self._chat_limit, 5.0)
            self._chats[chat_id] = window
        return window

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        """Wait for room when `endpoint` sends a message, call it, retry after each 429."""
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        chat_id = data.get("chat_id")
        for attempt in range(retries + 1):
            windows: list[SlidingWindow] = []
            if endpoint in SEND_METHODS:
                chat = self._chat_limiter(chat_id) if isinstance(chat_id, int | str) else None
                windows = [self._overall] if chat is None else [chat, self._overall]
            for window in windows:
                await window.acquire()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == retries:
                    raise
                wait = retry_seconds(exc)
                log.warning("event=rate_limited method=%s retry_after=%.0f", endpoint, wait)
                await asyncio.sleep(wait + 0.05)
            finally:
                for window in windows:
                    await window.release()
        raise AssertionError("unreachable")


def retry_seconds(exc: RetryAfter) -> float:
    """Return how long Telegram asked us to wait, in seconds.

    PTB 22 warns that `retry_after` becomes a timedelta; both forms are read here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: object = exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)  # type: ignore[arg-type]
