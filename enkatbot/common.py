"""What every subcommand shares: the one `Settings`, the database it names, `CliError`."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from bot.config import Settings
from enkatbot import texts as t
from storage import Store, open_store


class CliError(Exception):
    """A user error: printed as one clear line, exit code 2."""


def settings(args: argparse.Namespace) -> Settings:
    """Return the settings from the environment, with the database from --db when given.

    Every subcommand reads its settings here, so ENKATBOT_DB and the other variables are read in
    one place (`Settings.from_env`). Raises ConfigError on a malformed variable.
    """
    current = Settings.from_env()
    db = getattr(args, "db", None)
    if db:
        current = replace(current, db_path=Path(db))
    return current


def open_db(args: argparse.Namespace, *, create: bool = False) -> Store:
    """Open the database the settings name; return the store.

    Only subcommands that set something up (`create`) may make a new file; the others say
    that the database is missing, so a command run in the wrong folder never leaves an empty
    database behind.
    """
    path = settings(args).db_path
    if not create and not path.exists():
        raise CliError(t.DB_MISSING.format(path=path))
    return open_store(path)
