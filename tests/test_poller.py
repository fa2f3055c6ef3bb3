"""The at-least-once poller against a Telegram that returns at most 100 updates from the offset.

`bot.delivery.Poller` confirms an update only once it is handled, so one update that stays in
flight would keep the bot from fetching anything beyond the 100 after it. Here such an update
is settled late: confirmed while still in flight once the window is full or it has been in
flight too long, counted, and still handled once. A window with room keeps every update in
flight unconfirmed, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

import pytest
from telegram import Update

from bot import delivery
from bot.delivery import Poller

pytestmark = pytest.mark.pure

WAIT = 20.0
"""Seconds any one wait may take: a deadline, never a pause."""


class FakeTelegram:
    """Updates held until an offset confirms them; at most 100 returned from the offset."""

    def __init__(self) -> None:
        """Hold nothing yet."""
        self.held: list[int] = []
        self.polls = 0
        self._next = 1
        self._changed = asyncio.Event()

    def queue(self, count: int) -> list[int]:
        """Queue `count` new updates; return their ids."""
        ids = list(range(self._next, self._next + count))
        self._next += count
        self.held.extend(ids)
        self._changed.set()
        return ids

    async def get_updates(self, offset: int | None = None, timeout: float = 0,
                          allowed_updates: object = None, limit: int = 100) -> tuple[Update, ...]:
        """Confirm everything below `offset`; return up to `limit` (≤ 100) held updates."""
        self.polls += 1
        if offset is not None:
            self.held = [u for u in self.held if u >= offset]
        if not self.held and timeout:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(timeout, 0.2))
            except TimeoutError:
                pass
        return tuple(Update(update_id=u) for u in self.held[:min(limit, 100)])


class _Processor:
    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine


class FakeApp:
    """What the poller uses of an Application: its bot and its update processor."""

    def __init__(self, bot: FakeTelegram,
                 handler: Callable[[int], Coroutine[Any, Any, None]]) -> None:
        """Handle every update by awaiting `handler(update_id)`."""
        self.bot = bot
        self.update_processor = _Processor()
        self._handler = handler

    def process_update(self, update: Update) -> Coroutine[Any, Any, None]:
        """Return the handling of `update`."""
        return self._handler(update.update_id)


async def until(check: Callable[[], bool], what: str) -> None:
    """Yield to the loop until `check()` holds; fail after WAIT seconds."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class Handlers:
    """Handlers that finish at once, except for the ids told to hang until released."""

    def __init__(self, hanging: Iterable[int] = ()) -> None:
        """Let the `hanging` ids wait for `release`."""
        self.hanging = set(hanging)
        self.handled: list[int] = []
        self.released = asyncio.Event()

    async def __call__(self, update_id: int) -> None:
        """Handle one update."""
        if update_id in self.hanging:
            await self.released.wait()
        self.handled.append(update_id)


async def started(telegram: FakeTelegram, handlers: Handlers) -> tuple[Poller, asyncio.Task[None]]:
    """Start a poller handling `telegram`'s updates with `handlers`; return it and its task."""
    poller = Poller(FakeApp(telegram, handlers), timeout=1)  # type: ignore[arg-type]
    return poller, asyncio.create_task(poller.run())


async def stopped(poller: Poller, task: asyncio.Task[None]) -> None:
    """Stop the poller; return once it has confirmed what was handled."""
    await poller.stop()
    await asyncio.wait_for(task, WAIT)


def test_an_update_that_hangs_does_not_keep_the_next_hundreds_from_being_handled(caplog):
    async def scenario() -> None:
        telegram = FakeTelegram()
        first, *later = telegram.queue(251)
        handlers = Handlers({first})
        poller, task = await started(telegram, handlers)
        # Without settling, only the 100 after the hanging one could ever be fetched.
        await until(lambda: len(handlers.handled) == 250, "the 250 later updates handled")
        assert sorted(handlers.handled) == later
        assert poller.settled_late == 1
        assert first not in telegram.held  # confirmed while still in flight
        handlers.released.set()
        await until(lambda: first in handlers.handled, "the hanging update handled")
        await stopped(poller, task)
        assert handlers.handled.count(first) == 1
        assert telegram.held == []

    with caplog.at_level(logging.INFO, logger="enkatbot"):
        asyncio.run(scenario())
    settled = [r.getMessage() for r in caplog.records if "update_settled_late" in r.getMessage()]
    assert settled == ["event=update_settled_late count=1 total=1 window_full=True"]


def test_an_update_in_flight_stays_unconfirmed_while_the_window_has_room():
    async def scenario() -> None:
        telegram = FakeTelegram()
        first = telegram.queue(60)[0]
        handlers = Handlers({first})
        poller, task = await started(telegram, handlers)
        await until(lambda: len(handlers.handled) == 59, "the later updates handled")
        polls = telegram.polls
        await until(lambda: telegram.polls >= polls + 3, "three more polls")
        # Telegram still holds it, so a process killed now gets it again.
        assert telegram.held[:1] == [first]
        assert poller.settled_late == 0
        handlers.released.set()
        await until(lambda: first in handlers.handled, "the hanging update handled")
        await stopped(poller, task)
        assert telegram.held == []

    asyncio.run(scenario())


def test_an_update_in_flight_too_long_is_confirmed_anyway(monkeypatch):
    monkeypatch.setattr(delivery, "SETTLE_AFTER_SECONDS", 0.3)

    async def scenario() -> None:
        telegram = FakeTelegram()
        (only,) = telegram.queue(1)
        handlers = Handlers({only})
        poller, task = await started(telegram, handlers)
        await until(lambda: telegram.polls >= 1 and not telegram.held, "the update confirmed")
        assert poller.settled_late == 1 and handlers.handled == []
        handlers.released.set()
        await stopped(poller, task)
        assert handlers.handled == [only]

    asyncio.run(scenario())


def test_a_burst_of_updates_handled_within_a_moment_is_not_settled_late():
    async def scenario() -> None:
        telegram = FakeTelegram()
        ids = telegram.queue(300)
        handled: list[int] = []

        async def handler(update_id: int) -> None:
            await asyncio.sleep(0.05)  # a handler's own work, not a wait of the test
            handled.append(update_id)

        poller = Poller(FakeApp(telegram, handler), timeout=1)  # type: ignore[arg-type]
        task = asyncio.create_task(poller.run())
        await until(lambda: len(handled) == 300, "the burst handled")
        await stopped(poller, task)
        assert sorted(handled) == ids
        assert poller.settled_late == 0

    asyncio.run(scenario())


def test_a_backlog_still_being_worked_through_is_not_settled_late(monkeypatch):
    # After a restart Telegram holds more than a window of updates, and the bot works
    # through them a few at a time: each stays in flight longer than the settle threshold,
    # but none is stuck. Settling them would lose each one at the next crash.
    monkeypatch.setattr(delivery, "FULL_WINDOW_SETTLE_SECONDS", 0.2)

    async def scenario() -> None:
        telegram = FakeTelegram()
        ids = telegram.queue(150)
        handled: list[int] = []
        workers = asyncio.Semaphore(4)

        async def handler(update_id: int) -> None:
            async with workers:
                await asyncio.sleep(0.02)  # the handler's own work, four at a time
            handled.append(update_id)

        poller = Poller(FakeApp(telegram, handler), timeout=1)  # type: ignore[arg-type]
        task = asyncio.create_task(poller.run())
        await until(lambda: len(handled) == 150, "the backlog handled")
        await stopped(poller, task)
        assert sorted(handled) == ids
        assert poller.settled_late == 0
        assert telegram.held == []

    asyncio.run(scenario())
