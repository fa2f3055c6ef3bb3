"""Storage rules the threat model (docs/anonymitet.md) rests on, against a real SQLite file.

The whole lifecycle with backups and every linkage tried is in test_anonymity_lifecycle.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from bot.survey import SurveyService
from questionnaires import flow
from storage import Store, hash_token, scrub_unfinished
from storage.schema import MIGRATIONS, statements
from storage.sessions import THANKS_WINDOW
from tests.journey import Journey

pytestmark = pytest.mark.storage

CHAT = 5_123_456_789


def _link(store: Store, uses: int = 1) -> str:
    if store.get_insats("Steg framåt") is None:
        store.add_insats("Steg framåt")
    return store.create_links("Steg framåt", "deltagare-avslut", uses=uses)[0]


def test_a_chat_key_is_memory_hard_and_not_the_plain_hmac(store: Store) -> None:
    key = store.chat_key(CHAT)
    assert key == store.chat_key(CHAT) and len(key) == 64
    assert key != store.legacy_chat_key(CHAT)
    # A web browser's identifier never meets a Telegram chat's key, even with the same digits.
    assert store.chat_key(str(CHAT)) != key
    store.forget_chat_key(CHAT)
    assert store.chat_key(CHAT) == key  # derived again, the same


def test_submitting_writes_a_fresh_response_id_that_no_earlier_file_held(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    person = Journey(SurveyService(store), CHAT)
    assert person.open(_link(store)) == "started"
    person.begin()
    person.answer("kvinna")
    person.answer("ofta")
    store.checkpoint()
    # While unfinished: no response or answer row exists at all.
    assert store.db["response"].count == 0 and store.db["answer"].count == 0
    mid = tmp_path / "mid-survey-copy.db"
    shutil.copy(db_path, mid)
    assert person.submit() is False  # only from the overview: nothing is sent half-way
    for _ in range(40):
        if person.item is None:
            break
        person.answer(None)
    assert person.submit()
    (rid,) = [r["id"] for r in store.db.query("SELECT id FROM response")]
    assert rid.encode() not in mid.read_bytes()
    with closing(sqlite3.connect(mid)) as old:
        assert old.execute("SELECT count(*) FROM response").fetchone() == (0,)
    assert store.db["session"].count == 0 and store.db["reminder"].count == 0


def test_the_session_holds_no_link_hash_and_the_link_only_counts(store: Store) -> None:
    token = _link(store)
    person = Journey(SurveyService(store), CHAT)
    person.open(token)
    row = next(iter(store.db.query("SELECT * FROM session")))
    assert hash_token(token) not in json.dumps(row)
    assert store.session_opened_with(CHAT, hash_token(token))
    assert not store.session_opened_with(CHAT, hash_token("another-token"))
    assert store.check_link(token).in_progress == 1
    assert store.check_link(token).held_by == "telegram"
    # /radera gives the use back and the count goes down, without the session naming the link.
    assert person.delete()
    check = store.check_link(token)
    assert (check.problem, check.in_progress, check.held_by) == (None, 0, None)


def test_a_reminder_holds_a_sealed_chat_id_and_no_day(store: Store) -> None:
    person = Journey(SurveyService(store), CHAT)
    person.open(_link(store))
    person.begin()
    (row,) = list(store.db.query("SELECT * FROM reminder"))
    assert set(row) == {"id", "sealed"}
    assert str(CHAT).encode() not in row["sealed"]
    assert store.owed_reminders() == [CHAT]


def test_two_processes_opening_one_link_at_once_get_a_kind_refusal(db_path: Path) -> None:
    first, second = Store(db_path), Store(db_path)
    token = _link(first)
    barrier = threading.Barrier(2)
    kinds: list[str] = []
    errors: list[BaseException] = []

    def open_with(store: Store, chat: int) -> None:
        person = Journey(SurveyService(store), chat)
        barrier.wait(5)
        try:
            kinds.append(person.open(token))
        except BaseException as exc:  # reported below
            errors.append(exc)

    for _ in range(5):  # several rounds: the race must go right every time
        kinds.clear()
        threads = [
            threading.Thread(target=open_with, args=(first, 1001)),
            threading.Thread(target=open_with, args=(second, 1002)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors
        assert sorted(kinds) == ["started", "used"]
        chat = 1001 if first.get_session(1001) is not None else 1002
        assert Journey(SurveyService(first), chat).delete()
    first.close()
    second.close()


def test_environment_admins_subscribe_without_a_stored_role(store: Store) -> None:
    store.add_user(42, "coordinator")
    store.subscribe(42)
    store.subscribe(7)  # an administrator from ENKATBOT_ADMINS
    assert store.users() == [(42, "coordinator")]
    assert store.subscribers(admins={7}) == [7, 42]
    assert store.subscribers() == [42]  # removed from the setting: no summary either


def test_a_backup_copy_is_scrubbed_of_unfinished_surveys(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    person = Journey(SurveyService(store), CHAT)
    token = _link(store)
    person.open(token)
    person.begin()
    person.answer("kvinna")
    key = store.chat_key(CHAT).encode()
    copy = tmp_path / "backup.db"
    with closing(sqlite3.connect(copy)) as dst:
        store.db.conn.backup(dst)
    assert key in copy.read_bytes()
    scrub_unfinished(copy)
    assert key not in copy.read_bytes()
    with closing(sqlite3.connect(copy)) as conn:
        assert conn.execute("SELECT count(*) FROM session").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM reminder").fetchone() == (0,)
    # Restored, the participant can open the link again.
    restored = Store(copy)
    assert restored.check_link(token).problem is None
    assert Journey(SurveyService(restored), CHAT).open(token) == "started"
    restored.close()


def test_an_unfinished_survey_from_before_the_upgrade_is_kept_and_found(db_path: Path) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    for script in MIGRATIONS[:6]:
        for statement in statements(script):
            conn.execute(statement)
    conn.execute("PRAGMA user_version=6")
    conn.execute("INSERT INTO insats (name, created) VALUES ('Steg framåt', '2026-01-01')")
    conn.execute(
        "INSERT INTO link VALUES ('h1', 1, 'deltagare-avslut', '2026-01-01', "
        "'2099-01-01T00:00:00+00:00', 0, 0)"
    )
    conn.execute(
        "INSERT INTO response VALUES ('r0', 'deltagare-avslut', 1, 1, '2026-11', 'in_progress')"
    )
    conn.execute("INSERT INTO answer VALUES ('r0', 'avslut-kon', 'man')")
    conn.execute("INSERT INTO answer VALUES ('r0', 'avslut-1', NULL)")
    secret = bytes.fromhex("ab" * 32)
    db_path.with_name(db_path.name + ".secret").write_text(secret.hex())
    old_key = hmac.new(secret, str(CHAT).encode(), hashlib.sha256).hexdigest()
    conn.execute(
        "INSERT INTO session VALUES (?, 'r0', 'h1', 'active', 'avslut-2', 5, '2026-11-20', "
        "'telegram', NULL)",
        [old_key],
    )
    conn.execute("INSERT INTO reminder VALUES (?, '2026-11-20')", [CHAT])
    conn.close()
    store = Store(db_path)
    session = store.get_session(CHAT)
    assert session is not None
    assert dict(session.answers) == {"avslut-kon": "man", "avslut-1": None}
    assert session.current_item == "avslut-2"
    assert store.db["response"].count == 0 and store.db["answer"].count == 0
    assert list(store.db.query("SELECT in_progress, held_by FROM link")) == [
        {"in_progress": 1, "held_by": "telegram"}
    ]
    assert store.finish_session(CHAT)
    assert store.db["response"].count == 1
    store.close()


def _at_overview(store: Store, chat: int) -> SurveyService:
    """Walk one avslut survey to its overview (every question skipped); return the service."""
    service = SurveyService(store)
    person = Journey(service, chat)
    person.open(_link(store))
    person.begin()
    while person.item is not None:
        person.answer(None)
    return service


def _submitted(store: Store, chat: int, update_id: int) -> SurveyService:
    """Walk one avslut survey to its overview and submit it with Telegram update `update_id`."""
    service = _at_overview(store, chat)
    step = service.handle(chat, flow.Submit(message_id=77), update_id=update_id)
    assert flow.Say(flow.Note.THANKS) in step.effects
    return service


def test_a_submission_owes_its_thanks_by_update_number_only_until_thanked(
    store: Store, tmp_path: Path
) -> None:
    service = _submitted(store, CHAT, update_id=900_001)
    # The same update delivered again after a crash: thanked, not told "already sent in".
    again = service.handle(CHAT, flow.Submit(message_id=77), update_id=900_001)
    assert again.effects == (flow.Say(flow.Note.THANKS), flow.Retire(77))
    # Another tap on the old overview is not the submission: no thanks for it.
    other = service.handle(CHAT, flow.Submit(message_id=77), update_id=900_002)
    assert flow.Say(flow.Note.BUTTON_OF_ENDED_SURVEY) in other.effects
    # The note holds the update's number and the random tag of the button tapped, nothing
    # else: no chat, key, day or response.
    ((number, tag),) = store.db.execute("SELECT * FROM thanks_owed").fetchall()
    assert number == 900_001 and isinstance(tag, str) and len(tag) >= 12
    copy = tmp_path / "backup.db"
    with closing(sqlite3.connect(copy)) as dst:
        store.db.conn.backup(dst)
    scrub_unfinished(copy)
    with closing(sqlite3.connect(copy)) as conn:
        assert conn.execute("SELECT count(*) FROM thanks_owed").fetchone() == (0,)
    service.thanked(900_001)
    assert store.db.execute("SELECT count(*) FROM thanks_owed").fetchone() == (0,)
    after = service.handle(CHAT, flow.Submit(message_id=77), update_id=900_001)
    assert flow.Say(flow.Note.BUTTON_OF_ENDED_SURVEY) in after.effects


def _overview_tag(store: Store, chat: int) -> str:
    state = SurveyService(store).load_flow(chat)
    assert state is not None and state.stage is flow.Stage.OVERVIEW and state.submit_tag
    return state.submit_tag


def test_skicka_in_tapped_again_is_thanked_once_when_its_first_update_will_not_come_back(
    store: Store,
) -> None:
    service = _at_overview(store, CHAT)
    tag = _overview_tag(store, CHAT)
    # The overview shown again keeps its tag: every copy of the button is the same button.
    assert service.handle(CHAT, flow.Restart(), update_id=None).after.submit_tag == tag
    service.handle(CHAT, flow.Submit(message_id=77, tag=tag), update_id=5_000)
    # Update 5_000 was confirmed before its thanks went out; the same button, tapped again,
    # comes as update 5_009 and is thanked, and the note becomes that update's.
    again = service.handle(CHAT, flow.Submit(message_id=77, tag=tag), update_id=5_009)
    assert again.effects == (flow.Say(flow.Note.THANKS), flow.Retire(77))
    assert store.db.execute("SELECT update_id FROM thanks_owed").fetchall() == [(5_009,)]
    service.thanked(5_009)
    assert store.db.execute("SELECT count(*) FROM thanks_owed").fetchone() == (0,)
    # Thanked once: a third tap is told the survey is sent in.
    third = service.handle(CHAT, flow.Submit(message_id=77, tag=tag), update_id=5_010)
    assert flow.Say(flow.Note.BUTTON_OF_ENDED_SURVEY) in third.effects


def test_a_skicka_in_tag_is_random_and_a_guessed_one_claims_no_thanks(store: Store) -> None:
    tags = []
    for chat, update_id in ((CHAT, 6_000), (CHAT, 6_001), (CHAT + 1, 6_002)):
        _submitted(store, chat, update_id=update_id)
        tags.append(store.db.execute(
            "SELECT tag FROM thanks_owed WHERE update_id = ?", [update_id]).fetchone()[0])
    # The same chat twice gets two tags: nothing in a tag is derived from the chat.
    assert len(set(tags)) == 3
    guessed = SurveyService(store).handle(
        CHAT + 2, flow.Submit(message_id=5, tag="A" * 12), update_id=6_003)
    assert flow.Say(flow.Note.BUTTON_OF_ENDED_SURVEY) in guessed.effects
    assert store.db.execute("SELECT count(*) FROM thanks_owed").fetchone() == (3,)


def test_a_thanks_never_sent_is_forgotten_once_telegram_is_far_past_its_update(
    store: Store,
) -> None:
    _submitted(store, CHAT, update_id=1_000)
    _submitted(store, CHAT + 1, update_id=1_000 + THANKS_WINDOW + 1)
    assert store.db.execute("SELECT update_id FROM thanks_owed").fetchall() == [
        (1_000 + THANKS_WINDOW + 1,)
    ]


def test_submissions_finished_out_of_order_each_keep_their_owed_thanks(store: Store) -> None:
    # Two chats submit in updates 2_001 and 2_000; the later one's handling happens to commit
    # first (chats are handled concurrently). A crash now must thank both when Telegram
    # delivers both taps again.
    first = _submitted(store, CHAT, update_id=2_001)
    _submitted(store, CHAT + 1, update_id=2_000)
    for chat, update_id in ((CHAT, 2_001), (CHAT + 1, 2_000)):
        again = first.handle(chat, flow.Submit(message_id=77), update_id=update_id)
        assert again.effects == (flow.Say(flow.Note.THANKS), flow.Retire(77))


def test_a_report_reading_meanwhile_delays_the_wal_purge_but_holds_up_no_participant(
    store: Store,
) -> None:
    # The report worker reads in its own connection for seconds. A submission meanwhile must
    # not wait for it (the bot would stall every chat for the busy timeout); the WAL, which
    # still holds the session's old pages, is purged at the first write after the read.
    reader = sqlite3.connect(store.path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM response").fetchone()
    done = threading.Event()

    def submit() -> None:
        _submitted(store, CHAT, update_id=7_000)
        done.set()

    worker = threading.Thread(target=submit)
    worker.start()
    # Well inside the 30 s busy timeout a waiting checkpoint would sit out.
    assert done.wait(10), "the submission waited for the report's read"
    worker.join()
    wal = Path(f"{store.path}-wal")
    assert wal.stat().st_size > 0  # not purged yet: the reader still sees the old pages
    reader.execute("COMMIT")
    reader.close()
    service = SurveyService(store)
    service.thanked(7_000)  # the next write purges what was owed
    assert wal.stat().st_size == 0


def test_a_chat_without_a_survey_leaves_no_key_in_memory(store: Store) -> None:
    # After the thanks a person may write again ("Tack!"), or someone without a link writes:
    # the key derived to look for their survey must not stay behind in the process.
    service = _submitted(store, CHAT, update_id=8_000)
    assert not store.has_chat_key(CHAT)
    step = service.handle(CHAT, flow.Text("Tack!", written_at=1), update_id=8_001)
    assert step.after is None
    assert not store.has_chat_key(CHAT)
    assert service.load_flow(CHAT + 5) is None
    assert not store.has_chat_key(CHAT + 5)
