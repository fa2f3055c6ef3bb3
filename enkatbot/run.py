"""`enkatbot run`: start the bot."""

from __future__ import annotations

import argparse
from typing import Any

from enkatbot.common import settings


def cmd_run(args: argparse.Namespace) -> int:
    """Start the bot."""
    # Lazy: the bot pulls in python-telegram-bot, pandas and matplotlib, which the other
    # subcommands do not need.
    from bot.app import run

    current = settings(args)
    current.require_token()
    run(current)
    return 0


def register(sub: Any) -> None:
    """Add `run` to an argparse subparsers object."""
    p = sub.add_parser("run", help="starta boten", description="Starta boten (long polling, "
                       "eller webhook om ENKATBOT_WEBHOOK_URL är satt).")
    p.set_defaults(func=cmd_run)
