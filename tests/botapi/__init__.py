"""Fake Telegram Bot API server and simulated users for end-to-end tests of the bot.

Start :class:`FakeBotAPI` on loopback, run the real bot with ``TELEGRAM_API_URL=api.base_url``
and drive it through :class:`Phone` / :class:`Group` handles.
"""

from __future__ import annotations

from tests.botapi.markup import EntityParseError, parse_text
from tests.botapi.phone import BotMessage, ChatEvent, ChatView, Group, Phone
from tests.botapi.server import ApiError, Call, CallbackAnswer, FakeBotAPI, UploadedFile

__all__ = [
    "ApiError",
    "BotMessage",
    "Call",
    "CallbackAnswer",
    "ChatEvent",
    "ChatView",
    "EntityParseError",
    "FakeBotAPI",
    "Group",
    "Phone",
    "UploadedFile",
    "parse_text",
]
