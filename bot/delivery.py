"""Updates from Telegram, each confirmed only once it has been handled (at least once).

python-telegram-bot's Updater confirms a batch to Telegram (the `offset` of the next
getUpdates) as soon as it has fetched it, before any of it is handled: an update in flight
when the process dies is never delivered again. `Poller` confirms an update only when its
handling has finished, and every update before it has too, so Telegram sends again whatever
was in flight at a crash. Nothing is written to disk: the updates hold answers and chat ids,
and Telegram itself keeps them until they are confirmed. Effects stay exactly once because
`SurveyService.handle` remembers the updates it applied.

Handling goes through the Application's update processor (`PerChatOrderedProcessor`): updates
of different chats run concurrently, one chat's in the order Telegram sent them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.ratelimit import retry_seconds

log = logging.getLogger("enkatbot")

BUSY_POLL_SECONDS = 0.25
"""While updates are in flight a long poll would return them again at once, so new ones are
asked for this often (or as soon as one finishes)."""
MAX_BACKOFF_SECONDS = 30.0
FINISH_SECONDS = 10.0


async def handle_update(app: Application[Any, Any, Any, Any, Any, Any], update: object) -> None:
    """Handle one update through the handlers and error handlers; return once it is done."""
    await app.update_processor.process_update(update, app.process_update(update))


class Poller:
    """Long polling that confirms an update to Telegram only after it has been handled."""

    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any], timeout: int) -> None:
        """Poll for `app` with long polls of `timeout` seconds; nothing is fetched yet."""
        self.app = app
        self.timeout = timeout
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._done: set[int] = set()
        self._highest: int | None = None
        self._stopping = asyncio.Event()

    def offset(self) -> int | None:
        """Return the offset for the next getUpdates: the first update not yet handled.

        Everything below it has been handled and is confirmed by asking with it. None before
        the first batch: Telegram then sends every update it still holds.
        """
        if self._inflight:
            return min(self._inflight)
        return None if self._highest is None else self._highest + 1

    async def run(self) -> None:
        """Fetch and handle updates until `stop`; confirm the handled ones before returning."""
        bot = self.app.bot
        stopped = asyncio.ensure_future(self._stopping.wait())
        try:
            await self._poll(bot, stopped)
        finally:
            stopped.cancel()
        await self._finish()

    async def _poll(self, bot: Any, stopped: asyncio.Future[Any]) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            busy = bool(self._inflight)
            try:
                updates = await bot.get_updates(
                    offset=self.offset(), timeout=0 if busy else self.timeout,
                    allowed_updates=Update.ALL_TYPES,
                )
            except InvalidToken:
                raise
            except RetryAfter as exc:
                await self._pause(retry_seconds(exc))
                continue
            except (NetworkError, Conflict) as exc:
                # A dropped connection or a second poller: tried again, more slowly each time.
                log.warning("event=network_error error=%s", type(exc).__name__)
                await self._pause(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            except TelegramError as exc:
                log.warning("event=poll_failed error=%s", type(exc).__name__)
                await self._pause(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = 1.0
            fresh = [u for u in updates if self._is_new(u.update_id)]
            for update in fresh:
                self._start(update)
            if busy and not fresh and self._inflight:
                await asyncio.wait(
                    [*self._inflight.values(), stopped],
                    timeout=BUSY_POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED,
                )

    def _is_new(self, update_id: int) -> bool:
        if update_id in self._inflight or update_id in self._done:
            return False
        offset = self.offset()
        return offset is None or update_id >= offset

    def _start(self, update: Update) -> None:
        uid = update.update_id
        if self._highest is None or uid > self._highest:
            self._highest = uid
        task = asyncio.create_task(handle_update(self.app, update), name=f"update-{uid}")
        self._inflight[uid] = task
        task.add_done_callback(lambda _: self._finished(uid))

    def _finished(self, update_id: int) -> None:
        self._inflight.pop(update_id, None)
        self._done.add(update_id)
        offset = self.offset()
        if offset is not None:
            # Handled ids below the offset are confirmed by the next poll: forget them.
            self._done = {u for u in self._done if u >= offset}

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def stop(self) -> None:
        """Stop fetching; `run` returns once the updates in flight are handled and confirmed."""
        self._stopping.set()

    async def _finish(self) -> None:
        if self._inflight:
            # Bounded: what is still running after this is not confirmed, so Telegram sends
            # it again to the next process.
            await asyncio.wait(list(self._inflight.values()), timeout=FINISH_SECONDS)
        offset = self.offset()
        if offset is None:
            return
        # One last short poll confirms what was handled, so a clean restart repeats nothing.
        with contextlib.suppress(TelegramError):
            await self.app.bot.get_updates(offset=offset, timeout=0, limit=1,
                                           allowed_updates=Update.ALL_TYPES)


__all__ = ["Poller", "handle_update"]
