"""The proof of docs/anonymitet.md: holding everything, nobody's submitted answers are linked.

Participants complete, abandon (and expire), /radera and pause while copies of the database
are taken at random moments the way an IT person would take them: SQLite's backup API, a
plain copy of the files (database, -wal, -shm), `deploy/backup.sh`, and `enkatbot backup`
once the operations work has it. Then the test takes the adversary's place, holding every
file, the secret, every link token (as staff hold them, by person), every chat id and the
log, and tries each way of linking a person to a submitted response: joins, hashes, days,
a raw byte scan of every file (B-tree residue, the -wal) and the log. None may succeed.

What the threat model declares linkable, an unfinished survey in a raw copy of the live
file while it was unfinished, is used as the control: the same search finds it there, so a
search that finds nothing after the end is a search that works.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.texts import deltagare as t
from storage import Store, hash_token
from tests.botapi import BotMessage, Phone
from tests.e2e import ROOT, BotUnderTest, flat, open_survey

pytestmark = pytest.mark.e2e

SEED = 20261123
IN_LINK_TABLE = {"link hash"}
"""Stored by design: the link row is keyed by its hash. It must never sit beside anything else
of the person (checked by the joins below), but its bytes are always in the file."""
EXPIRED_DAYS = 20


@dataclass
class Person:
    """A participant as staff know them: a name, the token they were given, their chat id."""

    name: str
    chat_id: int
    token: str
    plan: str
    phone: Phone | None = None
    given: dict[str, str] = field(default_factory=dict)
    ended_at: int | None = None
    """The step number at which their survey ended (submitted, deleted or expired)."""


@dataclass
class Copy:
    """A copy of the database taken at one step, and how."""

    step: int
    method: str
    files: list[Path]

    @property
    def scrubbed(self) -> bool:
        """Return True for the backup methods that must hold no unfinished survey."""
        return self.method in ("backup.sh", "enkatbot backup")


def options(msg: BotMessage) -> list[str]:
    """Return the answer buttons of a question message (without skip and back)."""
    return [label for label in flat(msg.buttons) if label not in (t.BUTTON_SKIP, t.BUTTON_BACK)]


def next_step(phone: Phone, n: int) -> BotMessage:
    """Wait for question `n` or the overview, whichever the bot shows next."""
    head = f"Fråga {n} av "
    return phone.wait_for(
        lambda m: bool(m.buttons)
        and (m.text.startswith(head) or m.text.startswith(t.OVERVIEW_TITLE)),
        20,
    )


def answer_all(
    person: Person, rng: random.Random, stop_after: int | None, first: int = 1
) -> Iterator[None]:
    """Answer question after question (yielding after each), until the overview or `stop_after`.

    Each answer is confirmed by the next question (or the overview) arriving.
    """
    assert person.phone is not None
    n = first
    while stop_after is None or n <= stop_after:
        msg = next_step(person.phone, n)
        if msg.text.startswith(t.OVERVIEW_TITLE):
            return
        choices = options(msg)
        if not choices:
            text = f"Svar {n} från {person.name}: det var bra att få stöd {rng.randint(1, 999)}"
            person.phone.send(text)
        elif "Ja" in choices and "Nej" in choices:
            person.phone.tap("Ja" if person.plan.endswith("ja") else "Nej", msg)
        else:
            person.phone.tap(choices[rng.randrange(len(choices))], msg)
        n += 1
        yield
    next_step(person.phone, n)


def journey(person: Person, rng: random.Random, bot: BotUnderTest) -> Iterator[None]:
    """Drive one person's plan, yielding after each step so others can go in between."""
    person.phone = bot.phone(person.chat_id, person.name)
    open_survey(person.phone, person.token)
    yield
    plan = person.plan
    if plan.startswith("complete"):
        yield from answer_all(person, rng, None)
        person.phone.tap(t.BUTTON_SUBMIT)
        person.phone.wait_for_text(t.THANKS, 20)
    elif plan == "pause":
        yield from answer_all(person, rng, 3)
        person.phone.send("/avbryt")
        person.phone.wait_for_text(t.PAUSED[:30], 20)
        yield
        person.phone.send("/start")
        person.phone.wait_for_text(t.WELCOME_BACK, 20)
        yield from answer_all(person, rng, None, first=4)
        person.phone.tap(t.BUTTON_SUBMIT)
        person.phone.wait_for_text(t.THANKS, 20)
    elif plan == "radera":
        yield from answer_all(person, rng, 2)
        person.phone.send("/radera")
        confirm = person.phone.wait_for(lambda m: t.BUTTON_DELETE_YES in flat(m.buttons), 20)
        person.phone.tap(t.BUTTON_DELETE_YES, confirm)
        person.phone.wait_for_text(t.DELETED, 20)
    elif plan == "abandon":
        yield from answer_all(person, rng, 3)
    elif plan == "abandon-empty":
        next_step(person.phone, 1)
    person.ended_at = None if plan.startswith("abandon") else -1


# -- copies, as an IT person takes them -------------------------------------------------------


def enkatbot_has_backup() -> bool:
    """Return True once `enkatbot backup` exists (the operations work)."""
    done = subprocess.run(
        [sys.executable, "-m", "enkatbot", "--help"], cwd=ROOT, capture_output=True, text=True,
        timeout=60,
    )
    return " backup" in done.stdout


def take_copy(bot: BotUnderTest, step: int, method: str, folder: Path) -> Copy:
    """Copy the live database by `method` into a new folder; return what was written."""
    dest = folder / f"{len(list(folder.iterdir())):03d}-step-{step}-{method.replace(' ', '-')}"
    dest.mkdir()
    db = bot.db_path
    if method == "backup API":
        with closing(sqlite3.connect(db)) as src, closing(sqlite3.connect(dest / "db")) as dst:
            src.backup(dst)
    elif method == "file copy":
        for suffix in ("", "-wal", "-shm"):
            source = db.with_name(db.name + suffix)
            if source.exists():
                shutil.copy(source, dest / f"db{suffix}")
    elif method == "backup.sh":
        subprocess.run(
            ["bash", str(ROOT / "deploy" / "backup.sh"), str(db), str(dest)],
            check=True, capture_output=True, timeout=60,
        )
    else:
        subprocess.run(
            [sys.executable, "-m", "enkatbot", "--db", str(db), "backup", str(dest / "db")],
            cwd=ROOT, check=True, capture_output=True, timeout=60,
        )
    return Copy(step, method, sorted(p for p in dest.rglob("*") if p.is_file()))


# -- the adversary ------------------------------------------------------------------------------


def varint(n: int) -> bytes:
    """Return SQLite's big-endian variable-length encoding of `n` (as a rowid is stored)."""
    if n <= 0x7F:
        return bytes([n])
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def identifiers(person: Person, attacker: Store) -> dict[str, bytes]:
    """Return every form in which what staff and IT know of a person could be stored."""
    key = attacker.chat_key(person.chat_id)
    th = hash_token(person.token)
    return {
        "chat id as text": str(person.chat_id).encode(),
        "chat id as 8-byte integer": struct.pack(">Q", person.chat_id),
        "chat id as varint": varint(person.chat_id),
        "chat key (memory-hard, with the secret)": key.encode(),
        "legacy chat key (with the secret)": attacker.legacy_chat_key(person.chat_id).encode(),
        "link token": person.token.encode(),
        "link hash": th.encode(),
        "link ref (with the secret)": attacker._link_ref(key, th).encode(),
    }


def rows_of(path: Path) -> Iterator[tuple[str, dict[str, object]]]:
    """Yield (table, row) for every row of every table in a database file (read from a copy)."""
    scratch = path.with_name(path.name + ".read")
    shutil.copy(path, scratch)
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        shutil.copy(wal, scratch.with_name(scratch.name + "-wal"))
    with closing(sqlite3.connect(scratch)) as conn:
        conn.row_factory = sqlite3.Row
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):
                yield table, dict(row)
    for leftover in scratch.parent.glob(scratch.name + "*"):
        leftover.unlink()


def test_holding_every_file_secret_token_chat_id_and_log_links_nobody(
    bot: BotUnderTest, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    people = [
        Person("Aina", 730_009_001, bot.link(), "complete-ja"),
        Person("Bengt", 730_009_002, bot.link(), "complete-nej"),
        Person("Cecilia", 730_009_003, bot.link(), "complete-ja"),
        Person("Dragan", 730_009_004, bot.link(), "abandon"),
        Person("Elsa", 730_009_005, bot.link(), "radera"),
        Person("Fatima", 730_009_006, bot.link("deltagare-pagaende"), "complete-nej"),
        Person("Gösta", 730_009_007, bot.link(), "abandon-empty"),
        Person("Hedda", 730_009_008, bot.link(), "pause"),
    ]
    methods = ["backup API", "file copy", "backup.sh"]
    if enkatbot_has_backup():
        methods.append("enkatbot backup")
    copies_dir = tmp_path / "copies"
    copies_dir.mkdir()
    copies: list[Copy] = []
    bot.start()

    # Everyone walks at once, interleaved at random; copies are taken at random moments.
    walking: dict[str, Iterator[None]] = {p.name: journey(p, rng, bot) for p in people}
    step = 0
    while walking:
        name = rng.choice(sorted(walking))
        try:
            next(walking[name])
        except StopIteration:
            del walking[name]
            person = next(p for p in people if p.name == name)
            if person.ended_at == -1:
                person.ended_at = step
        step += 1
        if rng.random() < 0.12:
            copies.append(take_copy(bot, step, rng.choice(methods), copies_dir))
    for method in methods:  # at least one of each kind while two surveys are unfinished
        copies.append(take_copy(bot, step, method, copies_dir))

    # The abandoned surveys expire (one with answers: kept as partial; one empty: deleted).
    bot.stop()
    with closing(Store(bot.db_path)) as store:
        for person in people:
            if person.plan.startswith("abandon"):
                bot.sql(
                    "UPDATE session SET last_active = date('now', ?) WHERE chat_key = ?",
                    [f"-{EXPIRED_DAYS} days", store.chat_key(person.chat_id)],
                )
    bot.start(ENKATBOT_PAMINNELSE_ALLTID="1")
    wait_for_log(bot, "event=sessions_expired count=2")
    for person in people:
        if person.plan.startswith("abandon"):
            person.ended_at = step
    step += 1
    for method in methods:
        copies.append(take_copy(bot, step, method, copies_dir))
    live_while_running = take_copy(bot, step, "file copy", copies_dir)
    bot.stop()

    # ------------------------------------------------------------------ the adversary's turn
    secret = bot.db_path.with_name(bot.db_path.name + ".secret")
    attacker_dir = tmp_path / "attacker"
    attacker_dir.mkdir()
    shutil.copy(bot.db_path, attacker_dir / "db")
    shutil.copy(secret, attacker_dir / "db.secret")
    attacker = Store(attacker_dir / "db")  # the code is public: derive keys as the bot does
    ids = {p.name: identifiers(p, attacker) for p in people}

    # Ground truth (known to the test, not the adversary): each submitter's final response.
    responses = {
        r["id"]: r for r in attacker.db.query("SELECT * FROM response")
    }
    assert sorted(r["status"] for r in responses.values()) == [
        "complete", "complete", "complete", "complete", "complete", "partial"
    ]
    response_ids = [rid.encode() for rid in responses]

    live_files = [bot.db_path] + [
        p for p in bot.db_path.parent.glob(bot.db_path.name + "-*") if p.is_file()
    ]
    every_file = [f for c in copies for f in c.files] + live_while_running.files + live_files
    log = bot.log.encode()

    # 1. Hashes and raw bytes: nothing of a person whose survey ended is in any file taken
    #    after it ended (B-tree pages, freelist, -wal, -shm included), nor in the log.
    control_found = False
    for copy in [*copies, live_while_running]:
        data = b"".join(f.read_bytes() for f in copy.files)
        for person in people:
            hits = [
                name for name, needle in ids[person.name].items()
                if needle in data and name not in IN_LINK_TABLE
            ]
            ended = person.ended_at is not None and person.ended_at < copy.step
            if copy.scrubbed or ended:
                assert hits == [], f"{copy.method} at step {copy.step} holds {person.name}: {hits}"
            elif hits and not ended:
                control_found = True  # the declared window: unfinished, in a raw copy
    assert control_found, "the search never found an unfinished survey: it proves nothing"
    final = b"".join(f.read_bytes() for f in live_files)
    for person in people:
        for name, needle in ids[person.name].items():
            if name not in IN_LINK_TABLE:
                assert needle not in final, f"the live files hold {person.name}'s {name}"
            if name != "chat id as varint":  # a short byte string occurs by chance in text
                assert needle not in log, f"the log holds {person.name}'s {name}"

    # 2. Joins: no row of any table in any file holds both something of a person and a
    #    response id; no session row anywhere has a response id, a link hash or a day that a
    #    reminder shares; reminders hold only a random id and a sealed chat id.
    for path in every_file:
        if path.name.endswith(("-wal", "-shm")) or path.name.endswith(".secret"):
            continue
        for table, row in rows_of(path):
            text = json.dumps(row, default=lambda v: v.hex() if isinstance(v, bytes) else v)
            persons = [
                p.name for p in people
                if any(n.decode("latin-1") in text for k, n in ids[p.name].items()
                       if k not in ("chat id as varint", "chat id as 8-byte integer"))
            ]
            linked = [rid for rid in responses if rid in text]
            assert not (persons and linked), f"{path}: {table} row joins {persons} to {linked}"
            if table == "session":
                assert "response_id" not in row and "link_hash" not in row
            if table == "reminder":
                assert set(row) == {"id", "sealed"}
                chat = json.loads(attacker._aead().decrypt(
                    row["sealed"][:12], row["sealed"][12:], None  # type: ignore[index]
                ))
                assert set(chat) == {"chat"}

    # 3. Ids across time: a response id never appears in a file taken before that response
    #    existed (no id is carried from the unfinished survey), and responses keep only the
    #    month.
    assert all(len(row["month"]) == 7 for row in responses.values())
    producing = [p for p in people if p.plan not in ("radera", "abandon-empty")]
    for copy in copies:
        data = b"".join(f.read_bytes() for f in copy.files)
        present = sum(rid in data for rid in response_ids)
        ended = sum(p.ended_at is not None and p.ended_at < copy.step for p in producing)
        assert present <= ended, f"{copy.method} at step {copy.step}: an id from before the end"

    # 4. The log: no response id, no item id, and chat tags that no key leads to.
    for rid in response_ids:
        assert rid not in log
    assert b"item=" not in log and b"event=answer" not in log
    tags = set(re.findall(r"chat=([0-9a-f]{10})", bot.log))
    assert tags
    for person in people:
        keys = (attacker.chat_key(person.chat_id), attacker.legacy_chat_key(person.chat_id))
        assert not {k[:10] for k in keys} & tags
    attacker.close()


def wait_for_log(bot: BotUnderTest, needle: str, timeout: float = 30.0) -> None:
    """Wait until the bot's log holds `needle`, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while needle not in bot.log:
        assert time.monotonic() < deadline, f"{needle!r} not logged within {timeout}s"
        threading.Event().wait(0.05)
