"""`enkatbot run`: check the settings, the database and Telegram, then start the bot."""

from __future__ import annotations

import argparse
from typing import Any

from enkatbot import texts
from enkatbot.common import settings
from enkatbot.kontroll import startup_checks


def cmd_run(args: argparse.Namespace) -> int:
    """Start the bot once every start-up check passes (kontroll); return its exit status."""
    # Lazy: the bot pulls in python-telegram-bot, pandas and matplotlib, which the other
    # subcommands do not need.
    from bot.app import run

    current = settings(args)
    run(current, startup_checks(current))
    return 0


def register(sub: Any) -> None:
    """Add `run` to an argparse subparsers object."""
    p = sub.add_parser("run", help=texts.HELP["run"], description=texts.DESCRIPTION["run"])
    p.set_defaults(func=cmd_run)
