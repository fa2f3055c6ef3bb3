"""Plumbing every handler shares: the types of the running bot, its bot_data, log tags, taps.

python-telegram-bot makes `context.bot_data` from the class given in `ContextTypes` (as its
`contexttypesbot.py` example does), so handlers read typed dependencies instead of a dict.
One place, so that handlers, jobs and the composition root agree on the types; participant,
staff and report handlers all import from here, never from each other.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot, JobQueue

from bot.config import Settings
from bot.survey import SurveyService

log = logging.getLogger("enkatbot")

KEY_THREADS = min(2, os.cpu_count() or 1)
"""Threads chat keys are derived in: scrypt is CPU, so more than the cores would only queue."""


@dataclass(frozen=True)
class Deps:
    """What handlers need: the survey service (and through it the store) and the settings."""

    service: SurveyService
    settings: Settings


def _nothing(update_id: int) -> None:
    """Do nothing (no poller listens: a webhook, or a test)."""


class BotData:
    """`context.bot_data`: made empty by python-telegram-bot, filled once by `build_application`."""

    def __init__(self) -> None:
        """Start empty; `setup` fills it before any handler runs."""
        self._deps: Deps | None = None
        self.report_pool: ProcessPoolExecutor | None = None
        """The process reports are built in (bot.reports), once one was asked for."""
        self.owed_steps: set[int] = set()
        """Chats whose current step may not have reached the screen (a send failed): shown
        again by the bot as soon as sending works, or on the chat's next update. A chat
        leaves the set once shown, so it holds no one for longer than a failure lasts."""
        self.on_applied: Callable[[int], None] = _nothing
        """Told the id of an update whose step is committed and recoverable without it (the
        poller may confirm it to Telegram before its replies are sent)."""
        self.owed_thanks: dict[int, int | None] = {}
        """Chats whose survey was submitted but whose thanks could not be sent yet, each with
        the update that submitted it (its note in the store goes once the thanks is sent)."""
        self.split_until: dict[int, float] = {}
        """Chats that just sent a paste Telegram split in parts: until when the rest may come.
        An entry lives a few seconds; expired ones are swept whenever one is added."""
        self.key_thread: ThreadPoolExecutor | None = None
        """The threads chat keys are derived in (`prepare_chat_key`), once one was needed."""

    def setup(self, deps: Deps) -> None:
        """Store the handlers' dependencies."""
        self._deps = deps

    @property
    def deps(self) -> Deps:
        """Return the handlers' dependencies (set at start-up)."""
        if self._deps is None:
            raise RuntimeError("bot_data is used before build_application set it up")
        return self._deps


Context = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]
"""The context every handler, job and error handler receives."""
BotContext = Context

CONTEXT_TYPES: ContextTypes[Context, dict[Any, Any], dict[Any, Any], BotData] = ContextTypes(
    context=CallbackContext, bot_data=BotData
)
"""Given to the ApplicationBuilder, so `context.bot_data` is a `BotData`."""

BotApplication = Application[
    ExtBot[None],
    Context,
    dict[Any, Any],
    dict[Any, Any],
    BotData,
    JobQueue[Context],
]
"""The Application `bot.app.build_application` returns."""


def deps(context: Context) -> Deps:
    """Return the handlers' dependencies stored at start-up."""
    return context.bot_data.deps


async def prepare_chat_key(context: Context, chat_id: int) -> None:
    """Have the chat's storage key cached, derived in a thread of its own if it is not.

    The key is scrypt (about 36 ms of CPU, once per survey: it is forgotten when the survey
    ends). Derived in the event loop it would hold up every other chat for that long; in a
    thread the loop goes on (scrypt lets go of the GIL) and a second core can do the work.
    Two threads at most: after a restart every chat of the backlog needs its key at once,
    and one thread would keep the last of fifty chats waiting nearly two seconds; two
    derivations hold 32 MiB for their ~36 ms. Returns once the key is cached.
    """
    store = deps(context).service.store
    if store.has_chat_key(chat_id):
        return
    bot_data = context.bot_data
    if bot_data.key_thread is None:
        bot_data.key_thread = ThreadPoolExecutor(
            max_workers=KEY_THREADS, thread_name_prefix="chat-key"
        )
    key = await asyncio.get_running_loop().run_in_executor(
        bot_data.key_thread, store.derive_chat_key, chat_id
    )
    store.remember_chat_key(chat_id, key)


def close_key_thread(bot_data: BotData) -> None:
    """Stop the chat-key thread, if one was started."""
    if bot_data.key_thread is not None:
        bot_data.key_thread.shutdown(wait=True, cancel_futures=True)
        bot_data.key_thread = None


_TAG_KEY = secrets.token_bytes(32)
"""Key of the chat tags in log lines: random per process and never stored, so a log cannot be
reversed to chat ids even by someone holding the database secret (a restart makes new tags)."""


def tag(chat_id: int) -> str:
    """Return a short tag for a chat, for log lines: the same within one run, never reversible."""
    return hmac.new(_TAG_KEY, str(chat_id).encode(), hashlib.sha256).hexdigest()[:10]


async def answer_query(query: CallbackQuery, text: str | None = None,
                       show_alert: bool = False) -> None:
    """Answer a button tap so the phone stops its spinner; a too-old query is no error.

    Telegram refuses to answer a query after a short time, and every tap made while the bot
    was down is that old when it comes back: the tap itself must still count.
    """
    try:
        await query.answer(text, show_alert=show_alert)
    except BadRequest:
        log.info("event=callback_too_old")
