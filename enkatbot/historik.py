"""`enkatbot historik`: import, list and remove earlier years' published figures.

A förbund that measured before the bot keeps its earlier years in year comparisons: `import`
reads a CSV with the export's columns plus `ar`, checks every row (nothing is stored when one
row is wrong) and stores the figures, replacing any earlier import of the same years.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis.report_types import HISTORY_REQUIRED
from enkatbot import texts
from enkatbot.common import CliError, open_db
from questionnaires.model import load_all


def cmd_import(args: argparse.Namespace) -> int:
    """Check and store a history CSV."""
    path = Path(args.fil)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(texts.HISTORIK_NO_FILE.format(path=path)) from None
    except UnicodeDecodeError:
        raise CliError(texts.HISTORIK_NOT_UTF8.format(path=path)) from None
    # Lazy: checking the rows needs the analysis modules, which no other command here needs.
    from analysis.historik import HistoryError, parse_history

    try:
        rows = parse_history(text, load_all())
    except HistoryError as exc:
        raise CliError(texts.HISTORIK_FAULT.format(path=path, fault=exc)) from None
    store = open_db(args)
    try:
        store.import_history([r.as_dict() for r in rows], datetime.now(UTC).date().isoformat())
    finally:
        store.close()
    years = sorted({r.ar for r in rows})
    print(texts.HISTORIK_IMPORTED.format(rows=len(rows), years=", ".join(map(str, years))))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List the imported years."""
    store = open_db(args)
    try:
        years = store.history_years()
    finally:
        store.close()
    if not years:
        print(texts.HISTORIK_NONE)
    for year, rows, imported in years:
        print(texts.HISTORIK_YEAR_LINE.format(year=year, rows=rows, imported=imported))
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    """Remove one imported year."""
    store = open_db(args)
    try:
        removed = store.remove_history(args.ar)
    finally:
        store.close()
    if not removed:
        raise CliError(texts.HISTORIK_NOTHING_TO_REMOVE.format(year=args.ar))
    print(texts.HISTORIK_REMOVED.format(rows=removed, year=args.ar))
    return 0


def register(sub: Any) -> None:
    """Add `historik import|list|remove` to the subcommands."""
    hist = sub.add_parser(
        "historik",
        help=texts.HELP["historik"],
        description=texts.DESCRIPTION["historik"],
    )
    hist_sub = hist.add_subparsers(dest="action", required=True, metavar="ÅTGÄRD")
    p = hist_sub.add_parser(
        "import",
        help=texts.HELP["historik import"],
        description=texts.DESCRIPTION["historik import"].format(
            columns=", ".join(HISTORY_REQUIRED)
        ),
    )
    p.add_argument("fil", metavar="FIL")
    p.set_defaults(func=cmd_import)
    p = hist_sub.add_parser(
        "list", help=texts.HELP["historik list"], description=texts.DESCRIPTION["historik list"]
    )
    p.set_defaults(func=cmd_list)
    p = hist_sub.add_parser(
        "remove",
        help=texts.HELP["historik remove"],
        description=texts.DESCRIPTION["historik remove"],
    )
    p.add_argument("--ar", type=int, required=True, metavar="ÅR")
    p.set_defaults(func=cmd_remove)
