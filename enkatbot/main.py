"""The `enkatbot` command: run the bot, manage insatser, links and users, try a survey, report.

Each subcommand only parses its arguments and calls the library (storage, the bot, analysis);
each area's module adds its own subcommands to the parser built here.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from bot.config import ConfigError
from enkatbot import admin, chat, drift, historik, kontroll, rapport_args, run, texts
from enkatbot.common import CliError
from enkatbot.kontroll import CheckFailed
from questionnaires.model import QuestionnaireError
from storage import StorageError, WriteFailed

PRIVATE_UMASK = 0o077


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="enkatbot",
        description=texts.DESCRIPTION["enkatbot"],
    )
    parser.add_argument(
        "--db", help=texts.HELP["--db"], default=None
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="KOMMANDO")
    run.register(sub)
    admin.register(sub)
    chat.register(sub)
    rapport_args.register(sub)
    historik.register(sub)
    kontroll.register(sub)
    drift.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    # Everything this process writes (data folder, database, -wal, secret, QR codes, backups)
    # holds or leads to survey data: readable by the bot's own user only.
    os.umask(PRIVATE_UMASK)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CheckFailed as exc:
        print(texts.ERROR_PREFIX.format(message=exc), file=sys.stderr)
        return exc.status
    except WriteFailed:
        print(texts.ERROR_PREFIX.format(message=texts.WRITE_FAILED_HINT), file=sys.stderr)
        return 3
    except StorageError as exc:
        print(texts.ERROR_PREFIX.format(message=texts.storage_problem(exc)), file=sys.stderr)
        return 2
    except (CliError, QuestionnaireError, ConfigError) as exc:
        print(texts.ERROR_PREFIX.format(message=exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(texts.INTERRUPTED, file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
