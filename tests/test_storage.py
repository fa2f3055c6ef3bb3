"""Storage against a real SQLite file: migrations, links, sessions, reminders and anonymity."""

from __future__ import annotations

import itertools
import os
import sqlite3
import stat
import struct
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from bot.survey import SurveyService
from enkatbot.main import main as cli_main
from questionnaires import engine, flow
from questionnaires.model import get
from storage import StorageError, Store
from storage.schema import MIGRATIONS
from tests.journey import Journey

pytestmark = pytest.mark.storage

INSATS = "Steget vidare"
D0 = date(2024, 3, 11)


def _link(store: Store, enkat: str = "deltagare-avslut", **kw) -> str:
    if store.get_insats(INSATS) is None:
        store.add_insats(INSATS)
    return store.create_links(INSATS, enkat, **kw)[0]


def _start(store: Store, chat_id: int, token: str | None = None, today: date = D0):
    token = token or _link(store)
    check = store.check_link(token)
    assert check.problem is None
    return store.start_session(chat_id, check, 1, today=today)


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


# -- schema and migrations ---------------------------------------------------------------------


def test_a_new_file_gets_the_whole_schema(db_path):
    store = Store(db_path)
    assert store.schema_version == len(MIGRATIONS)
    tables = set(store.db.table_names())
    assert {"insats", "link", "user", "response", "answer", "session", "reminder",
            "report_sent"} <= tables
    store.close()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_an_older_file_is_upgraded_in_place_and_keeps_its_data(db_path):
    conn = sqlite3.connect(db_path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO insats (name, created) VALUES ('Gamla insatsen', '2023-01-05')")
    conn.commit()
    conn.close()

    store = Store(db_path)
    assert store.schema_version == len(MIGRATIONS)
    assert "report_sent" in store.db.table_names()
    assert [i.name for i in store.list_insatser()] == ["Gamla insatsen"]
    store.mark_report_sent(42, "2024-02")  # the new table works
    assert store.report_was_sent(42, "2024-02")
    store.close()

    again = Store(db_path)  # opening an up-to-date file changes nothing
    assert again.schema_version == len(MIGRATIONS)
    assert [i.name for i in again.list_insatser()] == ["Gamla insatsen"]
    again.close()


def test_a_migration_with_semicolons_in_strings_and_triggers_is_applied_whole(
    db_path, monkeypatch
):
    extra = """
    CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
    INSERT INTO note (text) VALUES ('första; andra');
    CREATE TRIGGER note_copy AFTER INSERT ON note BEGIN
        INSERT INTO note (text) SELECT 'kopia; ' || NEW.text WHERE NEW.text NOT LIKE 'kopia;%';
        DELETE FROM note WHERE text = 'bort';
    END;
    """
    monkeypatch.setattr("storage.base.MIGRATIONS", (*MIGRATIONS, extra))
    store = Store(db_path)
    assert store.schema_version == len(MIGRATIONS) + 1
    store.db.execute("INSERT INTO note (text) VALUES ('ny')")
    texts = [r["text"] for r in store.db.query("SELECT text FROM note ORDER BY id")]
    assert texts == ["första; andra", "ny", "kopia; ny"]
    store.close()


def test_a_file_from_a_newer_version_is_refused(db_path, capsys):
    newer = len(MIGRATIONS) + 1
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {newer}")
    conn.close()
    with pytest.raises(StorageError) as err:
        Store(db_path)
    assert err.value.problem == "newer_schema"
    assert err.value.details == {"path": db_path, "version": newer}
    # What the person starting the program reads: one Swedish line naming the file and schema.
    assert cli_main(["--db", str(db_path), "insats", "list"]) == 2
    msg = capsys.readouterr().err
    assert msg.startswith("enkatbot: ") and msg.count("\n") == 1
    assert "nyare version" in msg
    assert str(newer) in msg
    assert db_path.name in msg
    with sqlite3.connect(db_path) as conn:  # and the file is left alone
        assert conn.execute("PRAGMA user_version").fetchone()[0] == newer


def test_wal_foreign_keys_and_secure_delete_are_on(store):
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.db.execute("PRAGMA secure_delete").fetchone()[0] == 1
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute(
            "INSERT INTO response (id, enkat, version, insats_id, month, status) "
            "VALUES ('x', 'personal', 1, 999, '2024-03', 'complete')"
        )


def test_the_secret_is_private_and_stable_across_reopen(db_path):
    first = Store(db_path)
    key = first.chat_key(987654321)
    first.close()
    mode = stat.S_IMODE(os.stat(first.secret_path).st_mode)
    assert mode == 0o600
    second = Store(db_path)
    assert second.chat_key(987654321) == key
    assert second.chat_key(987654322) != key
    second.close()


# -- links -------------------------------------------------------------------------------------


def test_a_link_is_claimed_when_the_survey_starts(store):
    token = _link(store)
    service = SurveyService(store)
    anna = Journey(service, 111)
    assert anna.open(token) == "started"
    assert anna.q.id == "deltagare-avslut"
    assert store.check_link(token).problem == "used"
    assert Journey(service, 222).open(token) == "used"
    assert anna.open(token) == "resumed"


def test_an_expired_link(store):
    token = _link(store, valid_days=1, now=datetime.now(UTC) - timedelta(days=2))
    assert store.check_link(token).problem == "expired"
    assert Journey(SurveyService(store), 111).open(token) == "expired"


def test_a_withdrawn_link(store):
    token = _link(store)
    assert store.withdraw_link(token)
    assert Journey(SurveyService(store), 111).open(token) == "withdrawn"


def test_an_unknown_link(store):
    _link(store)
    assert Journey(SurveyService(store), 111).open("inte-en-riktig-kod") == "unknown"
    assert not store.withdraw_link("inte-en-riktig-kod")


def test_a_link_with_several_uses(store):
    token = _link(store, uses=2)
    service = SurveyService(store)
    assert Journey(service, 111).open(token) == "started"
    assert Journey(service, 222).open(token) == "started"
    assert Journey(service, 333).open(token) == "used"


def test_discarding_frees_the_link(store):
    token = _link(store)
    service = SurveyService(store)
    anna = Journey(service, 111)
    anna.open(token)
    anna.begin()
    anna.answer("kvinna")
    assert anna.delete()
    assert store.get_session(111) is None
    assert not list(store.db.query("SELECT * FROM response"))
    assert not list(store.db.query("SELECT * FROM answer"))
    assert Journey(service, 222).open(token) == "started"
    assert not Journey(service, 333).delete()


# -- sessions, reminders, expiry ---------------------------------------------------------------


def test_submitting_deletes_the_session_and_the_reminder(store):
    _start(store, 111)
    store.save_progress(111, {"avslut-kon": "man"}, "avslut-1", today=D0)
    assert store.db["reminder"].count == 1
    assert store.finish_session(111, today=D0)
    assert store.db["session"].count == 0
    assert store.db["reminder"].count == 0
    responses, answers = store.response_frames()
    assert list(responses["status"]) == ["complete"]
    assert list(answers["item_id"]) == ["avslut-kon"]
    assert not store.finish_session(111, today=D0)  # a second submit finds nothing


def test_saving_progress_mirrors_the_engine_answers(store):
    _start(store, 111)
    store.save_progress(111, {"avslut-8": "ja", "avslut-9": "alltid"}, "avslut-10", today=D0)
    store.save_progress(111, {"avslut-8": "nej"}, "avslut-fritext-1", today=D0)
    session = store.get_session(111)
    assert session is not None
    assert dict(session.answers) == {"avslut-8": "nej"}
    assert session.current_item == "avslut-fritext-1"


def test_expiry_keeps_answers_as_partial_and_deletes_the_session(store):
    _start(store, 111)
    store.save_progress(111, {"avslut-kon": "kvinna", "avslut-1": "ofta"}, "avslut-2", today=D0)
    _start(store, 222)
    store.save_progress(222, {"avslut-kon": "man"}, "avslut-1", today=D0 + timedelta(days=10))

    assert store.expire_sessions(14, today=D0 + timedelta(days=13)) == 0
    assert store.expire_sessions(14, today=D0 + timedelta(days=14)) == 1
    assert store.get_session(111) is None
    assert store.get_session(222) is not None  # active more recently
    responses, answers = store.response_frames()
    assert list(responses["status"]) == ["partial"]
    rid = responses["response_id"][0]
    assert dict(zip(answers["item_id"], answers["value"], strict=True)) == {
        "avslut-kon": "kvinna", "avslut-1": "ofta"}
    assert set(answers["response_id"]) == {rid}


def test_expiry_deletes_an_empty_session_and_frees_its_link(store):
    token = _link(store)
    _start(store, 111, token)
    assert store.expire_sessions(14, today=D0 + timedelta(days=30)) == 1
    assert store.get_session(111) is None
    assert store.db["response"].count == 0
    assert store.check_link(token).problem is None  # as the docstring promises


def test_a_reminder_is_due_once_after_quiet_days(store):
    _start(store, 111)
    store.save_progress(111, {"avslut-kon": "man"}, "avslut-1", today=D0)
    assert store.due_reminders(2, today=D0 + timedelta(days=1)) == []
    assert store.due_reminders(2, today=D0 + timedelta(days=2)) == [111]
    assert store.due_reminders(2, today=D0 + timedelta(days=3)) == []
    # Answering again starts a new quiet period.
    store.save_progress(111, {"avslut-kon": "man", "avslut-1": "ofta"}, "avslut-2",
                        today=D0 + timedelta(days=5))
    assert store.due_reminders(2, today=D0 + timedelta(days=7)) == [111]


def test_no_reminder_for_a_submitted_survey(store):
    _start(store, 111)
    store.save_progress(111, {"avslut-kon": "man"}, "avslut-1", today=D0)
    store.finish_session(111, today=D0)
    assert store.due_reminders(2, today=D0 + timedelta(days=10)) == []


def test_response_frames_leave_out_unfinished_surveys(store):
    _start(store, 111)
    store.save_progress(111, {"avslut-kon": "man"}, "avslut-1", today=D0)
    _start(store, 222)
    store.save_progress(222, {"avslut-kon": "kvinna", "avslut-1": None}, "avslut-2", today=D0)
    store.finish_session(222, today=D0)
    responses, answers = store.response_frames()
    assert len(responses) == 1
    assert list(responses["insats"]) == [INSATS]
    assert list(responses["month"]) == ["2024-03"]
    assert sorted(answers["item_id"]) == ["avslut-1", "avslut-kon"]
    skipped = answers[answers["item_id"] == "avslut-1"]["value"].iloc[0]
    assert pd.isna(skipped)  # a skipped question is a missing value, not a text


# -- restart -----------------------------------------------------------------------------------


def test_a_restart_resumes_at_the_right_question(db_path):
    store = Store(db_path)
    service = SurveyService(store)
    token = _link(store)
    person = Journey(service, 555)
    person.open(token)
    person.begin()
    for value in ("annat", "alltid", "sallan", "vet_inte"):
        person.answer(value)
    person.back()  # the participant went back to question 3, then stopped
    assert person.item == "avslut-3"
    del service, person  # the process dies: nothing is kept in memory

    restarted = SurveyService(Store(db_path))
    state = restarted.load_flow(555)
    assert state is not None
    assert state.stage is flow.Stage.QUESTION and state.survey.current == "avslut-3"
    assert engine.progress(state.q, state.survey) == engine.Progress(4, 14)
    assert dict(state.survey.answers) == {
        "avslut-kon": "annat", "avslut-1": "alltid", "avslut-2": "sallan", "avslut-3": "vet_inte"}
    assert Journey(restarted, 555).open(token) == "resumed"
    restarted.store.close()
    store.close()


# -- anonymity ---------------------------------------------------------------------------------

CHAT_ID = 987654321
USER_ID = 5550001234
FIRST_NAME = "Zebulon"


def _varint(value: int) -> bytes:
    """Return SQLite's varint encoding (how a rowid is stored in a b-tree cell)."""
    groups = []
    while True:
        groups.append(value & 0x7F)
        value >>= 7
        if not value:
            break
    groups.reverse()
    return bytes([g | 0x80 for g in groups[:-1]] + [groups[-1]])


NEEDLES = {
    "chat id as text": str(CHAT_ID).encode(),
    "chat id as 4-byte integer": struct.pack(">I", CHAT_ID),
    "chat id as 8-byte integer": struct.pack(">Q", CHAT_ID),
    "chat id as rowid varint": _varint(CHAT_ID),
    "user id as text": str(USER_ID).encode(),
    "user id as 6-byte integer": struct.pack(">Q", USER_ID)[2:],
    "user id as 8-byte integer": struct.pack(">Q", USER_ID),
    "first name": FIRST_NAME.encode(),
    "first name (UTF-16)": FIRST_NAME.encode("utf-16-le"),
}


def _leaks(folder) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file():
            data = path.read_bytes()
            hits = [name for name, needle in NEEDLES.items() if needle in data]
            if hits:
                found[path.name] = hits
    return found


def test_a_submitted_response_leaves_no_trace_of_who_answered(db_path):
    """THE BYTE-SCAN TEST: nothing in the database folder can tie the answers to the chat."""
    store = Store(db_path)
    # The update from Telegram carried chat id, user id and first name; only the chat id
    # is passed on, as the bot does.
    update = {"chat_id": CHAT_ID, "user_id": USER_ID, "first_name": FIRST_NAME}
    service = SurveyService(store)  # with reminders, so the reminder row is exercised too
    token = _link(store)
    person = Journey(service, update["chat_id"])
    person.open(token)
    person.begin()
    texts = itertools.cycle(["Att någon ringde mig på 070-123 45 67 och lyssnade.",
                  "Mer tid med min handläggare, 070-123 45 67."])
    for _ in range(40):
        if person.item is None:
            break
        item = person.q.item(person.item)
        if item.scale is not None:
            value = "ja" if item.id == "avslut-8" else item.scale.options[1].value
        else:
            value = next(texts)
        person.answer(value)
    assert person.item is None, "the questionnaire did not end"

    # Control: while the survey is unfinished the chat is known (to resume and remind), by
    # its key; the chat id itself is stored only sealed in the reminder. A scan that found
    # nothing here would prove nothing below.
    store.checkpoint()
    key = store.chat_key(update["chat_id"]).encode()
    assert key in db_path.read_bytes()
    assert _leaks(db_path.parent) == {}

    assert person.submit()
    store.close()

    # Every file in the folder: the database, its -wal and -shm if left, the secret.
    assert db_path.exists()
    assert _leaks(db_path.parent) == {}
    assert all(key not in p.read_bytes() for p in db_path.parent.iterdir())
    with sqlite3.connect(db_path) as conn:  # and the answers are all there
        n = conn.execute("SELECT count(*) FROM answer").fetchone()[0]
        assert n == len(get("deltagare-avslut").items)
        texts = [r[0] for r in conn.execute("SELECT value FROM answer WHERE item_id LIKE "
                                            "'avslut-fritext-%'")]
        assert texts and all("[telefonnummer]" in t for t in texts)


def test_response_and_answer_tables_hold_nothing_that_identifies(db_path):
    Store(db_path).close()
    with sqlite3.connect(db_path) as conn:
        assert _columns(conn, "response") == ["id", "enkat", "version", "insats_id", "month",
                                              "status"]
        assert _columns(conn, "answer") == ["response_id", "item_id", "value"]
        for table in ("response", "answer"):
            # WITHOUT ROWID: no hidden insertion order that says who answered when.
            with pytest.raises(sqlite3.OperationalError, match="rowid"):
                conn.execute(f"SELECT rowid FROM {table}")
            sql = conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table]
            ).fetchone()[0]
            assert "WITHOUT ROWID" in sql.upper()


def test_response_ids_are_random_and_month_is_the_finest_time(store):
    for chat in (1, 2, 3):
        _start(store, chat)
        store.save_progress(chat, {"avslut-kon": "man"}, "avslut-1", today=D0)
        store.finish_session(chat, today=D0)
    rows = list(store.db.query("SELECT id, month FROM response"))
    assert {r["month"] for r in rows} == {"2024-03"}
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == 3 and all(len(i) >= 32 for i in ids)


def test_a_transaction_takes_the_write_lock_before_it_reads(db_path):
    # A deferred transaction that reads and then writes fails at once ("database is locked")
    # when another process wrote in between; one that holds the write lock from its start
    # makes the other writer wait instead.
    store = Store(db_path)
    other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    with store.transaction():
        store.list_insatser()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        store.add_insats("Alfa")
    other.execute("BEGIN IMMEDIATE")  # free again once the transaction has committed
    other.execute("INSERT INTO insats (name, created) VALUES ('Beta', '2024-01-01')")
    other.execute("COMMIT")
    other.close()
    assert [i.name for i in store.list_insatser()] == ["Alfa", "Beta"]
    store.close()
