"""The open database file: connection, migrations, the installation secret, transactions.

Every part of `Store` builds on this class; see `storage.store`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import sqlite3
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import sqlite_utils

from storage.records import ChatRef, StorageError, WriteFailed, default_db_path
from storage.schema import MIGRATIONS, statements

BUSY_TIMEOUT_SECONDS = 30
"""How long a write waits for another connection's write lock (the report worker's counts)."""
KDF_N = 2**14
KDF_R = 8
"""scrypt cost of a chat's key: 16 MiB and about 36 ms a chat on a small server (measured in
docs/anonymitet.md), so walking every possible Telegram id takes core-years, not hours."""
KEY_CACHE_SIZE = 4096
"""Active chats whose key is kept in memory (never on disk), so a chat pays the cost once."""

WRITE_FAILED = "Databasen gick inte att skriva till (full disk, skrivskyddad fil eller läsfel)."
_WRITE_ERRORS = frozenset(
    {"SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_BUSY"}
)


def _is_write_failure(exc: sqlite3.OperationalError) -> bool:
    # Extended codes name their primary code first: SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED.
    name = getattr(exc, "sqlite_errorname", "") or ""
    return "_".join(name.split("_")[:2]) in _WRITE_ERRORS


class StoreBase:
    """The connection to one SQLite file, migrated to the newest schema, and its secret."""

    def __init__(self, path: str | Path | None = None) -> None:
        """Open (creating and migrating as needed) the database file at `path`."""
        self.path = Path(path) if path is not None else default_db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = self._connect()
        self._migrate()
        self._secret = self._load_secret()
        self._keys: OrderedDict[ChatRef, str] = OrderedDict()
        self._checkpoint_owed = False

    def _connect(self) -> sqlite_utils.Database:
        conn = sqlite3.connect(
            str(self.path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
            check_same_thread=False,
        )
        db = sqlite_utils.Database(conn)
        # The file, and the -wal and -shm SQLite gives the same mode, for the bot's user only.
        with contextlib.suppress(PermissionError):  # another user's file: theirs to guard
            os.chmod(self.path, 0o600)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA secure_delete=ON")
        db.execute("PRAGMA synchronous=FULL")
        return db

    def reopen(self) -> bool:
        """Replace the connection with a fresh one; return True when the file opened again.

        After a failed write (a read-only or vanished file, an I/O error) SQLite may keep a
        connection that can never write again; a new one works as soon as the file does.
        When the file cannot be opened yet, the old connection stays and False comes back.
        """
        try:
            fresh = self._connect()
        except sqlite3.Error:
            return False
        old, self.db = self.db, fresh
        with suppress(sqlite3.Error):
            old.close()
        return True

    def probe_write(self) -> None:
        """Raise WriteFailed unless a transaction can be committed to the file now."""
        try:
            with self.db.atomic():
                version = self.db.execute("PRAGMA user_version").fetchone()[0]
                self.db.execute(f"PRAGMA user_version={int(version)}")
        except sqlite3.Error as exc:
            raise WriteFailed(WRITE_FAILED) from exc

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StorageError("newer_schema", path=self.path, version=version)
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.db.atomic():
                for statement in statements(script):
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
        self.checkpoint(wait=True)
        self.db.close()

    def checkpoint(self, *, wait: bool = False) -> bool:
        """Fold the WAL into the database file and truncate it; return True when it was.

        Called after a session is deleted so that old pages that held it are not left lying
        in the WAL file. A reader in another connection (the report worker, `enkatbot`) can
        keep the WAL from being truncated; then it is tried again after the next write.
        Without `wait` it does not wait for such a reader: a TRUNCATE checkpoint waits out
        the whole busy timeout for a report that reads for seconds, and the bot calls this in
        its event loop, where every participant would wait with it.
        """
        conn = self.db.conn
        if not wait:
            conn.execute("PRAGMA busy_timeout=0")
        try:
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.OperationalError:
            busy = 1  # another connection is checkpointing: tried again after the next write
        finally:
            if not wait:
                conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        self._checkpoint_owed = bool(busy)
        return not busy

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[None]:
        """Run the block in one transaction: all of it is committed, or none.

        A write the file refuses (disk full, read-only, I/O error) is rolled back and raised
        as WriteFailed, and the connection is renewed so the next write can succeed as soon
        as the disk allows it. `durable=False` commits without waiting for the disk (the
        write survives the process dying, not the machine losing power; the next durable
        commit takes it along): only for notes whose loss is harmless.
        """
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():  # a savepoint inside the outer transaction
                yield
            return
        if not durable:
            conn.execute("PRAGMA synchronous=NORMAL")
        try:
            # IMMEDIATE takes the write lock first, waiting for it if need be. A deferred
            # transaction that reads before it writes fails at once ("database is locked", no
            # waiting) when another connection committed in between: the report worker, the
            # web front end or `enkatbot` on the same file.
            conn.execute("BEGIN IMMEDIATE")
            committed = False
            try:
                yield
                conn.execute("COMMIT")
                committed = True
            finally:
                if not committed and self.db.conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            if not _is_write_failure(exc):
                raise
            self.reopen()
            raise WriteFailed(WRITE_FAILED) from exc
        finally:
            if not durable:
                with suppress(sqlite3.Error):
                    self.db.conn.execute("PRAGMA synchronous=FULL")
        if self._checkpoint_owed:
            self.checkpoint()

    def chat_key(self, chat_id: ChatRef) -> str:
        """Return the key an unfinished survey is stored under for this chat.

        `chat_id` is a Telegram chat id (int) or another front end's opaque identifier (str,
        e.g. the HMAC of a web cookie). The key is scrypt of the identifier, salted with the
        installation secret: memory-hard, so the secret alone does not turn keys back into
        chat ids by trying them all. Cached in memory for active chats.
        """
        cached = self._keys.get(chat_id)
        if cached is not None:
            self._keys.move_to_end(chat_id)
            return cached
        key = self.derive_chat_key(chat_id)
        self.remember_chat_key(chat_id, key)
        return key

    def has_chat_key(self, chat_id: ChatRef) -> bool:
        """Return True when the chat's key is cached (`chat_key` then costs nothing)."""
        return chat_id in self._keys

    def derive_chat_key(self, chat_id: ChatRef) -> str:
        """Return the chat's key, derived afresh and not cached (see `chat_key`).

        Touches nothing of the store but its secret, so it may run in another thread: scrypt
        lets go of the GIL for its ~36 ms, and an event loop need not wait for it.
        """
        channel = "telegram" if isinstance(chat_id, int) else "web"
        return hashlib.scrypt(
            f"{channel}:{chat_id}".encode(), salt=self._secret,
            n=KDF_N, r=KDF_R, p=1, maxmem=4 * 128 * KDF_N * KDF_R, dklen=32,
        ).hex()

    def remember_chat_key(self, chat_id: ChatRef, key: str) -> None:
        """Cache a key `derive_chat_key` returned for this chat (the oldest goes when full)."""
        self._keys[chat_id] = key
        self._keys.move_to_end(chat_id)
        if len(self._keys) > KEY_CACHE_SIZE:
            self._keys.popitem(last=False)

    def keyed_hash(self, text: str) -> str:
        """Return the HMAC-SHA256 of `text` under the installation secret (hex).

        For values that are random already (a web form's CSRF token), where a memory-hard
        derivation would add cost and nothing else.
        """
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()

    def legacy_chat_key(self, chat_id: ChatRef) -> str:
        """Return the key surveys begun before schema 7 were stored under (a plain HMAC)."""
        return self.keyed_hash(str(chat_id))

    def forget_chat_key(self, chat_id: ChatRef) -> None:
        """Drop a chat's cached key once its survey has ended."""
        self._keys.pop(chat_id, None)

    def forget_chat_keys(self) -> None:
        """Drop every cached key (after expiry, which does not know the chats it ended)."""
        self._keys.clear()
