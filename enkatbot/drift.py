"""`enkatbot backup`, `restore`, `gallra` and `logg`: running the bot for years."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.texts import logg
from enkatbot import texts as t
from enkatbot.common import CliError, open_db, settings
from storage import Store
from storage.audit import COMMAND_LINE, Actor
from storage.backup import backup_database, restore_database
from storage.retention import (
    RULE_OPTION,
    RULE_SETTING,
    GallringResult,
    check_month,
    cutoff_month,
)


def cmd_backup(args: argparse.Namespace) -> int:
    """Write a consistent backup of the database into the folder PATH."""
    current = settings(args)
    if not current.db_path.is_file():
        raise CliError(t.DB_MISSING.format(path=current.db_path))
    path = backup_database(current.db_path, Path(args.path))
    print(t.BACKUP_DONE.format(path=path))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Replace the database with a backup, after checking the backup and that no bot runs."""
    current = settings(args)
    source = Path(args.path)
    aside = restore_database(source, current.db_path)
    store = Store(current.db_path)
    try:
        store.log_action(COMMAND_LINE, "aterstallning", logg.RESTORED.format(source=source.name))
    finally:
        store.close()
    print(t.RESTORE_DONE.format(target=current.db_path, source=source))
    if aside is not None:
        print(t.RESTORE_ASIDE.format(aside=aside))
    print(t.RESTORE_NOTE)
    return 0


def run_gallring(
    store: Store,
    current: Settings,
    *,
    actor: Actor,
    before: str | None = None,
    dry_run: bool = False,
    include_history: bool = False,
    today: date | None = None,
) -> GallringResult | None:
    """Apply `before` ("YYYY-MM") or ENKATBOT_GALLRING_AR; return None when neither is set."""
    if before is not None:
        month = check_month(before)
        rule = RULE_OPTION.format(month=month)
    elif current.gallring_years:
        month = cutoff_month(current.gallring_years, today)
        rule = RULE_SETTING.format(years=current.gallring_years)
    else:
        return None
    return store.gallra(
        month, rule=rule, actor=actor, protocol=logg.gallring_protocol, dry_run=dry_run,
        include_history=include_history,
    )


def cmd_gallra(args: argparse.Namespace) -> int:
    """Delete responses older than --fore or ENKATBOT_GALLRING_AR, and say how many."""
    current = settings(args)
    store = open_db(args)
    try:
        result = run_gallring(
            store, current, actor=COMMAND_LINE, before=args.fore,
            dry_run=args.torrkorning, include_history=args.historik,
        )
    finally:
        store.close()
    if result is None:
        raise CliError(t.GALLRA_NO_RULE)
    template = t.GALLRA_DRY if result.dry_run else t.GALLRA_DONE
    print(template.format(line=logg.gallring_protocol(result)))
    return 0


def cmd_logg(args: argparse.Namespace) -> int:
    """Print the audit log of staff actions, from --fran when given."""
    since = None
    if args.fran:
        try:
            since = date.fromisoformat(args.fran)
        except ValueError as exc:
            raise CliError(t.LOGG_BAD_DATE.format(raw=args.fran)) from exc
    entries = open_db(args).audit_entries(since)
    if not entries:
        print(t.LOGG_EMPTY)
    for e in entries:
        detail = f"\t{e.detail}" if e.detail else ""
        print(f"{e.at:%Y-%m-%d %H:%M:%S}Z\t{e.actor}\t{e.action}{detail}")
    return 0


def register(sub: Any) -> None:
    """Add `backup`, `restore`, `gallra` and `logg` to an argparse subparsers object."""
    p = sub.add_parser(
        "backup", help=t.HELP["backup"],
        description=t.DESCRIPTION["backup"],
    )
    p.add_argument("path", metavar="SÖKVÄG", help=t.HELP["backup path"])
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser(
        "restore", help=t.HELP["restore"],
        description=t.DESCRIPTION["restore"],
    )
    p.add_argument("path", metavar="SÖKVÄG", help=t.HELP["restore path"])
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser(
        "gallra", help=t.HELP["gallra"],
        description=t.DESCRIPTION["gallra"],
    )
    p.add_argument("--fore", metavar="ÅÅÅÅ-MM", help=t.HELP["gallra --fore"])
    p.add_argument("--torrkorning", action="store_true",
                   help=t.HELP["gallra --torrkorning"])
    p.add_argument("--historik", action="store_true",
                   help=t.HELP["gallra --historik"])
    p.set_defaults(func=cmd_gallra)

    p = sub.add_parser(
        "logg", help=t.HELP["logg"],
        description=t.DESCRIPTION["logg"],
    )
    p.add_argument("--fran", metavar="ÅÅÅÅ-MM-DD", help=t.HELP["logg --fran"])
    p.set_defaults(func=cmd_logg)
