"""End-to-end harness: the fake Bot API server, the real bot process, and survey helpers.

Each test gets its own `FakeBotAPI` on loopback and its own SQLite file. `BotUnderTest` runs
`python -m enkatbot run` against them as a subprocess, so the bot is tested the way it runs in
production: its own event loop, its own database connection, its own signal handling, and
long polling with `drop_pending_updates=False`.

Every wait has a deadline. `Phone.wait_for` prints the chat transcript when one runs out, and
the fixture prints the bot's log at teardown (pytest shows it only for a failing test). At
teardown the fixture also checks what must hold after any conversation: every button tap was
answered (no spinner left on a phone), no handler failed, and the log holds no bot token,
no chat id, no first name, no tapped answer and no typed text.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

from bot.texts import deltagare as t
from questionnaires import engine
from questionnaires.model import get
from questionnaires.textclean import clean_text
from storage import Store, hash_token, open_store
from tests.botapi import BotMessage, FakeBotAPI, Phone

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "7300000001:AAE2eHemligFinsamToken_xyz"
BOT_USERNAME = "finsam_test_bot"
ADMIN_ID = 730_000_007
INSATS = "Steg framåt"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
READY = "Application started"
STEP = 20.0
"""Seconds to wait for one reply; generous, because 20 phones share a 2-core machine."""

Answers = dict[str, str | None]


# -- the bot process ----------------------------------------------------------------------------


class BotUnderTest:
    """The real bot as a subprocess, its fake Telegram, its database, and the phones in play."""

    def __init__(self, api: FakeBotAPI, db_path: Path, workdir: Path) -> None:
        """Prepare (not start) a bot on `api` and the database at `db_path`."""
        self.api = api
        self.db_path = db_path
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.phones: list[Phone] = []
        self.check_callbacks_answered = True
        self.expected_errors = False
        with closing(open_store(db_path)) as store:
            store.add_insats(INSATS)

    # lifecycle

    def start(self, **env: str) -> None:
        """Start a bot process with extra environment `env`; return once it polls."""
        assert self.proc is None or self.proc.poll() is not None, "the bot is already running"
        self.runs += 1
        clean = {
            k: v for k, v in os.environ.items()
            if not k.startswith(("ENKATBOT_", "TELEGRAM_"))
        }
        clean.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=self.api.base_url,
            ENKATBOT_DB=str(self.db_path),
            ENKATBOT_POLL_TIMEOUT="1",
            ENKATBOT_ADMINS=str(ADMIN_ID),
            PYTHONUNBUFFERED="1",
        )
        clean.update(env)  # a test may override any of the above
        started = time.time()
        with open(self._log_path(self.runs), "wb") as err, open(
            self._out_path(self.runs), "wb"
        ) as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "enkatbot", "run"],
                cwd=ROOT, env=clean, stdout=out, stderr=err, start_new_session=True,
            )
        # PTB logs this once post_init (menus, jobs) has run and polling has begun; a SIGTERM
        # before that, during PTB's bootstrap, makes run_polling exit with 1.
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the bot exited with {self.proc.returncode}\n{self.log}")
            if READY in self._log_path(self.runs).read_text("utf-8", "replace"):
                assert any(c.time >= started for c in self.api.calls_of("getMe"))
                return
            time.sleep(0.05)
        raise AssertionError(f"the bot did not start polling within {START_TIMEOUT}s\n{self.log}")

    def stop(self) -> None:
        """Stop the bot the way systemd does (SIGTERM) and wait for a clean exit."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError(
                f"the bot ignored SIGTERM for {STOP_TIMEOUT}s\n{self.log}"
            ) from None
        assert code == 0, f"the bot exited with {code} on SIGTERM\n{self.log}"

    def kill(self) -> None:
        """Kill the bot with SIGKILL: no shutdown code runs, as in a power cut."""
        assert self.proc is not None and self.proc.poll() is None, "the bot is not running"
        self.proc.kill()
        self.proc.wait(5)

    @property
    def running(self) -> bool:
        """Return True while the bot process is alive."""
        return self.proc is not None and self.proc.poll() is None

    # logs

    def _log_path(self, run: int) -> Path:
        return self.workdir / f"bot-{run}.stderr"

    def _out_path(self, run: int) -> Path:
        return self.workdir / f"bot-{run}.stdout"

    @property
    def log(self) -> str:
        """Return everything every bot process of this test wrote (stderr, then stdout)."""
        parts = []
        for run in range(1, self.runs + 1):
            for path in (self._log_path(run), self._out_path(run)):
                if path.exists():
                    parts.append(path.read_text("utf-8", "replace"))
        return "".join(parts)

    def wait_for_log(self, needle: str, *, after: int = 0, timeout: float = STEP) -> None:
        """Wait until the bot has logged `needle` more than `after` times in this test.

        An awaited log event, for things the bot does on its own (jobs) rather than in reply
        to a phone: count the event before, act, then wait for one more.
        """
        deadline = time.monotonic() + timeout
        while self.log.count(needle) <= after:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the bot did not log {needle!r} within {timeout}s\n{self.log}"
                )
            time.sleep(0.05)  # polling the log file; the deadline bounds the wait

    # people

    def phone(self, user_id: int, first_name: str) -> Phone:
        """Return a simulated Telegram user; its name, id and typed texts must stay out of logs."""
        phone = self.api.phone(user_id, first_name)
        if phone not in self.phones:
            self.phones.append(phone)
        return phone

    # database

    def link(self, enkat: str = "deltagare-avslut", insats: str = INSATS) -> str:
        """Create a one-use survey link in the database; return its token."""
        with closing(open_store(self.db_path)) as store:
            return store.create_links(insats, enkat)[0]

    def sql(self, statement: str, args: Sequence[object] = ()) -> list[tuple]:
        """Run one SQL statement on the bot's database file (as an operator would)."""
        with closing(sqlite3.connect(self.db_path, timeout=30)) as conn, conn:
            return list(conn.execute(statement, list(args)))

    def session_answers(self, chat_id: int) -> Answers | None:
        """Return the answers of the chat's unfinished survey, or None when it has none."""
        with closing(open_store(self.db_path)) as store:
            session = store.get_session(chat_id)
            return dict(session.answers) if session is not None else None

    def responses(self, status: str = "complete") -> list[tuple[str, str, Answers]]:
        """Return (enkat, insats, answers) for every stored response with `status`."""
        with closing(Store(self.db_path)) as store:
            frames, answers = store.response_frames()
        out = []
        for row in frames.itertuples():
            if row.status != status:
                continue
            mine = answers[answers.response_id == row.response_id]
            values: Answers = {
                a.item_id: (None if a.value is None or a.value != a.value else a.value)
                for a in mine.itertuples()
            }
            out.append((row.enkat, row.insats, values))
        return out

    def expire_link(self, token: str) -> None:
        """Move a link's expiry date into the past."""
        self.sql(
            "UPDATE link SET expires = '2000-01-01T00:00:00+00:00' WHERE token_hash = ?",
            [hash_token(token)],
        )

    # checks that hold after every conversation

    def check_log(self) -> None:
        """Assert the log holds no token, chat id, first name, tapped answer or typed text."""
        log = self.log
        secret = TOKEN.split(":", 1)[1]
        assert secret not in log, "the bot token is in the log"
        # Each line's time stamp is the logger's, not the chat's: a typed "501" must not be
        # found in ",501" milliseconds.
        log = re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", "", log, flags=re.M)
        for phone in self.phones:
            leaks = [str(phone.user_id), phone.name, *sensitive_inputs(phone)]
            for leak in leaks:
                pattern = rf"(?<![\w]){re.escape(leak)}(?![\w])"
                found = re.search(pattern, log)
                assert found is None, (
                    f"the log contains {leak!r} from {phone.name}'s chat:\n"
                    f"...{log[max(found.start() - 200, 0):found.end() + 200]}..."
                )

    def check_no_errors(self) -> None:
        """Assert no handler failed and nothing was logged with a traceback."""
        log = self.log
        for needle in ("event=handler_error", "Traceback", " ERROR "):
            assert needle not in log, f"the bot logged {needle!r}:\n{log[-6000:]}"


def expire_callback_query(api: FakeBotAPI, query_id: str) -> None:
    """Make answerCallbackQuery fail for this query, as Telegram does once a query is too old.

    Telegram refuses to answer a callback query after a short time ("query is too old and
    response timeout expired"), so every tap made while the bot was down is too old when the
    bot comes back. FakeBotAPI has no clock for queries; marking the query answered makes it
    give exactly that error.
    """
    with api._cond:
        api._callbacks[query_id]["answered"] = True


def sensitive_inputs(phone: Phone) -> list[str]:
    """Return what the phone typed or tapped that the log must never hold.

    Typed texts of at least 8 characters (shorter ones like "hej" occur in ordinary words),
    link and invite tokens from /start, and the labels of tapped buttons (the answers).
    """
    out: list[str] = []
    for event in phone.events:
        if event.kind == "user":
            typed = re.match(r"#\d+ (.*)", event.text, re.S)
            if typed is None or typed.group(1).startswith("<"):
                continue
            text = typed.group(1)
            if text.startswith("/start "):
                out.append(text.split(" ", 1)[1])
            elif not text.startswith("/") and len(text) >= 8:
                out.append(text)
        elif event.kind == "tap":
            label = re.match(r"tapped \[(.*)\] on #", event.text, re.S)
            if label is not None:
                out.append(label.group(1))
    return out


@contextmanager
def bot_under_test(tmp_path: Path) -> Iterator[BotUnderTest]:
    """Yield a BotUnderTest on a fresh fake server and database; stop and check it after."""
    folder = tmp_path / "e2e"
    folder.mkdir()
    with FakeBotAPI(token=TOKEN, bot_username=BOT_USERNAME) as api:
        bot = BotUnderTest(api, folder / "enkatbot.db", folder)
        try:
            yield bot
        finally:
            try:
                bot.stop()
            finally:
                # Shown by pytest only when the test failed.
                print(f"----- bot log ({bot.runs} run(s)) -----\n{bot.log[-20000:]}")
        bot.check_log()
        if not bot.expected_errors:
            bot.check_no_errors()
        if bot.check_callbacks_answered:
            assert api.unanswered_callbacks == [], (
                f"button taps never answered (spinner left): {api.unanswered_callbacks}"
            )


def fill(folder: Path) -> Path:
    """Fill the file system holding `folder` to the last byte; return the filler file."""
    filler = folder / "fyllnad"
    with open(filler, "wb", buffering=0) as fh:
        for size in (1 << 16, 1 << 12, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError:
                continue
    return filler


# -- driving a survey ---------------------------------------------------------------------------


PROBE = "/integritet"
"""A command every private chat may send at any time; the bot answers it without a change."""


def expect_no_reply(phone: Phone, timeout: float = STEP) -> None:
    """Assert the bot sent, edited or deleted nothing in this chat for what the phone did last.

    Waits on the bot, not on a clock: the bot handles one chat's updates in order, so once it
    has answered a /integritet sent now, it has handled everything the phone sent before it,
    and nothing but that answer may have come since.
    """
    phone.expect_nothing_before(
        lambda: phone.send(PROBE), lambda m: m.text.startswith(t.PRIVACY), timeout
    )


def flat(rows: list[list[str]]) -> list[str]:
    """Return a keyboard's labels as one list."""
    return [label for row in rows for label in row]


def is_question(n: int, total: int | None = None) -> Callable[[BotMessage], bool]:
    """Match the message asking question `n` (of `total`, when given) with its buttons."""
    head = f"Fråga {n} av {total}\n" if total is not None else f"Fråga {n} av "
    return lambda m: m.text.startswith(head) and bool(m.buttons)


def question(phone: Phone, n: int, total: int | None = None, timeout: float = STEP) -> BotMessage:
    """Wait for question `n` (of `total`) to be asked; return the message."""
    return phone.wait_for(is_question(n, total), timeout)


def total_of(msg: BotMessage) -> int:
    """Return M from a question's 'Fråga N av M'."""
    found = re.match(r"Fråga \d+ av (\d+)\n", msg.text)
    assert found is not None, msg.text
    return int(found.group(1))


def reply(phone: Phone, msg: BotMessage, answer: str) -> None:
    """Answer the question in `msg`: tap the button labelled `answer`, or type it."""
    if answer in flat(msg.buttons):
        phone.tap(answer, msg)
    else:
        phone.send(answer)


def wait_answered(phone: Phone, msg: BotMessage, label: str, timeout: float = STEP) -> BotMessage:
    """Wait until the answer `label` to the question in `msg` is seen accepted; return that.

    A tapped answer: the message is edited into the next step (left for the next wait to
    find too). A typed one: the question message shows '✓ Ditt svar: label'.
    """
    if label in flat(msg.buttons):
        return phone.wait_for(
            lambda m: m.message_id == msg.message_id and m.text != msg.text, timeout,
            consume=False,
        )
    return phone.wait_for(
        lambda m: m.message_id == msg.message_id and f"✓ {t.ANSWERED_PREFIX} {label}" in m.text,
        timeout,
    )


def open_survey(phone: Phone, token: str, timeout: float = STEP) -> BotMessage:
    """Open a survey link and tap Börja; return the greeting."""
    phone.send(f"/start {token}")
    greeting = phone.wait_for(lambda m: t.BUTTON_START in flat(m.buttons), timeout)
    phone.tap(t.BUTTON_START, greeting)
    return greeting


def walk(
    phone: Phone, answers: Sequence[str], first: int = 1, timeout: float = STEP
) -> list[BotMessage]:
    """Answer questions `first`, `first`+1, ... with `answers`; return the question messages."""
    asked = []
    for n, answer in enumerate(answers, first):
        msg = question(phone, n, timeout=timeout)
        reply(phone, msg, answer)
        asked.append(msg)
    return asked


def overview(phone: Phone, timeout: float = STEP) -> BotMessage:
    """Wait for the overview with Skicka in; return it."""
    return phone.wait_for(
        lambda m: m.text.startswith(t.OVERVIEW_TITLE) and t.BUTTON_SUBMIT in flat(m.buttons),
        timeout,
    )


def submit(phone: Phone, shown: BotMessage | None = None, timeout: float = STEP) -> None:
    """Tap Skicka in on the overview (`shown`, or the next one) and wait for the thanks."""
    phone.tap(t.BUTTON_SUBMIT, shown or overview(phone, timeout))
    phone.wait_for_text(t.THANKS, timeout)


def expected_answers(enkat: str, answers: Sequence[str]) -> Answers:
    """Return what the database must hold after `answers` (button labels or typed texts)."""
    q = get(enkat)
    state = engine.start(q)
    for answer in answers:
        item = engine.current_item(q, state)
        assert item is not None, f"more answers than questions in {enkat}"
        value: str | None
        if answer == t.BUTTON_SKIP:
            value = None
        elif item.scale is not None:
            value = next(o.value for o in item.scale.options if o.label == answer)
        else:
            value = clean_text(answer).text
        state = engine.answer(q, state, value)
    assert state.current is None, f"{enkat}: unanswered {state.current}"
    return dict(state.answers)


def as_multiset(answer_sets: Sequence[Answers]) -> Counter[frozenset]:
    """Return answer sets as a multiset: responses are anonymous, so their order means nothing."""
    return Counter(frozenset(a.items()) for a in answer_sets)


def run_in_threads(jobs: Sequence[Callable[[], None]], timeout: float) -> None:
    """Run the jobs in parallel threads; re-raise the first failure (with its transcript)."""
    errors: list[BaseException] = []

    def guarded(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(job,), daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
    alive = sum(thread.is_alive() for thread in threads)
    if errors:
        raise AssertionError(f"{len(errors)} of {len(jobs)} phones failed") from errors[0]
    assert alive == 0, f"{alive} phones still busy after {timeout}s"
