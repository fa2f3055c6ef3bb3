"""Backups and restores of the database file, and the lock a running bot holds on it.

A backup is made with SQLite's online backup API (safe while the bot writes) into memory;
there everything that belongs to an unfinished survey is removed (sessions, their answers so
far, reminders) and the links those surveys used are given back, and `VACUUM INTO` writes the
result to a new file. So a backup never holds anything that links a chat to answers, not even
in free pages, and a participant whose survey was unfinished can open their link again in the
restored copy. Backup files are created with O_EXCL under a timestamped name (mode 0600), so
no backup ever overwrites another. The installation secret is never part of a backup: nothing
in a backup needs it.

A restore checks the copy (integrity, schema version, tables) before it touches anything,
refuses while a bot holds the database's run lock, and moves the replaced file aside.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from contextlib import closing, suppress
from datetime import UTC, datetime
from pathlib import Path

from storage.records import StorageError
from storage.schema import MIGRATIONS

REQUIRED_TABLES = frozenset({"insats", "link", "response", "answer", "user"})
BACKUP_PREFIX = "enkatbot-"


class DatabaseInUse(StorageError):
    """A bot process holds the database's run lock."""


def lock_path(db_path: Path) -> Path:
    """Return the run lock file of a database: `<db>.lock` beside it."""
    return db_path.with_name(db_path.name + ".lock")


def hold_run_lock(db_path: Path) -> int:
    """Take the database's run lock for this process's lifetime; return its file descriptor.

    Raises DatabaseInUse when another process (a running bot, a restore) holds it. The lock is
    released when the process ends, however it ends.
    """
    fd = os.open(lock_path(db_path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise DatabaseInUse("database_in_use", path=db_path) from exc
    return fd


def release_run_lock(fd: int) -> None:
    """Release a lock taken with hold_run_lock."""
    with suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def remove_unfinished(conn: sqlite3.Connection) -> int:
    """Remove every unfinished survey from a copy and give its link use back; return how many.

    Works on each schema version that has shipped: sessions that point at an in-progress
    response and hold their link's hash, and sessions that hold their answers themselves with
    the link counting its unfinished surveys (`link.in_progress`).
    """
    tables = _tables(conn)
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA secure_delete=ON")
    with conn:
        count = 0
        if "session" in tables:
            count = conn.execute("SELECT count(*) FROM session").fetchone()[0]
            if "link_hash" in _columns(conn, "session"):
                conn.execute(
                    "UPDATE link SET uses_left = uses_left + (SELECT count(*) FROM session "
                    "WHERE session.link_hash = link.token_hash) "
                    "WHERE token_hash IN (SELECT link_hash FROM session)"
                )
            conn.execute("DELETE FROM session")
        link_columns = _columns(conn, "link")
        if "in_progress" in link_columns:
            conn.execute(
                "UPDATE link SET uses_left = uses_left + in_progress, in_progress = 0 "
                "WHERE in_progress > 0"
            )
        if "held_by" in link_columns:
            conn.execute("UPDATE link SET held_by = NULL")
        if "status" in _columns(conn, "response"):
            conn.execute(
                "DELETE FROM answer WHERE response_id IN "
                "(SELECT id FROM response WHERE status = 'in_progress')"
            )
            conn.execute("DELETE FROM response WHERE status = 'in_progress'")
        if "reminder" in tables:
            conn.execute("DELETE FROM reminder")
        if "thanks_owed" in tables:
            conn.execute("DELETE FROM thanks_owed")
    return int(count)


def _check_copy(conn: sqlite3.Connection, name: Path) -> int:
    """Raise StorageError unless `conn` is a sound enkätbot database; return its schema."""
    try:
        result = conn.execute("PRAGMA integrity_check").fetchall()
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = _tables(conn)
    except sqlite3.DatabaseError as exc:
        raise StorageError("copy_unreadable", path=name) from exc
    if result != [("ok",)]:
        raise StorageError("copy_corrupt", path=name)
    if version > len(MIGRATIONS):
        raise StorageError("copy_newer", path=name, version=version)
    if version < 1 or not tables >= REQUIRED_TABLES:
        raise StorageError("copy_foreign", path=name)
    return version


def _clean_copy(source: Path) -> sqlite3.Connection:
    """Return an in-memory copy of `source` with every unfinished survey removed."""
    if not source.is_file():
        raise StorageError("copy_missing", path=source)
    try:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise StorageError("copy_unreadable", path=source) from exc
    mem = sqlite3.connect(":memory:", isolation_level=None)
    with closing(src):
        try:
            src.backup(mem)
        except sqlite3.DatabaseError as exc:
            mem.close()
            raise StorageError("copy_unreadable", path=source) from exc
    _check_copy(mem, source)
    remove_unfinished(mem)
    return mem


def _write_new(mem: sqlite3.Connection, path: Path) -> None:
    """Write `mem` compactly to the new file `path`, created here (mode 0600, never replaced)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        mem.execute("VACUUM INTO ?", [str(path)])
        os.chmod(path, 0o600)
        with closing(sqlite3.connect(path)) as check:
            _check_copy(check, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def backup_name(now: datetime) -> str:
    """Return a backup file's name for the moment `now`: enkatbot-YYYY-MM-DDTHHMMSSZ.db."""
    return f"{BACKUP_PREFIX}{now.astimezone(UTC):%Y-%m-%dT%H%M%SZ}.db"


def backup_database(db_path: Path, dest: Path, now: datetime | None = None) -> Path:
    """Write a backup of `db_path` into the folder `dest`; return the new file's path.

    Safe while the bot runs. The file is new (an earlier backup is never overwritten), mode
    0600, passes integrity_check, and holds no unfinished survey.
    """
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    mem = _clean_copy(db_path)
    with closing(mem):
        stem = backup_name(now or datetime.now(UTC)).removesuffix(".db")
        for n in range(1, 1000):
            path = dest / (f"{stem}.db" if n == 1 else f"{stem}-{n}.db")
            try:
                _write_new(mem, path)
            except FileExistsError:
                continue
            return path
    raise StorageError("no_free_name", folder=dest)


def check_backup(path: Path) -> int:
    """Return the schema version of a backup file after checking it; raise StorageError."""
    with closing(_clean_copy(path)) as mem:
        return int(mem.execute("PRAGMA user_version").fetchone()[0])


def restore_database(source: Path, target: Path, now: datetime | None = None) -> Path | None:
    """Replace the database `target` with the backup `source`; return where the old file went.

    Everything is checked before anything is replaced: the copy's integrity, its schema and
    tables, and that no bot holds `target`'s run lock (DatabaseInUse). The replaced database
    is checkpointed and moved aside to `<target>.ersatt-<time>` (None when there was none).
    """
    mem = _clean_copy(source)
    with closing(mem):
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = hold_run_lock(target)
        try:
            stamp = f"{(now or datetime.now(UTC)).astimezone(UTC):%Y-%m-%dT%H%M%SZ}"
            incoming = target.with_name(f".{target.name}.aterstalls-{stamp}")
            _write_new(mem, incoming)
            aside: Path | None = None
            if target.exists():
                with closing(sqlite3.connect(target, timeout=30)) as old:
                    old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                aside = target.with_name(f"{target.name}.ersatt-{stamp}")
                os.link(target, aside)
                os.chmod(aside, 0o600)
            os.replace(incoming, target)
            for suffix in ("-wal", "-shm"):
                target.with_name(target.name + suffix).unlink(missing_ok=True)
            return aside
        finally:
            release_run_lock(lock)
