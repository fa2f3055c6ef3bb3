"""Updates from Telegram, each confirmed only once it has been handled (at least once).

python-telegram-bot's Updater confirms a batch to Telegram (the `offset` of the next
getUpdates) as soon as it has fetched it, before any of it is handled: an update in flight
when the process dies is never delivered again. `Poller` confirms an update only when its
handling has finished, and every update before it has too, so Telegram sends again whatever
was in flight at a crash. Nothing is written to disk: the updates hold answers and chat ids,
and Telegram itself keeps them until they are confirmed. Effects stay exactly once because
`SurveyService.handle` remembers the updates it applied.

Telegram returns at most 100 updates from the offset, so an update that stays in flight (a
send retried for long, a queue behind one chat's lock) would keep the bot from fetching
anything beyond the 100 after it. Such an update is settled late: confirmed while still in
flight once the fetch window is full and at least half of it is handled already (it is a
straggler that holds the rest back), or once it has been in flight for
`SETTLE_AFTER_SECONDS`. A window full of updates still being worked on, as after a restart
with a backlog, is not settled: the bot is busy, fetching more would not make it faster, and
every one of them would be lost at the next crash. A settled update is still handled in this
process, but no longer sent again if the process dies first: at most once in effect, and
counted (`event=update_settled_late`).

Handling goes through the Application's update processor (`PerChatOrderedProcessor`): updates
of different chats run concurrently, one chat's in the order Telegram sent them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ExtBot

from bot.ratelimit import retry_seconds

log = logging.getLogger("enkatbot")


@dataclass
class _Polled:
    raw: list[Any] = field(default_factory=list)
    unparseable: int = 0
    known: Callable[[int], bool] = lambda _: False


class TolerantBot(ExtBot[Any]):
    """An ExtBot on which one unparseable update is skipped and counted, never blocking others.

    PTB parses a getUpdates batch as a whole: one update it cannot parse (a poll without
    `persistent_id` from an older self-hosted Bot API server) fails the batch, which is fetched
    again and again, so nobody is answered. Here the batch is parsed update by update, and an
    update that fails becomes an empty update with the same id, so its offset is confirmed.
    """

    __slots__ = ("_polled",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Make the bot as ExtBot does; nothing is unparseable yet."""
        super().__init__(*args, **kwargs)
        with self._unfrozen():
            self._polled = _Polled()

    def skip_known(self, known: Callable[[int], bool]) -> None:
        """Leave out of every later batch the updates `known` says were fetched already.

        `Poller` confirms only handled updates, so each batch repeats the ones in flight;
        they are dropped before parsing (no work twice, no unparseable one counted twice).
        """
        self._polled.known = known

    def skip_unparseable(self, exc: Exception) -> None:
        """Count one update that could not be parsed; log the kind of fault, never its data."""
        self._polled.unparseable += 1
        log.warning(
            "event=update_unparseable error=%s count=%d",
            type(exc).__name__, self._polled.unparseable,
        )

    @property
    def unparseable(self) -> int:
        """Return how many updates could not be parsed since start."""
        return self._polled.unparseable

    async def _post(self, endpoint: str, data: Any = None, **kwargs: Any) -> Any:
        result = await super()._post(endpoint, data, **kwargs)
        if endpoint == "getUpdates" and isinstance(result, list):
            known = self._polled.known
            result = [u for u in result if not (isinstance(u, dict) and isinstance(
                u.get("update_id"), int) and known(u["update_id"]))]
            self._polled.raw = result
        elif endpoint == "getUpdates":
            self._polled.raw = []
        return result

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        """Return the next updates; any that cannot be parsed come back empty, and are counted."""
        try:
            return await super().get_updates(*args, **kwargs)
        except TelegramError:
            raise
        except Exception:
            raw = self._polled.raw
        finally:
            # Only a batch that failed to parse is read again. Kept longer, the last batch
            # (chat ids, typed answers) would stay in memory until the next long poll returns.
            self._polled.raw = []
        updates = []
        for data in raw:
            try:
                update = Update.de_json(data, self)
            except Exception as exc:
                self.skip_unparseable(exc)
                update = Update(update_id=int(data["update_id"]))
            self.insert_callback_data(update)
            updates.append(update)
        return tuple(updates)


BATCH_LIMIT = 100
"""The most updates Telegram returns for one getUpdates."""
SETTLE_AFTER_SECONDS = 30.0
"""An update in flight this long is confirmed anyway: no handler should take this long, and
one that hangs must not be sent again to every later process."""
FULL_WINDOW_SETTLE_SECONDS = 2.0
"""With the fetch window full and mostly handled, an update in flight this long is confirmed
so that newer ones can be fetched. Long enough for a chat's few queued updates to have their
replies paced out (one message a second per chat); a younger one is about to finish."""
BUSY_POLL_SECONDS = 0.25
"""While updates are in flight a long poll would return them again at once, so new ones are
asked for this often (or as soon as one finishes, but not more often than the gap below)."""
MIN_BUSY_GAP_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 30.0
FINISH_SECONDS = 10.0


async def handle_update(app: Application[Any, Any, Any, Any, Any, Any], update: object) -> None:
    """Handle one update through the handlers and error handlers; return once it is done."""
    await app.update_processor.process_update(update, app.process_update(update))


class Poller:
    """Long polling that confirms an update to Telegram only after it has been handled.

    An update is also confirmed once a handler reports it durably applied (`applied`): then
    the next long poll need not wait for its replies to be sent. One that stays in flight is
    settled late (see the module's docstring) and counted in `settled_late`.
    """

    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any], timeout: int) -> None:
        """Poll for `app` with long polls of `timeout` seconds; nothing is fetched yet."""
        self.app = app
        self.timeout = timeout
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._applied: set[int] = set()
        self._since: dict[int, float] = {}
        self._done: set[int] = set()
        self.settled_late = 0
        self._highest: int | None = None
        self._stopping = asyncio.Event()
        self._progress = asyncio.Event()

    def applied(self, update_id: int) -> None:
        """Note that an update in flight is durably applied: it may be confirmed now.

        A handler calls this once what the update changed is committed and anything left to
        do (showing the step) is recovered without the update, after a crash too: the step is
        stored as not yet shown, and the bot shows such steps by itself.
        """
        if update_id in self._inflight:
            self._applied.add(update_id)
            self._progress.set()

    def _unsettled(self) -> list[int]:
        return [u for u in self._inflight if u not in self._applied]

    def offset(self) -> int | None:
        """Return the offset for the next getUpdates: the first update not yet handled.

        Everything below it has been handled (or durably applied) and is confirmed by asking
        with it. None before the first batch: Telegram then sends every update it still holds.
        """
        unsettled = self._unsettled()
        if unsettled:
            return min(unsettled)
        return None if self._highest is None else self._highest + 1

    async def run(self) -> None:
        """Fetch and handle updates until `stop`; confirm the handled ones before returning."""
        bot = self.app.bot
        if isinstance(bot, TolerantBot):
            bot.skip_known(self._is_known)
        stopped = asyncio.ensure_future(self._stopping.wait())
        try:
            await self._poll(bot, stopped)
        finally:
            stopped.cancel()
        await self._finish()

    async def _poll(self, bot: Any, stopped: asyncio.Future[Any]) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            # With an update neither handled nor applied, a long poll would return it again
            # at once: then only a short poll, and the wait below.
            waiting = bool(self._unsettled())
            self._progress.clear()
            try:
                updates = await bot.get_updates(
                    offset=self.offset(), timeout=0 if waiting else self.timeout,
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
            except Exception as exc:  # never let one bad poll end polling for good
                log.warning("event=poll_failed error=%s", type(exc).__name__)
                await self._pause(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = 1.0
            fresh = [u for u in updates if self._is_new(u.update_id)]
            for update in fresh:
                self._start(update)
            self._settle_late()
            if self._unsettled():
                # Asking again at once would only return what is in flight: ask when one
                # has finished or is applied (the offset can move), or after a short while.
                polled = asyncio.get_running_loop().time()
                progress = asyncio.ensure_future(self._progress.wait())
                await asyncio.wait(
                    [progress, stopped],
                    timeout=BUSY_POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED,
                )
                progress.cancel()
                # Only short polls need the gap: once nothing is unsettled the next poll
                # is a long one, which waits at Telegram, so it goes out at once.
                rest = MIN_BUSY_GAP_SECONDS - (asyncio.get_running_loop().time() - polled)
                if rest > 0 and self._unsettled():
                    await self._pause(rest)

    def _settle_late(self) -> None:
        now = asyncio.get_running_loop().time()
        unsettled = sorted(self._unsettled())
        if not unsettled:
            return
        # Every fetched update from the offset on is still held by Telegram: when they fill a
        # batch, the next getUpdates can bring nothing new.
        offset = unsettled[0]
        window = sorted(u for u in (*self._inflight, *self._done) if u >= offset)
        full = len(window) >= BATCH_LIMIT
        # Handled or applied: those the offset would pass at once if it could move.
        progressed = len(window) - len(unsettled)
        blocked = full and progressed >= BATCH_LIMIT // 2
        # Room for half a batch: the offset must move past the first half of the window.
        cut = window[BATCH_LIMIT // 2] if blocked else offset
        late: list[int] = []
        for uid in unsettled:
            age = now - self._since[uid]
            if age >= SETTLE_AFTER_SECONDS or (
                uid < cut and age >= FULL_WINDOW_SETTLE_SECONDS
            ):
                late.append(uid)
            elif uid < cut:
                cut = uid  # younger: the offset stops here, settling beyond it frees nothing
        if not late:
            return
        self._applied.update(late)
        self.settled_late += len(late)
        log.warning(
            "event=update_settled_late count=%d total=%d window_full=%s",
            len(late), self.settled_late, full,
        )
        self._progress.set()

    def _is_known(self, update_id: int) -> bool:
        if update_id in self._inflight or update_id in self._done:
            return True
        offset = self.offset()
        return offset is not None and update_id < offset

    def _is_new(self, update_id: int) -> bool:
        return not self._is_known(update_id)

    def _start(self, update: Update) -> None:
        uid = update.update_id
        if self._highest is None or uid > self._highest:
            self._highest = uid
        task = asyncio.create_task(handle_update(self.app, update), name=f"update-{uid}")
        self._inflight[uid] = task
        self._since[uid] = asyncio.get_running_loop().time()
        task.add_done_callback(lambda _: self._finished(uid))

    def _finished(self, update_id: int) -> None:
        self._inflight.pop(update_id, None)
        self._since.pop(update_id, None)
        self._applied.discard(update_id)
        self._done.add(update_id)
        self._progress.set()
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


__all__ = ["Poller", "TolerantBot", "handle_update"]
