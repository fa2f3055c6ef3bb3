"""What storage hands out and takes in: its records, errors, roles and small helpers."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

DEFAULT_DB = Path("data") / "enkatbot.db"
ROLES: tuple[str, ...] = ("admin", "coordinator", "staff")
Role = Literal["admin", "coordinator", "staff"]
ROLE_BY_NAME: Mapping[str, Role] = {
    "admin": "admin", "coordinator": "coordinator", "staff": "staff"
}
"""A stored role name to its typed Role (the user table's CHECK allows only these)."""
LinkProblem = Literal["unknown", "used", "expired", "withdrawn"]
Channel = Literal["telegram", "web"]
CHANNELS: tuple[str, ...] = ("telegram", "web")

ChatRef = int | str
"""What an unfinished survey is found by: a Telegram chat id, or another front end's opaque
identifier (the web's is the HMAC of a random cookie). Only a key derived from it is stored."""

TOKEN_BYTES = 16  # 128 random bits; token_urlsafe gives 22 characters, within Telegram's 64


StorageProblem = Literal[
    "newer_schema",  # details: path, version
    "insats_name_empty",
    "insats_name_too_long",  # details: limit
    "insats_name_taken",  # details: name
    "unknown_insats",  # details: name, names (the insatser that exist)
    "below_one",  # antal, användningar or giltighetsdagar under 1
    "unknown_role",  # details: role, roles
    "link_not_open",
    "link_used",
    "session_exists",
    "no_session",
    "copy_missing",  # details: path
    "copy_unreadable",  # details: path
    "copy_corrupt",  # details: path
    "copy_newer",  # details: path, version
    "copy_foreign",  # details: path
    "no_free_name",  # details: folder
    "database_in_use",  # details: path
    "bad_month",  # details: raw
    "unknown_action",  # details: action
]
INSATS_NAME_LIMIT = 80


class StorageError(Exception):
    """A storage request that cannot be carried out.

    `problem` says which (a code, never a sentence: each front end words it for its audience
    from its own texts); `details` holds the values such a sentence may name.
    """

    def __init__(self, problem: StorageProblem, **details: Any) -> None:
        """Create the error for `problem` with the values its message names."""
        super().__init__(problem)
        self.problem: StorageProblem = problem
        self.details: dict[str, Any] = details


class LinkTaken(StorageError):
    """The link was used up between checking it and claiming it (another chat or process)."""
class WriteFailed(Exception):
    """The database could not be written (disk full, read-only, I/O error); nothing was saved.

    Deliberately not a StorageError: handlers that turn a StorageError into a reply about the
    request (a used link, a taken name) must never tell someone a failed write was that.
    """


@dataclass(frozen=True)
class Insats:
    """An intervention that survey links and responses belong to."""

    id: int
    name: str
    active: bool


@dataclass(frozen=True)
class Session:
    """An unfinished survey of one chat: its questionnaire, answers so far and where it stands.

    It has no response id: the response is written, under a fresh id, only when it ends.
    """

    chat_key: str
    enkat: str
    version: int
    insats: str
    stage: str
    current_item: str | None
    message_id: int | None
    answers: Mapping[str, str | None]
    channel: str = "telegram"
    flow: str | None = None
    """The journey's state beyond the stage, as the front ends' service wrote it (JSON)."""


@dataclass(frozen=True)
class LinkCheck:
    """The outcome of opening a survey link: a problem, or the link's insats and enkät."""

    problem: LinkProblem | None
    token_hash: str | None = None
    insats_id: int | None = None
    insats: str | None = None
    enkat: str | None = None
    in_progress: int = 0
    """How many unfinished surveys were started from this link (in any channel)."""
    held_by: str | None = None
    """When the link is used up by an unfinished survey: that survey's channel."""


def default_db_path() -> Path:
    """Return the database path: ENKATBOT_DB when set, else data/enkatbot.db."""
    return Path(os.environ.get("ENKATBOT_DB") or DEFAULT_DB)


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a link or invite token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def month_of(d: date) -> str:
    """Return the "YYYY-MM" month a day falls in: the finest time a response keeps."""
    return f"{d.year:04d}-{d.month:02d}"


def today_utc() -> date:
    """Return today's date in UTC, the default day of every stored date."""
    return datetime.now(UTC).date()


def insats_from_row(row: Mapping[str, Any]) -> Insats:
    """Return the Insats a row of the insats table describes."""
    return Insats(id=int(row["id"]), name=str(row["name"]), active=bool(row["active"]))
