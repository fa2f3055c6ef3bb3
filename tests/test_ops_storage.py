"""Backup, restore, gallring and the audit log on real SQLite files, through the CLI in-process.

Byte scans read the database file (and its -wal) as raw bytes: what was deleted must not be
there in any form, not even in free pages.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from enkatbot.main import main
from storage import StorageError, Store, WriteFailed
from storage.backup import (
    DatabaseInUse,
    backup_database,
    hold_run_lock,
    release_run_lock,
    restore_database,
)
from storage.schema import MIGRATIONS

pytestmark = pytest.mark.storage

INSATS = "Steg framåt"
FREE_TEXT = "deltagare-avslut-14"


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("ENKATBOT_", "TELEGRAM_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "finsam_test_bot")


def cli(db: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `enkatbot --db DB ARGS` in-process; return (exit code, stdout, stderr)."""
    code = main(["--db", str(db), *args])
    out, err = capsys.readouterr()
    return code, out, err


def raw_bytes(db: Path) -> bytes:
    """Return the database file and its -wal, as an attacker holding the files would read them."""
    data = db.read_bytes()
    wal = db.with_name(db.name + "-wal")
    if wal.exists():
        data += wal.read_bytes()
    return data


def submit(store: Store, chat: int, text: str, month_day: datetime | None = None) -> None:
    """Answer one survey with `text` as the free-text answer and submit it."""
    token = store.create_links(INSATS, "deltagare-avslut")[0]
    day = (month_day or datetime.now(UTC)).date()
    store.start_session(chat, store.check_link(token), 1, today=day)
    store.save_progress(chat, {"deltagare-avslut-1": "4", FREE_TEXT: text}, None, today=day)
    assert store.finish_session(chat, today=day)


def unfinished(store: Store, chat: int, text: str) -> str:
    """Start a survey, answer part of it with `text`, and leave it; return its link token."""
    token = store.create_links(INSATS, "deltagare-avslut")[0]
    store.start_session(chat, store.check_link(token), 1)
    store.save_progress(chat, {"deltagare-avslut-1": "2", FREE_TEXT: text}, FREE_TEXT)
    return token


@pytest.fixture
def filled(db_path: Path) -> tuple[Path, list[str]]:
    """A database with two submitted and two unfinished surveys; return it and the tokens."""
    store = Store(db_path)
    store.add_insats(INSATS)
    submit(store, 101, "InskickatSvarAlfa")
    submit(store, 102, "InskickatSvarBeta")
    tokens = [unfinished(store, 201, "PaborjatSvarGamma"), unfinished(store, 202, "PaborjatDelta")]
    store.close()
    return db_path, tokens


# -- backup ------------------------------------------------------------------------------------


def test_backup_holds_what_a_restore_needs_and_no_unfinished_survey(filled, tmp_path):
    db, tokens = filled
    path = backup_database(db, tmp_path / "kopior")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not path.with_name(path.name + "-wal").exists()
    data = path.read_bytes()
    assert b"InskickatSvarAlfa" in data and b"InskickatSvarBeta" in data
    assert b"PaborjatSvarGamma" not in data and b"PaborjatDelta" not in data
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM session").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM reminder").fetchone() == (0,)
        assert conn.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
    assert not any(p.name.endswith(".secret") for p in path.parent.iterdir())
    # The live database is untouched: its unfinished surveys go on.
    live = Store(db)
    assert live.get_session(201) is not None
    live.close()
    # In the copy the unfinished participants' links open again.
    restored = Store(path)
    for token in tokens:
        assert restored.check_link(token).problem is None
    assert len(restored.response_frames()[0]) == 2
    restored.close()


def test_backups_never_overwrite_each_other(filled, tmp_path):
    db, _ = filled
    when = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)
    first = backup_database(db, tmp_path / "kopior", now=when)
    before = first.read_bytes()
    second = backup_database(db, tmp_path / "kopior", now=when)
    third = backup_database(db, tmp_path / "kopior", now=when)
    assert len({first, second, third}) == 3
    assert first.name == "enkatbot-2026-03-01T023000Z.db"
    assert first.read_bytes() == before


def test_backup_script_uses_the_command(filled, tmp_path):
    db, _ = filled
    script = Path(__file__).resolve().parent.parent / "deploy" / "backup.sh"
    # ENKATBOT_HOME is the clone whose .venv holds the command: this worktree.
    env = {**os.environ, "ENKATBOT_HOME": str(script.parent.parent)}
    done = subprocess.run(["bash", str(script), str(db), str(tmp_path / "k")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    made = [p for p in (tmp_path / "k").iterdir()]
    assert len(made) == 1 and b"PaborjatSvarGamma" not in made[0].read_bytes()
    again = subprocess.run(["bash", str(script), str(db), str(tmp_path / "k")], env=env,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and len(list((tmp_path / "k").iterdir())) == 2


# -- restore -----------------------------------------------------------------------------------


def test_restore_replaces_the_database_and_keeps_the_old_aside(filled, tmp_path, capsys):
    db, tokens = filled
    copy = backup_database(db, tmp_path / "kopior")
    store = Store(db)
    submit(store, 103, "EfterKopianGjort")
    store.close()
    code, out, err = cli(db, "restore", str(copy), capsys=capsys)
    assert code == 0, err
    assert "återställd" in out and "öppna sin länk igen" in out
    store = Store(db)
    assert len(store.response_frames()[0]) == 2
    assert store.get_session(201) is None
    assert all(store.check_link(tok).problem is None for tok in tokens)
    assert [e.action for e in store.audit_entries()][-1] == "aterstallning"
    store.close()
    aside = [p for p in db.parent.iterdir() if ".ersatt-" in p.name]
    assert len(aside) == 1 and stat.S_IMODE(aside[0].stat().st_mode) == 0o600


def test_restore_refuses_while_a_bot_holds_the_database(filled, tmp_path, capsys):
    db, _ = filled
    copy = backup_database(db, tmp_path / "kopior")
    before = db.read_bytes()
    lock = hold_run_lock(db)
    try:
        with pytest.raises(DatabaseInUse):
            restore_database(copy, db)
        code, _, err = cli(db, "restore", str(copy), capsys=capsys)
    finally:
        release_run_lock(lock)
    assert code == 2 and "stoppa den först" in err and "systemctl stop enkatbot" in err
    assert db.read_bytes() == before


@pytest.mark.parametrize("kind", ["garbage", "newer", "foreign", "corrupt", "missing"])
def test_restore_checks_the_copy_before_replacing_anything(filled, tmp_path, capsys, kind):
    db, _ = filled
    bad = tmp_path / "bad.db"
    if kind == "garbage":
        bad.write_bytes(os.urandom(8192))
    elif kind == "newer":
        bad = backup_database(db, tmp_path / "kopior")
        with closing(sqlite3.connect(bad)) as conn:
            conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    elif kind == "foreign":
        with closing(sqlite3.connect(bad)) as conn:
            conn.execute("CREATE TABLE t (x)")
    elif kind == "corrupt":
        good = backup_database(db, tmp_path / "kopior")
        data = bytearray(good.read_bytes())
        # Every b-tree page but the first gets a broken page header.
        page = int.from_bytes(data[16:18], "big")
        for offset in range(page, len(data), page):
            data[offset:offset + 8] = b"\x0d\xff\xff\xff\xff\xff\xff\xff"
        bad.write_bytes(bytes(data))
    before = db.read_bytes()
    code, _, err = cli(db, "restore", str(bad), capsys=capsys)
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert db.read_bytes() == before
    assert not [p for p in db.parent.iterdir() if ".ersatt-" in p.name or "aterstalls" in p.name]


# -- gallring ----------------------------------------------------------------------------------


def test_gallring_leaves_no_trace_of_deleted_answers(db_path, capsys):
    store = Store(db_path)
    store.add_insats(INSATS)
    old = [f"GammaltSvarNummer{n}" for n in range(6)]
    for n, text in enumerate(old):
        submit(store, 300 + n, text, datetime(2019, 3 + n % 2, 10, tzinfo=UTC))
    submit(store, 400, "NyttSvarSomBehalls", datetime(2024, 5, 10, tzinfo=UTC))
    unfinished(store, 500, "PagaendeSvarOrort")
    store.close()
    assert all(t.encode() in raw_bytes(db_path) for t in old)

    code, out, _ = cli(db_path, "gallra", "--fore", "2020-01", "--torrkorning", capsys=capsys)
    assert code == 0 and "Torrkörning" in out and "6 svar" in out
    assert all(t.encode() in raw_bytes(db_path) for t in old), "a dry run deletes nothing"

    code, out, _ = cli(db_path, "gallra", "--fore", "2020-01", capsys=capsys)
    assert code == 0, out
    assert "deltagare-avslut 2019-03: 3" in out and "deltagare-avslut 2019-04: 3" in out
    data = raw_bytes(db_path)
    for text in old:
        assert text.encode() not in data, f"{text} is still in the file"
    assert b"NyttSvarSomBehalls" in data and b"PagaendeSvarOrort" in data
    store = Store(db_path)
    assert store.response_frames()[0]["month"].tolist() == ["2024-05"]
    assert store.get_session(500) is not None
    entry = store.audit_entries()[-1]
    store.close()
    assert entry.action == "gallring" and entry.actor == "kommandoraden"
    assert "--fore 2020-01" in entry.detail and "6 svar" in entry.detail
    assert "historik behållen" in entry.detail
    assert not any(t in entry.detail for t in old)


def test_gallring_by_setting_and_history_kept_unless_asked(db_path, capsys, monkeypatch):
    store = Store(db_path)
    store.add_insats(INSATS)
    submit(store, 1, "x", datetime(2015, 6, 1, tzinfo=UTC))
    if "historik" not in store.db.table_names():
        store.db.execute("CREATE TABLE historik (ar INTEGER NOT NULL)")
    cols = list(store.db.execute("PRAGMA table_info(historik)"))
    row = {c[1]: (2014 if c[1] == "ar" else (0 if "INT" in (c[2] or "").upper() else "x"))
           for c in cols if c[1] != "id"}
    store.db["historik"].insert(row)
    store.close()
    code, _, err = cli(db_path, "gallra", capsys=capsys)
    assert code == 2 and "ENKATBOT_GALLRING_AR" in err
    monkeypatch.setenv("ENKATBOT_GALLRING_AR", "5")
    code, out, _ = cli(db_path, "gallra", capsys=capsys)
    assert code == 0 and "ENKATBOT_GALLRING_AR=5" in out and "1 svar" in out
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT count(*) FROM historik").fetchone() == (1,)
    code, out, _ = cli(db_path, "gallra", "--historik", capsys=capsys)
    assert code == 0 and "historik raderad för mätåren 2014" in out
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT count(*) FROM historik").fetchone() == (0,)


def test_gallring_rejects_a_malformed_month(db_path, capsys):
    Store(db_path).close()
    code, _, err = cli(db_path, "gallra", "--fore", "2020-13", capsys=capsys)
    assert code == 2 and "ÅÅÅÅ-MM" in err


# -- the audit log ------------------------------------------------------------------------------


def test_every_command_line_action_is_in_the_audit_log(db_path, tmp_path, capsys):
    assert cli(db_path, "insats", "add", INSATS, capsys=capsys)[0] == 0
    code, out, _ = cli(db_path, "link", "create", "--insats", INSATS, "--enkat",
                       "deltagare-avslut", "--antal", "3", capsys=capsys)
    assert code == 0
    token = out.split()[0].rsplit("=", 1)[1]
    # "--": one token in 64 begins with "-", which argparse would read as an option.
    assert cli(db_path, "link", "withdraw", "--", token, capsys=capsys)[0] == 0
    assert cli(db_path, "user", "add", "555", "--roll", "staff", capsys=capsys)[0] == 0
    assert cli(db_path, "user", "remove", "555", capsys=capsys)[0] == 0
    assert cli(db_path, "gallra", "--fore", "2000-01", capsys=capsys)[0] == 0
    copy = backup_database(db_path, tmp_path / "kopior")
    assert cli(db_path, "restore", str(copy), capsys=capsys)[0] == 0
    code, out, _ = cli(db_path, "logg", capsys=capsys)
    assert code == 0
    lines = out.strip().splitlines()
    actions = [line.split("\t")[2] for line in lines]
    assert actions == ["insats_skapad", "lankar_skapade", "lank_aterkallad", "roll_given",
                       "roll_borttagen", "gallring", "aterstallning"]
    assert all(line.split("\t")[1] == "kommandoraden" for line in lines)
    assert "3 länkar" in lines[1] and token not in out
    assert "555 fick rollen staff" in lines[3]
    code, out, _ = cli(db_path, "logg", "--fran", "2999-01-01", capsys=capsys)
    assert code == 0 and out.strip() == "Loggen är tom."
    code, _, err = cli(db_path, "logg", "--fran", "igår", capsys=capsys)
    assert code == 2 and "ÅÅÅÅ-MM-DD" in err


def test_participants_are_never_in_the_audit_log(filled):
    db, _ = filled
    store = Store(db)
    assert store.audit_entries() == []
    store.close()


def test_unknown_audit_action_is_refused(store):
    with pytest.raises(StorageError):
        store.log_action("kommandoraden", "svar_sparat")


# -- a failed write --------------------------------------------------------------------------


def test_a_full_disk_fails_the_write_and_the_store_recovers_by_itself(tmp_path):
    mnt = tmp_path / "liten"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True
    ).returncode:
        pytest.skip("needs root and a tmpfs mount to fill a disk for real")
    try:
        store = Store(mnt / "enkatbot.db")
        store.add_insats(INSATS)
        token = store.create_links(INSATS, "deltagare-avslut")[0]
        store.start_session(7, store.check_link(token), 1)
        store.save_progress(7, {"deltagare-avslut-1": "3"}, "deltagare-avslut-2")
        filler = mnt / "fyllnad"
        with open(filler, "wb") as fh:
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError:
                pass
        big = "x" * 400_000
        with pytest.raises(WriteFailed):
            store.save_progress(7, {"deltagare-avslut-1": "3", FREE_TEXT: big}, None)
        assert FREE_TEXT not in store.get_session(7).answers
        filler.unlink()
        store.save_progress(7, {"deltagare-avslut-1": "3", FREE_TEXT: "kort"}, None)
        assert store.get_session(7).answers[FREE_TEXT] == "kort"
        store.close()
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
