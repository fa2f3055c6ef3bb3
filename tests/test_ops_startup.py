"""Start-up checks through the real `enkatbot` command (a subprocess) and the fake Bot API.

Each problem must come out as one Swedish sentence on stderr with a non-zero exit status, no
traceback, and never the token's secret part.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from enkatbot import texts as t
from storage import Store
from storage.backup import hold_run_lock, release_run_lock
from tests.botapi import FakeBotAPI
from tests.e2e import ROOT

pytestmark = pytest.mark.e2e

TOKEN = "7300000001:AAE2eHemligFinsamToken_xyz"
SECRET = TOKEN.split(":", 1)[1]


def enkatbot(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m enkatbot ARGS` in `cwd` with only `env` as the bot's settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ENKATBOT_", "TELEGRAM_"))}
    clean.update(env)
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "enkatbot", *args],
        cwd=cwd, env=clean, capture_output=True, text=True, timeout=90,
    )


def assert_one_sentence(done: subprocess.CompletedProcess[str], expected: str) -> None:
    """Assert a failed run said exactly `expected`, as one line, with no traceback or token."""
    assert done.returncode != 0, done.stdout + done.stderr
    both = done.stdout + done.stderr
    assert "Traceback" not in both, both
    assert SECRET not in both
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [f"enkatbot: {expected}"], done.stderr


@pytest.fixture
def api():
    with FakeBotAPI(token=TOKEN) as server:
        yield server


def test_malformed_token(tmp_path):
    done = enkatbot(tmp_path, "run", TELEGRAM_BOT_TOKEN="7300000001 AAE2eHemlig",
                    ENKATBOT_DB=str(tmp_path / "db" / "enkatbot.db"))
    assert_one_sentence(done, t.TOKEN_MALFORMED)
    assert done.returncode == 2
    assert not (tmp_path / "db").exists(), "a wrong token must not leave a database behind"


def test_token_telegram_rejects(tmp_path, api):
    wrong = "7300000001:AAE2eNagonAnnanTokenHeltFel"
    done = enkatbot(tmp_path, "run", TELEGRAM_BOT_TOKEN=wrong, TELEGRAM_API_URL=api.base_url,
                    ENKATBOT_DB=str(tmp_path / "enkatbot.db"), ENKATBOT_ADMINS="1")
    assert_one_sentence(done, t.TOKEN_REJECTED)
    assert done.returncode == 2
    assert wrong.split(":")[1] not in done.stdout + done.stderr
    assert api.calls_of("getMe"), "the check must really ask the Bot API"


def test_bot_api_down(tmp_path):
    with FakeBotAPI(token=TOKEN) as gone:
        url = gone.base_url
    done = enkatbot(tmp_path, "run", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=url,
                    ENKATBOT_DB=str(tmp_path / "enkatbot.db"), ENKATBOT_ADMINS="1")
    assert_one_sentence(done, t.TELEGRAM_UNREACHABLE.format(url=url))
    assert done.returncode == 3, "Telegram being down may pass: systemd restarts on 3"


def test_folder_that_cannot_be_written(tmp_path, api):
    # Root may write anywhere, so a folder made unwritable by chmod would not fail for root;
    # a path whose "folder" is a file fails for everyone.
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    db = blocker / "enkatbot.db"
    done = enkatbot(tmp_path, "run", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.base_url,
                    ENKATBOT_DB=str(db), ENKATBOT_ADMINS="1")
    assert_one_sentence(done, t.FOLDER_NOT_WRITABLE.format(folder=blocker))
    assert done.returncode == 2


def test_database_from_a_newer_version(tmp_path, api):
    db = tmp_path / "enkatbot.db"
    Store(db).close()
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA user_version = 999")
    done = enkatbot(tmp_path, "run", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.base_url,
                    ENKATBOT_DB=str(db), ENKATBOT_ADMINS="1")
    assert done.returncode == 2
    assert_one_sentence(done, done.stderr.strip().removeprefix("enkatbot: "))
    assert "nyare version" in done.stderr and "uppgradera" in done.stderr


def test_a_second_bot_on_the_same_database_is_refused(tmp_path, api):
    db = tmp_path / "enkatbot.db"
    Store(db).close()
    lock = hold_run_lock(db)
    try:
        done = enkatbot(tmp_path, "run", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.base_url,
                        ENKATBOT_DB=str(db), ENKATBOT_ADMINS="1")
    finally:
        release_run_lock(lock)
    assert done.returncode == 2
    assert "kör redan" in done.stderr and "Traceback" not in done.stderr


def mounted_tmpfs(path: Path, options: str) -> bool:
    """Mount a tmpfs at `path` (root only); return False when that is not possible here."""
    path.mkdir(exist_ok=True)
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_read_only_database_is_refused_at_start(tmp_path, api):
    mnt = tmp_path / "ro"
    if not mounted_tmpfs(mnt, "size=4m"):
        pytest.skip("needs root and a tmpfs mount to make a really read-only file system")
    try:
        db = mnt / "enkatbot.db"
        store = Store(db)
        store.add_insats("Steg framåt")
        store.close()
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        done = enkatbot(tmp_path, "run", TELEGRAM_BOT_TOKEN=TOKEN,
                        TELEGRAM_API_URL=api.base_url, ENKATBOT_DB=str(db), ENKATBOT_ADMINS="1")
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and SECRET not in done.stderr
    assert done.stderr.strip() in {
        f"enkatbot: {t.FOLDER_NOT_WRITABLE.format(folder=mnt)}",
        f"enkatbot: {t.DB_NOT_WRITABLE.format(path=db)}",
    }, done.stderr


def test_kontroll_reports_what_is_in_force(tmp_path, api):
    db = tmp_path / "var" / "enkatbot.db"
    db.parent.mkdir()
    store = Store(db)
    store.add_insats("Steg framåt")
    store.add_insats("Arbetsträning")
    store.create_links("Steg framåt", "deltagare-avslut", count=3)
    store.close()
    done = enkatbot(tmp_path, "kontroll", TELEGRAM_BOT_TOKEN=TOKEN,
                    TELEGRAM_API_URL=api.base_url, ENKATBOT_DB=str(db),
                    ENKATBOT_FORBUND="Samordningsförbundet Exempel",
                    ENKATBOT_RAPPORT_DAG="3", ENKATBOT_RAPPORT_TIMME="9")
    out = done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    assert SECRET not in out + done.stderr
    assert "TELEGRAM_BOT_TOKEN = 7300000001:" in out
    assert f"Databas: {db}" in out
    assert "Schemaversion: " in out
    assert "Insatser: 2" in out and "Öppna länkar: 3" in out
    assert "Påbörjade enkäter: 0" in out and "Svar: 0" in out
    assert "ENKATBOT_FORBUND = Samordningsförbundet Exempel" in out
    assert "Nästa månadssammanfattning: " in out and "-03 09:00 (Europe/Stockholm)" in out
    assert "Telegram: svarar, boten heter @finsam_test_bot" in out
    # No administrator: a warning with the command that adds one, but not a failure.
    assert t.NO_ADMIN in out and "enkatbot user add" in t.NO_ADMIN


def test_run_warns_when_no_administrator_is_configured(tmp_path, api):
    db = tmp_path / "enkatbot.db"
    # startup_checks takes the run lock for the process; a child process does it here.
    code = (
        "import sys; from bot.config import Settings; from pathlib import Path;"
        "from enkatbot.kontroll import startup_checks;"
        f"startup_checks(Settings(token={TOKEN!r}, db_path=Path({str(db)!r}),"
        f" api_url={api.base_url!r})).close()"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=90)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == t.NO_ADMIN
    store = Store(db)
    store.add_user(42, "admin")
    store.close()
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=90)
    assert done.returncode == 0 and done.stderr == "", done.stderr


@pytest.mark.parametrize(
    "args",
    [("insats", "list"), ("user", "list"), ("logg",), ("gallra", "--fore", "2020-01"),
     ("backup", "kopior"), ("link", "withdraw", "abc"), ("kontroll", "--halsa")],
)
def test_read_only_commands_never_create_a_database(tmp_path, args):
    done = enkatbot(tmp_path, *args)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert str(Path("data") / "enkatbot.db") in done.stderr and "finns inte" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "nothing may be created"
