"""`enkatbot chat`: answer a questionnaire in the terminal (the front end is `terminal`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from enkatbot import texts
from enkatbot.admin import check_enkat
from enkatbot.common import open_db
from enkatbot.terminal import run_chat
from questionnaires.model import QUESTIONNAIRE_IDS


def cmd_chat(args: argparse.Namespace) -> int:
    """Answer a questionnaire in the terminal."""
    check_enkat(args.enkat)
    store = open_db(args, create=True)
    if args.insats:
        store.require_insats(args.insats)
    return run_chat(store, args.enkat, args.insats, out=sys.stdout)


def register(sub: Any) -> None:
    """Add `chat` to an argparse subparsers object."""
    p = sub.add_parser(
        "chat",
        help=texts.HELP["chat"],
        description=texts.DESCRIPTION["chat"],
    )
    p.add_argument(
        "--enkat",
        required=True,
        help=texts.HELP["chat --enkat"].format(ids=', '.join(QUESTIONNAIRE_IDS)),
    )
    p.add_argument("--insats", help=texts.HELP["chat --insats"])
    p.set_defaults(func=cmd_chat)
