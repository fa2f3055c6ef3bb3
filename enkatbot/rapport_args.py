"""`enkatbot rapport`'s arguments; the report itself is built by `enkatbot.rapport`.

Kept apart so that building the `enkatbot` parser (for every command, `enkatbot run` too)
does not import the analysis modules: they are imported when a report is asked for.
"""

from __future__ import annotations

import argparse
from typing import Any

from enkatbot import texts

FORMATS: tuple[str, ...] = ("md", "csv", "xlsx", "png", "html", "pdf")


def cmd_rapport(args: argparse.Namespace) -> int:
    """Build and write the report the arguments ask for; return the exit code."""
    # Lazy: the analysis modules (counting, figures, the ledger) are for reports only.
    from enkatbot.rapport import run_rapport

    return run_rapport(args)


def register(subparsers: Any) -> None:
    """Add the `rapport` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser(
        "rapport",
        help=texts.HELP["rapport"],
        description=(
            texts.DESCRIPTION["rapport"]
        ),
    )
    p.add_argument("--ar", type=int, metavar="ÅR", help=texts.HELP["rapport --ar"])
    p.add_argument("--manad", metavar="ÅÅÅÅ-MM", help=texts.HELP["rapport --manad"])
    p.add_argument("--fran", metavar="ÅÅÅÅ-MM", help=texts.HELP["rapport --fran"])
    p.add_argument("--till", metavar="ÅÅÅÅ-MM", help=texts.HELP["rapport --till"])
    p.add_argument("--insats", metavar="NAMN", help=texts.HELP["rapport --insats"])
    p.add_argument(
        "--format",
        choices=FORMATS,
        help=texts.HELP["rapport --format"],
    )
    p.add_argument(
        "--sammanfattning",
        metavar="FIL",
        help=texts.HELP["rapport --sammanfattning"],
    )
    p.add_argument("--out", required=True, metavar="SÖKVÄG", help=texts.HELP["rapport --out"])
    # SUPPRESS keeps `enkatbot --db X rapport …` working: a default here would overwrite it.
    p.add_argument(
        "--db",
        default=argparse.SUPPRESS,
        metavar="FIL",
        help=texts.HELP["rapport --db"],
    )
    p.add_argument(
        "--troskel",
        type=int,
        metavar="N",
        help=texts.HELP["rapport --troskel"],
    )
    p.set_defaults(func=cmd_rapport)
