"""Start-up checks (`enkatbot run` runs them before it connects) and `enkatbot kontroll`.

Each problem is one Swedish sentence saying what to do (`enkatbot.texts`), never a traceback
and never the token. `run` stops at the first problem with a non-zero exit status: 2 for a
setting someone must fix, 3 for something that may pass by itself (Telegram unreachable, a
full disk), so systemd restarts the bot after the latter only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings
from enkatbot import texts as t
from enkatbot.common import CliError, settings
from storage import StorageError, Store, WriteFailed
from storage.backup import DatabaseInUse, hold_run_lock
from storage.schema import MIGRATIONS

TOKEN_PATTERN = re.compile(r"^[0-9]{3,20}:[A-Za-z0-9_-]{20,}$")
EXIT_SETTING = 2
EXIT_TRANSIENT = 3


class CheckFailed(CliError):
    """A start-up check failed: one sentence, and the exit status to leave with."""

    def __init__(self, message: str, status: int = EXIT_SETTING) -> None:
        """Keep the sentence and the exit status."""
        super().__init__(message)
        self.status = status


def mask_token(token: str | None) -> str:
    """Return the token with its secret part hidden: the bot's id stays, the rest is dots."""
    if not token:
        return t.TOKEN_NOT_SET
    bot_id, _, secret = token.partition(":")
    if not secret:
        return "•" * 8
    return t.TOKEN_MASKED.format(bot_id=bot_id, dots="•" * 8, hidden=len(secret))


def check_token_format(current: Settings) -> str:
    """Return the token, or raise CheckFailed when it is missing or cannot be a token."""
    try:
        token = current.require_token()
    except ConfigError as exc:
        raise CheckFailed(str(exc)) from exc
    if not TOKEN_PATTERN.match(token):
        raise CheckFailed(t.TOKEN_MALFORMED)
    return token


def check_folder(db_path: Path) -> None:
    """Raise CheckFailed unless the database's folder exists (or can be made) and is writable."""
    folder = db_path.parent
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".enkatbot-skrivprov-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise CheckFailed(t.FOLDER_NOT_WRITABLE.format(folder=folder)) from exc


def open_checked(db_path: Path) -> Store:
    """Open (create, migrate) the database and prove it writable; raise CheckFailed if not."""
    try:
        store = Store(db_path)
    except StorageError as exc:  # a newer schema: the message says to upgrade
        raise CheckFailed(t.storage_problem(exc)) from exc
    except sqlite3.OperationalError as exc:
        if "readonly" in str(exc) or "disk" in str(exc):
            raise CheckFailed(t.DB_NOT_WRITABLE.format(path=db_path), EXIT_TRANSIENT) from exc
        raise CheckFailed(t.DB_CANNOT_OPEN.format(path=db_path)) from exc
    except (sqlite3.Error, OSError, ValueError) as exc:
        raise CheckFailed(t.DB_CANNOT_OPEN.format(path=db_path)) from exc
    try:
        store.probe_write()
    except WriteFailed as exc:
        store.db.close()
        raise CheckFailed(t.DB_NOT_WRITABLE.format(path=db_path), EXIT_TRANSIENT) from exc
    return store


def check_telegram(current: Settings, token: str) -> str:
    """Ask the Bot API who the bot is (getMe); return its username, or raise CheckFailed."""
    # Lazy: python-telegram-bot is only needed when Telegram is asked.
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError, TelegramError
    from telegram.request import HTTPXRequest

    async def ask() -> str:
        request = HTTPXRequest(connect_timeout=10, read_timeout=15)
        async with Bot(token, request=request, **current.bot_api_urls()) as bot:
            return bot.username

    url = current.api_url or "https://api.telegram.org"
    try:
        return asyncio.run(ask())
    except InvalidToken as exc:
        raise CheckFailed(t.TOKEN_REJECTED) from exc
    except NetworkError as exc:  # includes TimedOut
        raise CheckFailed(t.TELEGRAM_UNREACHABLE.format(url=url), EXIT_TRANSIENT) from exc
    except TelegramError as exc:
        raise CheckFailed(t.TELEGRAM_FAILED, EXIT_TRANSIENT) from exc


def has_admin(current: Settings, store: Store) -> bool:
    """Return True when someone can administer the bot (ENKATBOT_ADMINS or a stored admin)."""
    return bool(current.admins) or bool(store.users("admin"))


def startup_checks(current: Settings) -> Store:
    """Run every check `enkatbot run` needs; return the open store. Warnings go to stderr.

    Takes the database's run lock for the rest of the process (a second bot, or a restore,
    on the same file is refused) before the file is opened or migrated.
    """
    token = check_token_format(current)
    check_folder(current.db_path)
    try:
        hold_run_lock(current.db_path)
    except DatabaseInUse as exc:
        raise CheckFailed(t.storage_problem(exc)) from exc
    store = open_checked(current.db_path)
    try:
        check_telegram(current, token)
    except CheckFailed:
        store.close()
        raise
    if not has_admin(current, store):
        print(t.NO_ADMIN, file=sys.stderr)
    return store


# -- enkatbot kontroll ------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """What the database holds, in numbers only."""

    insatser: int
    open_links: int
    unfinished: int
    responses: int


def counts(store: Store, now: datetime | None = None) -> Counts:
    """Return the numbers `kontroll` shows."""
    now_iso = (now or datetime.now(UTC)).isoformat(timespec="seconds")

    def one(sql: str, args: list[object] | None = None) -> int:
        return int(store.db.execute(sql, args or []).fetchone()[0])

    return Counts(
        insatser=one("SELECT count(*) FROM insats WHERE active = 1"),
        open_links=one(
            "SELECT count(*) FROM link WHERE withdrawn = 0 AND uses_left > 0 AND expires > ?",
            [now_iso],
        ),
        unfinished=one("SELECT count(*) FROM session"),
        responses=one("SELECT count(*) FROM response WHERE status IN ('complete', 'partial')"),
    )


def settings_lines(current: Settings) -> list[str]:
    """Return the settings in force, one "NAME = value" line each, secrets masked."""
    shown: list[tuple[str, object]] = [
        ("TELEGRAM_BOT_TOKEN", mask_token(current.token)),
        ("TELEGRAM_API_URL", current.api_url or t.UNSET["api_url"]),
        ("TELEGRAM_BOT_USERNAME", current.bot_username or t.UNSET["bot_username"]),
        ("ENKATBOT_DB", current.db_path),
        ("ENKATBOT_ADMINS", ", ".join(str(a) for a in sorted(current.admins)) or t.UNSET["admins"]),
        ("ENKATBOT_FORBUND", current.forbund or t.UNSET["forbund"]),
        ("ENKATBOT_KONTAKT", current.kontakt or t.UNSET["kontakt"]),
        ("ENKATBOT_WEBHOOK_URL", current.webhook_url or t.UNSET["webhook_url"]),
        ("ENKATBOT_WEBHOOK_SECRET",
         t.SECRET_SET if current.webhook_secret else t.UNSET["webhook_secret"]),
        ("ENKATBOT_WEBB_URL", current.webb_url or t.UNSET["webb_url"]),
        ("ENKATBOT_PAMINNELSE_DAGAR", current.reminder_days),
        ("ENKATBOT_UTGANG_DAGAR", current.expiry_days),
        ("ENKATBOT_SMA_GRUPPER", current.threshold),
        ("ENKATBOT_GALLRING_AR", current.gallring_years or t.UNSET["gallring_years"]),
        ("ENKATBOT_RAPPORT_DAG/_TIMME/_MINUT",
         f"{current.report_day} / {current.report_hour} / {current.report_minute}"),
        ("ENKATBOT_TIDSZON", current.timezone),
        ("ENKATBOT_LANK_GILTIG_DAGAR", current.link_valid_days),
    ]
    return [f"  {name} = {value}" for name, value in shown]


def next_summary(current: Settings, now: datetime | None = None) -> datetime:
    """Return when the monthly summary is next sent, in the bot's time zone."""
    # Lazy: bot.reports pulls in python-telegram-bot and pandas, which --halsa does not need.
    from bot.reports import next_run

    return next_run(now or datetime.now(UTC), current)


@contextmanager
def _reporting(out: list[str]) -> Iterator[None]:
    try:
        yield
    except CheckFailed as exc:
        out.append(t.KONTROLL_FAULT.format(fault=exc))


def cmd_kontroll(args: argparse.Namespace) -> int:
    """Run the start-up checks and print what was found; exit 0 only when all pass."""
    current = settings(args)
    if args.halsa:
        return health(current)
    problems: list[str] = []
    print(t.KONTROLL_SETTINGS)
    print("\n".join(settings_lines(current)))
    token: str | None = None
    with _reporting(problems):
        token = check_token_format(current)
    store: Store | None = None
    print(t.KONTROLL_DATABASE.format(path=current.db_path))
    with _reporting(problems):
        check_folder(current.db_path)
        if current.db_path.exists():
            store = open_checked(current.db_path)
        else:
            print(t.DB_NOT_YET)
    if store is not None:
        with closing(store):
            c = counts(store)
            print(t.KONTROLL_COUNTS.format(version=store.schema_version, known=len(MIGRATIONS),
                                           insatser=c.insatser, open_links=c.open_links,
                                           unfinished=c.unfinished, responses=c.responses))
            if not has_admin(current, store):
                print(t.NO_ADMIN)
    when = next_summary(current)
    print(t.KONTROLL_NEXT_SUMMARY.format(when=when, timezone=current.timezone))
    if token is not None:
        with _reporting(problems):
            username = check_telegram(current, token)
            print(t.KONTROLL_TELEGRAM_OK.format(username=username))
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(t.KONTROLL_PROBLEMS.format(n=len(problems)), file=sys.stderr)
        return EXIT_SETTING
    print(t.KONTROLL_OK)
    return 0


def health(current: Settings) -> int:
    """Check only that the database opens and takes a write (a container's health check).

    Returns the exit status: 0, or 3 when the bot could not save answers now.
    """
    if not current.db_path.exists():
        print(t.DB_MISSING.format(path=current.db_path), file=sys.stderr)
        return EXIT_TRANSIENT
    try:
        store = open_checked(current.db_path)
    except CheckFailed as exc:
        print(exc, file=sys.stderr)
        return EXIT_TRANSIENT
    with closing(store):
        print(t.HALSA_OK.format(path=current.db_path, version=store.schema_version))
    return 0


def register(sub: Any) -> None:
    """Add `kontroll` to an argparse subparsers object."""
    p = sub.add_parser(
        "kontroll",
        help=t.HELP["kontroll"],
        description=t.DESCRIPTION["kontroll"],
    )
    p.add_argument(
        "--halsa", action="store_true",
        help=t.HELP["kontroll --halsa"],
    )
    p.set_defaults(func=cmd_kontroll)
