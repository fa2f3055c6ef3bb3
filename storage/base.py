"""The open database file: connection, migrations, the installation secret, transactions.

Every part of `Store` builds on this class; see `storage.store`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from storage.records import ChatRef, StorageError, default_db_path
from storage.schema import MIGRATIONS, statements


class StoreBase:
    """The connection to one SQLite file, migrated to the newest schema, and its secret."""

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
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():  # a savepoint inside the outer transaction
                yield
            return
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
                conn.execute("ROLLBACK")

    def chat_key(self, chat_id: ChatRef) -> str:
        """Return the HMAC of a chat id under this installation's secret."""
        return hmac.new(self._secret, str(chat_id).encode(), hashlib.sha256).hexdigest()
