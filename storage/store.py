"""Storage: one SQLite file through sqlite-utils, with anonymity built into its tables.

Every write that a participant sees accepted is committed before the bot answers, so a crash
or restart loses nothing. See `storage.schema` for what each table may hold.

`Store` is one class made of parts along the seams of what it stores: `base` (the file,
migrations, secret), `sessions` (unfinished surveys: the part anonymity depends on), `links`
(insatser and survey links), `people` (roles, invites, subscriptions), `reporting`,
`ledger` (the counts of released report cells), and `retention` (gallring) on `audit` (the
log of staff actions).
"""

from __future__ import annotations

from pathlib import Path

from storage.ledger import LedgerPart
from storage.links import LinksPart
from storage.people import PeoplePart
from storage.records import (
    CHANNELS,
    DEFAULT_DB,
    ROLES,
    Channel,
    ChatRef,
    Insats,
    LinkCheck,
    LinkProblem,
    LinkTaken,
    Role,
    Session,
    StorageError,
    StorageProblem,
    WriteFailed,
    default_db_path,
    hash_token,
)
from storage.reporting import ReportingPart
from storage.retention import RetentionPart
from storage.sessions import SessionsPart

__all__ = [
    "CHANNELS",
    "DEFAULT_DB",
    "ROLES",
    "Channel",
    "ChatRef",
    "Insats",
    "LinkCheck",
    "LinkProblem",
    "LinkTaken",
    "Role",
    "Session",
    "StorageError",
    "StorageProblem",
    "Store",
    "WriteFailed",
    "default_db_path",
    "hash_token",
    "open_store",
]


class Store(SessionsPart, LinksPart, PeoplePart, ReportingPart, LedgerPart, RetentionPart):
    """The project's database: insatser, links, users, sessions, responses and answers."""


def open_store(path: str | Path | None = None) -> Store:
    """Open the database at `path` (default: ENKATBOT_DB or data/enkatbot.db); return it."""
    return Store(path)
