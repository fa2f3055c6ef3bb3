"""The types of the running bot: its Application and the context its handlers receive.

One place, so that handlers, jobs and the composition root agree on them.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, ContextTypes, ExtBot, JobQueue

BotContext = ContextTypes.DEFAULT_TYPE
"""What every handler and job receives."""

BotApplication = Application[
    ExtBot[None],
    BotContext,
    dict[Any, Any],
    dict[Any, Any],
    dict[Any, Any],
    JobQueue[BotContext],
]
"""The Application `bot.app.build_application` returns."""
