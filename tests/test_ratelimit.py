"""The bot's rate limiter, through PTB's own HTTP stack against the fake Bot API.

It must count what Telegram counts (sends), let edits and button answers through, and retry
every 429 no sooner than Telegram's retry_after.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from telegram.ext import ExtBot

from bot.ratelimit import TelegramRateLimiter
from tests.botapi import FakeBotAPI

TOKEN = "123456:RATE"
CHAT = 5151


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI(token=TOKEN) as server:
        server.phone(CHAT, "Rate", started=True)
        yield server


def run(api: FakeBotAPI, limiter: TelegramRateLimiter,
        body: Callable[[ExtBot[Any]], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        bot: ExtBot[Any] = ExtBot(
            TOKEN, base_url=api.bot_url, base_file_url=api.file_url, rate_limiter=limiter
        )
        async with bot:
            return await body(bot)

    return asyncio.run(main())


def test_sends_stay_within_the_limit_in_every_second(api: FakeBotAPI) -> None:
    async def body(bot: ExtBot[Any]) -> None:
        await asyncio.gather(*(bot.send_message(CHAT, f"m{i}") for i in range(7)))

    run(api, TelegramRateLimiter(overall_per_second=3, chat_per_5_seconds=None), body)
    sends = [c.time for c in api.calls_of("sendMessage")]
    assert len(sends) == 7
    for i, start in enumerate(sends):
        assert sum(1 for t in sends[i:] if t - start < 1.0) <= 3


def test_an_edit_is_not_queued_behind_waiting_sends(api: FakeBotAPI) -> None:
    async def body(bot: ExtBot[Any]) -> None:
        first = await bot.send_message(CHAT, "fråga")
        waiting = [asyncio.create_task(bot.send_message(CHAT, f"m{i}")) for i in range(3)]
        await bot.edit_message_text("fråga, ändrad", chat_id=CHAT, message_id=first.message_id)
        await asyncio.gather(*waiting)

    run(api, TelegramRateLimiter(overall_per_second=2, chat_per_5_seconds=None), body)
    order = [c.method for c in api.calls if c.method in ("sendMessage", "editMessageText")]
    # Two sends fit in the first second; the edit goes before the ones that had to wait.
    assert order.index("editMessageText") < 3
    assert order.count("sendMessage") == 4


def test_a_private_chat_gets_at_most_its_share_of_sends(api: FakeBotAPI) -> None:
    async def body(bot: ExtBot[Any]) -> None:
        await asyncio.gather(*(bot.send_message(CHAT, f"m{i}") for i in range(3)))

    run(api, TelegramRateLimiter(chat_per_5_seconds=2), body)
    sends = [c.time for c in api.calls_of("sendMessage")]
    assert len(sends) == 3
    assert sends[2] - sends[0] >= 5.0


@pytest.mark.parametrize("method", ["sendMessage", "editMessageText", "answerCallbackQuery"])
def test_every_429_is_retried_after_retry_after(api: FakeBotAPI, method: str) -> None:
    api.inject_flood(method, times=1, retry_after=1)

    async def body(bot: ExtBot[Any]) -> None:
        msg = await bot.send_message(CHAT, "fråga")
        if method == "editMessageText":
            await bot.edit_message_text("ändrad", chat_id=CHAT, message_id=msg.message_id)
        if method == "answerCallbackQuery":
            phone = api.phone(CHAT)
            query = phone.tap_data(msg.message_id, "x")
            await bot.answer_callback_query(query)

    run(api, TelegramRateLimiter(), body)
    calls = api.calls_of(method)
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].time - calls[0].time >= 1.0
