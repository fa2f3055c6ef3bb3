"""Storage: one SQLite file through sqlite-utils, with anonymity built into its tables.

Every write that a participant sees accepted is committed before the bot answers, so a crash
or restart loses nothing. See `storage.schema` for what each table may hold.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal

import sqlite_utils

from storage.schema import MIGRATIONS

DEFAULT_DB = Path("data") / "enkatbot.db"
ROLES: tuple[str, ...] = ("admin", "coordinator", "staff")
Role = Literal["admin", "coordinator", "staff"]
LinkProblem = Literal["unknown", "used", "expired", "withdrawn"]

TOKEN_BYTES = 16  # 128 random bits; token_urlsafe gives 22 characters, within Telegram's 64


class StorageError(Exception):
    """A storage request that cannot be carried out; the message is plain Swedish."""


@dataclass(frozen=True)
class Insats:
    """An intervention that survey links and responses belong to."""

    id: int
    name: str
    active: bool


@dataclass(frozen=True)
class Session:
    """An unfinished survey of one chat: which response it builds and where it stands."""

    chat_key: str
    response_id: str
    enkat: str
    version: int
    insats: str
    stage: str
    current_item: str | None
    message_id: int | None
    answers: Mapping[str, str | None]
    link_hash: str | None = None


@dataclass(frozen=True)
class LinkCheck:
    """The outcome of opening a survey link: a problem, or the link's insats and enkät."""

    problem: LinkProblem | None
    token_hash: str | None = None
    insats_id: int | None = None
    insats: str | None = None
    enkat: str | None = None


def default_db_path() -> Path:
    """Return the database path: ENKATBOT_DB when set, else data/enkatbot.db."""
    return Path(os.environ.get("ENKATBOT_DB") or DEFAULT_DB)


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a link or invite token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _month(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _today() -> date:
    return datetime.now(UTC).date()


class Store:
    """The project's database: insatser, links, users, sessions, responses and answers."""

    def __init__(self, path: str | Path | None = None) -> None:
        """Open (creating and migrating as needed) the database file at `path`."""
        self.path = Path(path) if path is not None else default_db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(self.path), timeout=30, isolation_level=None, check_same_thread=False
        )
        self.db = sqlite_utils.Database(conn)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA secure_delete=ON")
        self.db.execute("PRAGMA synchronous=FULL")
        self._migrate()
        self._secret = self._load_secret()

    # -- set-up ------------------------------------------------------------------------------

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StorageError(
                f"Databasen {self.path} är från en nyare version av enkätboten "
                f"(schema {version}); uppgradera programmet."
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.db.atomic():
                for statement in script.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={number}")

    @property
    def schema_version(self) -> int:
        """Return the schema version of the open file."""
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    @property
    def secret_path(self) -> Path:
        """Return where the HMAC secret lives: beside the database, mode 0600."""
        return self.path.with_name(self.path.name + ".secret")

    def _load_secret(self) -> bytes:
        path = self.secret_path
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        os.chmod(path, 0o600)
        return bytes.fromhex(path.read_text().strip())

    def close(self) -> None:
        """Checkpoint the WAL into the main file and close the connection."""
        self.checkpoint()
        self.db.close()

    def checkpoint(self) -> None:
        """Fold the WAL into the database file and truncate it.

        Called after a session is deleted so that old pages that held its chat key are not
        left lying in the WAL file.
        """
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block in one transaction: all of it is committed, or none."""
        with self.db.atomic():
            yield

    def chat_key(self, chat_id: int) -> str:
        """Return the HMAC of a chat id under this installation's secret."""
        return hmac.new(self._secret, str(chat_id).encode(), hashlib.sha256).hexdigest()

    # -- insatser ----------------------------------------------------------------------------

    def add_insats(self, name: str, today: date | None = None) -> Insats:
        """Create an insats; return it. Raises StorageError when the name is empty or taken."""
        name = " ".join(name.split())
        if not name:
            raise StorageError("Insatsen behöver ett namn.")
        if len(name) > 80:
            raise StorageError("Namnet får vara högst 80 tecken.")
        if self.get_insats(name) is not None:
            raise StorageError(f"Det finns redan en insats som heter {name!r}.")
        self.db["insats"].insert({"name": name, "created": (today or _today()).isoformat()})
        insats = self.get_insats(name)
        assert insats is not None
        return insats

    def get_insats(self, name: str) -> Insats | None:
        """Return the insats with this name (case-insensitive), or None."""
        rows = list(self.db.query("SELECT * FROM insats WHERE name = ? COLLATE NOCASE", [name]))
        return _insats(rows[0]) if rows else None

    def get_insats_by_id(self, insats_id: int) -> Insats | None:
        """Return the insats with this id, or None."""
        rows = list(self.db.query("SELECT * FROM insats WHERE id = ?", [insats_id]))
        return _insats(rows[0]) if rows else None

    def list_insatser(self, include_inactive: bool = False) -> list[Insats]:
        """Return the insatser sorted by name."""
        sql = "SELECT * FROM insats"
        if not include_inactive:
            sql += " WHERE active = 1"
        return [_insats(r) for r in self.db.query(sql + " ORDER BY name COLLATE NOCASE")]

    def require_insats(self, name: str) -> Insats:
        """Return the insats named `name`, or raise StorageError listing the valid names."""
        insats = self.get_insats(name)
        if insats is None:
            names = ", ".join(i.name for i in self.list_insatser()) or "(inga ännu)"
            raise StorageError(f"Okänd insats {name!r}. Insatser som finns: {names}.")
        return insats

    # -- survey links ------------------------------------------------------------------------

    def create_links(
        self,
        insats: str,
        enkat: str,
        *,
        count: int = 1,
        valid_days: int = 30,
        uses: int = 1,
        now: datetime | None = None,
    ) -> list[str]:
        """Create `count` survey links; return their tokens (stored only as hashes)."""
        if count < 1 or uses < 1 or valid_days < 1:
            raise StorageError("Antal, användningar och giltighetsdagar måste vara minst 1.")
        ins = self.require_insats(insats)
        now = now or datetime.now(UTC)
        expires = (now + timedelta(days=valid_days)).isoformat(timespec="seconds")
        tokens = [secrets.token_urlsafe(TOKEN_BYTES) for _ in range(count)]
        with self.transaction():
            self.db["link"].insert_all(
                {
                    "token_hash": hash_token(t),
                    "insats_id": ins.id,
                    "enkat": enkat,
                    "created": now.date().isoformat(),
                    "expires": expires,
                    "uses_left": uses,
                }
                for t in tokens
            )
        return tokens

    def withdraw_link(self, token: str) -> bool:
        """Withdraw a link so it can no longer be opened; return False when it is unknown."""
        cur = self.db.execute(
            "UPDATE link SET withdrawn = 1 WHERE token_hash = ?", [hash_token(token)]
        )
        return cur.rowcount > 0

    def check_link(self, token: str, now: datetime | None = None) -> LinkCheck:
        """Return whether a link can be opened now, and if so for which insats and enkät."""
        rows = list(
            self.db.query(
                "SELECT link.*, insats.name AS insats_name FROM link "
                "JOIN insats ON insats.id = link.insats_id WHERE token_hash = ?",
                [hash_token(token)],
            )
        )
        if not rows:
            return LinkCheck(problem="unknown")
        row = rows[0]
        now = now or datetime.now(UTC)
        problem: LinkProblem | None = None
        if row["withdrawn"]:
            problem = "withdrawn"
        elif datetime.fromisoformat(row["expires"]) < now:
            problem = "expired"
        elif row["uses_left"] <= 0:
            problem = "used"
        return LinkCheck(
            problem=problem,
            token_hash=row["token_hash"],
            insats_id=row["insats_id"],
            insats=row["insats_name"],
            enkat=row["enkat"],
        )

    # -- sessions ----------------------------------------------------------------------------

    def start_session(
        self,
        chat_id: int,
        link: LinkCheck,
        version: int,
        *,
        stage: str = "greeting",
        today: date | None = None,
    ) -> Session:
        """Claim one use of an open link and start an unfinished survey for this chat.

        Returns the new session. The response row starts as in_progress, holding only the
        enkät, its version, the insats and the month.
        """
        if link.problem is not None or link.token_hash is None or link.insats_id is None:
            raise StorageError("Länken kan inte öppnas.")
        today = today or _today()
        key = self.chat_key(chat_id)
        response_id = secrets.token_hex(16)
        with self.transaction():
            if self._session_row(key) is not None:
                raise StorageError("Det finns redan en påbörjad enkät i den här chatten.")
            claimed = self.db.execute(
                "UPDATE link SET uses_left = uses_left - 1 "
                "WHERE token_hash = ? AND uses_left > 0 AND withdrawn = 0",
                [link.token_hash],
            ).rowcount
            if not claimed:
                raise StorageError("Länken har redan använts.")
            self.db["response"].insert(
                {
                    "id": response_id,
                    "enkat": link.enkat,
                    "version": version,
                    "insats_id": link.insats_id,
                    "month": _month(today),
                    "status": "in_progress",
                }
            )
            self.db["session"].insert(
                {
                    "chat_key": key,
                    "response_id": response_id,
                    "link_hash": link.token_hash,
                    "stage": stage,
                    "current_item": None,
                    "message_id": None,
                    "last_active": today.isoformat(),
                }
            )
        session = self.get_session(chat_id)
        assert session is not None
        return session

    def _session_row(self, key: str) -> dict | None:
        rows = list(
            self.db.query(
                "SELECT session.*, response.enkat, response.version, insats.name AS insats "
                "FROM session JOIN response ON response.id = session.response_id "
                "JOIN insats ON insats.id = response.insats_id WHERE chat_key = ?",
                [key],
            )
        )
        return rows[0] if rows else None

    def get_session(self, chat_id: int) -> Session | None:
        """Return this chat's unfinished survey with its answers so far, or None."""
        row = self._session_row(self.chat_key(chat_id))
        if row is None:
            return None
        answers = {
            r["item_id"]: r["value"]
            for r in self.db.query(
                "SELECT item_id, value FROM answer WHERE response_id = ?", [row["response_id"]]
            )
        }
        return Session(
            chat_key=row["chat_key"],
            response_id=row["response_id"],
            enkat=row["enkat"],
            version=row["version"],
            insats=row["insats"],
            stage=row["stage"],
            current_item=row["current_item"],
            message_id=row["message_id"],
            answers=answers,
            link_hash=row["link_hash"],
        )

    def save_progress(
        self,
        chat_id: int,
        answers: Mapping[str, str | None],
        current_item: str | None,
        *,
        stage: str | None = None,
        message_id: int | None = None,
        today: date | None = None,
        remind: bool = True,
    ) -> None:
        """Commit the chat's answers and position, before the bot confirms anything.

        The stored answers are made equal to `answers`: new ones written, changed ones
        updated, and ones the engine dropped (9 and 10 after 8 became Nej) deleted.
        """
        key = self.chat_key(chat_id)
        today = today or _today()
        with self.transaction():
            row = self._session_row(key)
            if row is None:
                raise StorageError("Det finns ingen påbörjad enkät i den här chatten.")
            rid = row["response_id"]
            stored = {
                r["item_id"]: r["value"]
                for r in self.db.query(
                    "SELECT item_id, value FROM answer WHERE response_id = ?", [rid]
                )
            }
            for item_id in stored.keys() - answers.keys():
                self.db.execute(
                    "DELETE FROM answer WHERE response_id = ? AND item_id = ?", [rid, item_id]
                )
            for item_id, value in answers.items():
                if item_id not in stored or stored[item_id] != value:
                    self.db.execute(
                        "INSERT INTO answer (response_id, item_id, value) VALUES (?, ?, ?) "
                        "ON CONFLICT (response_id, item_id) DO UPDATE SET value = excluded.value",
                        [rid, item_id, value],
                    )
            updates: dict[str, object] = {
                "current_item": current_item,
                "last_active": today.isoformat(),
            }
            if stage is not None:
                updates["stage"] = stage
            if message_id is not None:
                updates["message_id"] = message_id
            self._update_session(key, updates)
            if not remind:
                return
            self.db.execute(
                "INSERT INTO reminder (chat_id, quiet_since) VALUES (?, ?) "
                "ON CONFLICT (chat_id) DO UPDATE SET quiet_since = excluded.quiet_since",
                [chat_id, today.isoformat()],
            )

    def update_session(
        self, chat_id: int, *, stage: str | None = None, message_id: int | None = None
    ) -> None:
        """Change the session's stage or the id of the message showing its question."""
        updates: dict[str, object] = {}
        if stage is not None:
            updates["stage"] = stage
        if message_id is not None:
            updates["message_id"] = message_id
        if updates:
            self._update_session(self.chat_key(chat_id), updates)

    def _update_session(self, key: str, updates: Mapping[str, object]) -> None:
        cols = ", ".join(f"{c} = ?" for c in updates)
        self.db.execute(f"UPDATE session SET {cols} WHERE chat_key = ?", [*updates.values(), key])

    def finish_session(self, chat_id: int, *, today: date | None = None) -> bool:
        """Submit the chat's survey: the response becomes complete; the chat link is deleted.

        Returns False when the chat had no unfinished survey (already submitted).
        """
        return self._end_for_chat(chat_id, "complete", today or _today())

    def discard_session(self, chat_id: int) -> bool:
        """Delete the chat's unfinished answers (/radera); the link can be used again.

        Returns False when there was nothing to delete.
        """
        return self._end_for_chat(chat_id, None, _today())

    def _end_for_chat(self, chat_id: int, status: str | None, today: date) -> bool:
        key = self.chat_key(chat_id)
        with self.transaction():
            row = self._session_row(key)
            if row is None:
                return False
            self._end_session(row, status, today)
            self.db.execute("DELETE FROM reminder WHERE chat_id = ?", [chat_id])
        self.checkpoint()
        return True

    def _end_session(self, row: Mapping[str, object], status: str | None, today: date) -> None:
        """End one session inside the caller's transaction: the chat link goes, always.

        With a `status` the response is kept as that (complete, partial) in today's month;
        with None it is deleted with its answers and its link's use is given back.
        """
        self.db.execute("DELETE FROM session WHERE chat_key = ?", [row["chat_key"]])
        if status is not None:
            self.db.execute(
                "UPDATE response SET status = ?, month = ? WHERE id = ?",
                [status, _month(today), row["response_id"]],
            )
            return
        self.db.execute("DELETE FROM response WHERE id = ?", [row["response_id"]])
        if row["link_hash"]:
            self.db.execute(
                "UPDATE link SET uses_left = uses_left + 1 WHERE token_hash = ?",
                [row["link_hash"]],
            )

    def due_reminders(self, after_days: int, today: date | None = None) -> list[int]:
        """Return the chat ids whose survey has waited `after_days` days; forget them.

        Each chat is returned once per period of silence: its reminder row is deleted here
        and only written again when the participant answers.
        """
        today = today or _today()
        cutoff = (today - timedelta(days=after_days)).isoformat()
        with self.transaction():
            due = [r["chat_id"] for r in self.db.query(
                "SELECT chat_id FROM reminder WHERE quiet_since <= ?", [cutoff]
            )]
            self.db.execute("DELETE FROM reminder WHERE quiet_since <= ?", [cutoff])
        return [cid for cid in due if self._session_row(self.chat_key(cid)) is not None]

    def expire_sessions(self, after_days: int, today: date | None = None) -> int:
        """Close surveys untouched for `after_days` days, keeping their answers as partial.

        A session with no answers is deleted with its empty response and its link is freed.
        Returns how many sessions were closed.
        """
        today = today or _today()
        cutoff = (today - timedelta(days=after_days)).isoformat()
        with self.transaction():
            rows = list(
                self.db.query(
                    "SELECT session.chat_key, session.response_id, session.link_hash, "
                    "EXISTS (SELECT 1 FROM answer WHERE answer.response_id = session.response_id)"
                    " AS answered FROM session WHERE last_active <= ?",
                    [cutoff],
                )
            )
            for r in rows:
                self._end_session(r, "partial" if r["answered"] else None, today)
            self.db.execute("DELETE FROM reminder WHERE quiet_since <= ?", [cutoff])
        if rows:
            self.checkpoint()
        return len(rows)

    # -- users, roles and invites ------------------------------------------------------------

    def add_user(self, telegram_id: int, role: str, today: date | None = None) -> None:
        """Give a Telegram user a role (replacing any earlier role)."""
        if role not in ROLES:
            raise StorageError(f"Okänd roll {role!r}; giltiga: {', '.join(ROLES)}.")
        self.db["user"].upsert(
            {"telegram_id": telegram_id, "role": role, "added": (today or _today()).isoformat()},
            pk="telegram_id",
        )

    def remove_user(self, telegram_id: int) -> bool:
        """Take away a user's role; return False when they had none."""
        return self.db.execute(
            "DELETE FROM user WHERE telegram_id = ?", [telegram_id]
        ).rowcount > 0

    def role_of(self, telegram_id: int) -> Role | None:
        """Return the user's stored role, or None."""
        rows = list(self.db.query("SELECT role FROM user WHERE telegram_id = ?", [telegram_id]))
        return rows[0]["role"] if rows else None

    def users(self, role: str | None = None) -> list[tuple[int, str]]:
        """Return (telegram id, role) pairs, optionally only those with `role`."""
        sql, args = "SELECT telegram_id, role FROM user", []
        if role is not None:
            sql, args = sql + " WHERE role = ?", [role]
        return [(r["telegram_id"], r["role"]) for r in self.db.query(sql + " ORDER BY 1", args)]

    def create_invite(self, role: str, valid_days: int = 7, now: datetime | None = None) -> str:
        """Create a one-time invite that grants `role`; return its token."""
        if role not in ROLES:
            raise StorageError(f"Okänd roll {role!r}; giltiga: {', '.join(ROLES)}.")
        token = "inv_" + secrets.token_urlsafe(TOKEN_BYTES)
        expires = (now or datetime.now(UTC)) + timedelta(days=valid_days)
        self.db["invite"].insert(
            {
                "token_hash": hash_token(token),
                "role": role,
                "expires": expires.isoformat(timespec="seconds"),
            }
        )
        return token

    def redeem_invite(
        self, token: str, telegram_id: int, now: datetime | None = None
    ) -> Role | None:
        """Use an invite: give the user its role and spend it. Return the role, or None."""
        now = now or datetime.now(UTC)
        with self.transaction():
            rows = list(
                self.db.query(
                    "SELECT * FROM invite WHERE token_hash = ? AND used = 0", [hash_token(token)]
                )
            )
            if not rows or datetime.fromisoformat(rows[0]["expires"]) < now:
                return None
            self.db.execute(
                "UPDATE invite SET used = 1 WHERE token_hash = ?", [rows[0]["token_hash"]]
            )
            self.add_user(telegram_id, rows[0]["role"], today=now.date())
        return rows[0]["role"]

    # -- coordinators' monthly summary -------------------------------------------------------

    def subscribe(self, telegram_id: int, today: date | None = None) -> None:
        """Subscribe a user to the monthly summary."""
        self.db["subscription"].upsert(
            {"telegram_id": telegram_id, "since": (today or _today()).isoformat()},
            pk="telegram_id",
        )

    def unsubscribe(self, telegram_id: int) -> bool:
        """Stop a user's monthly summary; return False when they had none."""
        return self.db.execute(
            "DELETE FROM subscription WHERE telegram_id = ?", [telegram_id]
        ).rowcount > 0

    def subscribed_since(self, telegram_id: int) -> date | None:
        """Return the day the user subscribed to the monthly summary, or None."""
        rows = list(
            self.db.query("SELECT since FROM subscription WHERE telegram_id = ?", [telegram_id])
        )
        return date.fromisoformat(rows[0]["since"]) if rows else None

    def subscribers(self) -> list[int]:
        """Return the subscribed users who still hold the coordinator or admin role."""
        return [
            r["telegram_id"]
            for r in self.db.query(
                "SELECT s.telegram_id FROM subscription s JOIN user u USING (telegram_id) "
                "WHERE u.role IN ('coordinator', 'admin') ORDER BY 1"
            )
        ]

    def report_was_sent(self, telegram_id: int, month: str) -> bool:
        """Return True when the summary for `month` was already sent to this user."""
        return bool(
            list(
                self.db.query(
                    "SELECT 1 FROM report_sent WHERE telegram_id = ? AND month = ?",
                    [telegram_id, month],
                )
            )
        )

    def mark_report_sent(self, telegram_id: int, month: str) -> None:
        """Record that the summary for `month` reached this user."""
        self.db.execute(
            "INSERT OR IGNORE INTO report_sent (telegram_id, month) VALUES (?, ?)",
            [telegram_id, month],
        )

    # -- reading responses for reports -------------------------------------------------------

    def response_frames(
        self,
        *,
        start_month: str | None = None,
        end_month: str | None = None,
        insats: str | None = None,
    ) -> tuple[object, object]:
        """Return (responses, answers) as pandas DataFrames for reports.

        responses: response_id, enkat, version, insats, month, status (complete or partial);
        answers: response_id, item_id, value (missing where skipped: test with pandas.isna, as
        pandas 3 stores a missing string as NaN). Unfinished surveys are left
        out. Months are inclusive "YYYY-MM" bounds.
        """
        import pandas as pd

        where, args = ["r.status IN ('complete', 'partial')"], []
        if start_month:
            where.append("r.month >= ?")
            args.append(start_month)
        if end_month:
            where.append("r.month <= ?")
            args.append(end_month)
        if insats:
            where.append("i.name = ? COLLATE NOCASE")
            args.append(insats)
        cond = " AND ".join(where)
        responses = pd.DataFrame(
            list(
                self.db.query(
                    "SELECT r.id AS response_id, r.enkat, r.version, i.name AS insats, r.month, "
                    f"r.status FROM response r JOIN insats i ON i.id = r.insats_id WHERE {cond} "
                    "ORDER BY r.month, r.id",
                    args,
                )
            ),
            columns=["response_id", "enkat", "version", "insats", "month", "status"],
        )
        answers = pd.DataFrame(
            list(
                self.db.query(
                    "SELECT a.response_id, a.item_id, a.value FROM answer a "
                    "JOIN response r ON r.id = a.response_id "
                    f"JOIN insats i ON i.id = r.insats_id WHERE {cond} ORDER BY 1, 2",
                    args,
                )
            ),
            columns=["response_id", "item_id", "value"],
        )
        return responses, answers


def _insats(row: Mapping[str, object]) -> Insats:
    return Insats(id=int(row["id"]), name=str(row["name"]), active=bool(row["active"]))  # type: ignore[call-overload]


def open_store(path: str | Path | None = None) -> Store:
    """Open the database at `path` (default: ENKATBOT_DB or data/enkatbot.db); return it."""
    return Store(path)
