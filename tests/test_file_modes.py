"""Everything the bot's process writes is readable by its own user only (umask 077).

Run as a real `enkatbot` process: the data folder, the database, its -wal, the secret file and
the QR codes (which hold live link tokens) are all created by the command itself.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

pytestmark = pytest.mark.storage

ROOT = Path(__file__).resolve().parent.parent


def mode(path: Path) -> int:
    """Return the permission bits of `path`."""
    return stat.S_IMODE(path.stat().st_mode)


def enkatbot(*args: str, cwd: Path) -> str:
    """Run the enkatbot command with the umask a default login shell has; return stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENKATBOT_", "TELEGRAM_"))}
    env["TELEGRAM_BOT_USERNAME"] = "finsam_test_bot"
    done = subprocess.run(
        [sys.executable, "-m", "enkatbot", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_data_folder_database_secret_wal_and_qr_codes_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = data / "enkatbot.db"
    enkatbot("--db", str(db), "insats", "add", "Steg framåt", cwd=tmp_path)
    qr = tmp_path / "qr"
    out = enkatbot(
        "--db", str(db), "link", "create", "--insats", "Steg framåt",
        "--enkat", "deltagare-avslut", "--antal", "2", "--qr", str(qr), cwd=tmp_path,
    )
    assert out.count("start=") == 2
    pngs = sorted(qr.glob("*.png"))
    assert len(pngs) == 2
    # Hold a reader open so the -wal is still there to be looked at.
    with closing(sqlite3.connect(db)) as reader:
        reader.execute("SELECT count(*) FROM link").fetchone()
        wal = db.with_name(db.name + "-wal")
        files = [db, db.with_name(db.name + ".secret"), *pngs]
        files += [wal] if wal.exists() else []
        for path in files:
            assert mode(path) & 0o077 == 0, f"{path.name} is {oct(mode(path))}"
    for folder in (data, qr):
        assert mode(folder) & 0o077 == 0, f"{folder.name}/ is {oct(mode(folder))}"
