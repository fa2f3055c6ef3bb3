"""The soak (`make soak`): people answering while the bot is killed, flooded, cut off and full.

Fifty simulated participants at a time answer both questionnaires (both branches of avslut 8,
free text included) against the real bot process on the fake Bot API. Each acts like a person:
they answer only the question on their screen, wait for the bot, send the same answer again
after a silence, sometimes pause with /avbryt, and write "Hallå?" when the bot is down. Meanwhile
the bot is SIGKILLed at random moments (at least 30 times), then 30 % of calls get 429s, then
30 % of connections drop, then the database's disk fills up and is freed.

Afterwards every participant's answers are compared with the database (finished responses, and
the live session of anyone not finished), and five figures are printed. All must be 0:
acknowledged answers lost, answers duplicated, answers stored that the participant never gave
for that question, participants left without a question for more than 10 s after the bot was
back, and false "sparade" messages. The exit status is 1 when any is not 0.

Bounded to 10 minutes; loopback only. Needs root for the full disk (a tmpfs); without it that
phase is skipped and said so, and the run fails (a soak that skipped a fault proves nothing).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.survey import SurveyService
from bot.texts import deltagare as t
from questionnaires.model import Item, Questionnaire, get
from storage import open_store
from tests.botapi import FakeBotAPI, Phone
from tests.botapi.phone import BotMessage, ChatEvent
from tests.e2e import BOT_USERNAME, INSATS, TOKEN, BotUnderTest, fill

AT_A_TIME = 50
KILLS = 30
RESEND_AFTER = 4.0
"""Seconds of silence after which a participant first sends the same answer again."""
RESEND_MAX = 30.0
"""A person waits longer each time (4, 8, 16, 30 s …): nobody taps every 4 s for minutes."""
LEFT_AFTER = 10.0
"""Seconds without a question, once the bot is back, that count as being left without one."""
DEADLINE = 540.0
"""The whole soak stops after this many seconds (under make soak's 10 minutes)."""
HELLO = "Hallå? Fungerar det här?"
THANKS_LINE = t.THANKS.split("\n")[0]
"""The thanks's first line: a message holding it is the thanks."""
WORDS = [
    "stöd", "tid", "lugn", "arbete", "praktik", "samtal", "handledare", "trygghet", "struktur",
    "mål", "vänlighet", "respekt", "kontinuitet", "flexibilitet", "ärlighet", "humor",
    "tålamod", "uppmuntran", "vardag", "rutiner", "motivation", "framtid", "kunskap",
    "självkänsla", "gemenskap", "hälsa", "sömn", "ekonomi", "bostad", "familj",
]


@dataclass
class Person:
    """One participant: what they mean to answer, what they gave, what they saw accepted."""

    phone: Phone
    token: str
    q: Questionnaire
    plan: dict[str, str]
    """Item id → the option value or text this person answers."""
    given: dict[str, list[str]] = field(default_factory=dict)
    acked: dict[str, str] = field(default_factory=dict)
    pending: tuple[str, str, int] | None = None
    """The answer given and not yet seen accepted: item id, value, the message it was given on."""
    acted_on: tuple[int, str] | None = None
    acted_at: float = 0.0
    patience: float = RESEND_AFTER
    waiting_since: float | None = None
    said_hello: bool = False
    paused: bool = False
    submitted: bool = False
    tapped_submit: bool = False
    opened: bool = False
    dirty: bool = True
    longest_left: float = 0.0


@dataclass
class Faults:
    """What is being done to the bot now, shared between the fault thread and the crowd."""

    active: str | None = None
    back_at: float = 0.0
    kills: int = 0
    phases: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def plan_for(q: Questionnaire, rng: random.Random, n: int) -> dict[str, str]:
    """Return a person's answers: a random option per question, and free text only they write."""
    plan: dict[str, str] = {}
    for k, item in enumerate(q.items):
        if item.scale is not None:
            plan[item.id] = rng.choice(item.scale.values)
        else:
            a, b = WORDS[n % len(WORDS)], WORDS[(n // len(WORDS) + k) % len(WORDS)]
            plan[item.id] = f"För mig var {a} och {b} viktigast, deltagare {_name(n)} fråga {k}."
    return plan


def _name(n: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return letters[n % 26] + letters[(n // 26) % 26] + letters[(n // 676) % 26]


def _item_on(q: Questionnaire, msg: BotMessage) -> Item | None:
    for item in q.items:
        if item.text in msg.text:
            return item
    return None


class Crowd:
    """The participants, driven by what is on each one's screen."""

    def __init__(self, api: FakeBotAPI, bot: BotUnderTest, tokens: dict[str, list[str]],
                 faults: Faults, rng: random.Random) -> None:
        """Prepare participants for the links in `tokens` (questionnaire id → links)."""
        self.api, self.bot, self.faults, self.rng = api, bot, faults, rng
        self.waiting: list[Person] = []
        n = 0
        for qid, links in tokens.items():
            q = get(qid)
            for token in links:
                phone = api.phone(7_100_000 + n, first_name=f"Soak{n}")
                self.waiting.append(Person(phone, token, q, plan_for(q, rng, n)))
                n += 1
        rng.shuffle(self.waiting)
        self.active: dict[int, Person] = {}
        self.done: list[Person] = []
        self.everyone: list[Person] = list(self.waiting)
        self.false_saved: list[str] = []
        self.false_saved_people: list[Person] = []
        self.transcripts: list[str] = []
        self.told_already_sent = 0
        self.told_people: list[Person] = []
        self.t0 = time.time()
        self._lock = threading.Lock()
        api.add_listener(self._listen)

    def _listen(self, chat_id: int, event: ChatEvent) -> None:
        if event.actor != "bot":
            return
        with self._lock:
            person = self.active.get(chat_id)
            if person is None:
                return
            person.dirty = True
            claim = None
            if event.kind == "message" and event.message is not None:
                text = event.message.text
                if "Dina svar är sparade" in text or "bekräftade är sparade" in text:
                    claim = (person, text, dict(person.acked))
        if claim is not None:
            # Checked now, as the bot sends it: the claim is about this moment, and a moment
            # later the person may have tapped Skicka in (the session is then rightly gone).
            self._check_saved_claim(*claim)

    def fill_up(self, more: bool) -> None:
        """Bring the crowd up to AT_A_TIME people (no new ones once `more` is False)."""
        while more and len(self.active) < AT_A_TIME and self.waiting:
            person = self.waiting.pop()
            with self._lock:
                self.active[person.phone.user_id] = person
            self._act(person, f"/start {person.token}", None)
            person.opened = True

    def tick(self, now: float) -> None:
        """Let every active person look at their screen and act."""
        for person in list(self.active.values()):
            self._look(person, now)

    def _act(self, person: Person, text: str | None, tap: tuple[BotMessage, str] | None) -> None:
        person.acted_at = time.monotonic()
        if person.waiting_since is None:
            person.waiting_since = person.acted_at
        if tap is not None:
            msg, label = tap
            try:
                person.phone.tap(label, msg)
            except AssertionError:
                person.dirty = True  # the message changed under the finger: look again
        elif text is not None:
            person.phone.send(text)

    def _look(self, person: Person, now: float) -> None:
        self._note_left(person, now)
        silent = now - person.acted_at
        if not person.dirty and silent < person.patience:
            return
        person.dirty = False
        msgs = person.phone.messages
        thanked = any(THANKS_LINE in m.text for m in msgs)
        if thanked and (person.tapped_submit or THANKS_LINE in msgs[-1].text):
            # Replies to what they sent while waiting may come after the thanks; it is on
            # their screen all the same, and nothing is left to answer.
            self._finish(person)
            return
        if person.tapped_submit and any(m.text == t.BUTTON_OF_ENDED_SURVEY for m in msgs):
            # Skicka in tapped again after a kill and told the survey is already sent in, never
            # thanked: true, and the end, but counted (the thanks should have come).
            self.told_already_sent += 1
            self.told_people.append(person)
            self._finish(person)
            return
        screen = next((m for m in reversed(msgs) if m.buttons), None)
        waiting = screen is None or (screen.message_id, screen.text) == person.acted_on
        if (self.faults.active == "down" and not self.bot.running and waiting
                and not person.said_hello and silent > 2.0):
            person.said_hello = True  # typed while the bot is down: never an answer
            person.phone.send(HELLO)
            return
        if screen is None:
            if silent >= person.patience:
                person.patience = min(person.patience * 2, RESEND_MAX)
                self._act(person, "/start" if person.opened else f"/start {person.token}", None)
            return
        key = (screen.message_id, screen.text)
        fresh = key != person.acted_on
        if not fresh and silent < person.patience:
            return
        person.patience = RESEND_AFTER if fresh else min(person.patience * 2, RESEND_MAX)
        labels = [label for row in screen.buttons for label in row]
        item = _item_on(person.q, screen)
        if fresh:
            person.waiting_since = None
            self._acknowledge(person, screen, item, labels)
        person.acted_on = key
        if t.BUTTON_START in labels:
            self._act(person, None, (screen, t.BUTTON_START))
        elif t.BUTTON_SUBMIT in labels:
            person.tapped_submit = True
            self._act(person, None, (screen, t.BUTTON_SUBMIT))
        elif item is not None:
            if fresh and not person.paused and self.rng.random() < 0.03:
                person.paused = True
                self._act(person, "/avbryt", None)
                return
            person.paused = False
            value = person.plan[item.id]
            person.pending = (item.id, value, screen.message_id)
            person.given.setdefault(item.id, []).append(value)
            if item.scale is None:
                self._act(person, value, None)
            else:
                option = item.scale.option(value)
                assert option is not None
                self._act(person, None, (screen, option.label))
        elif t.BUTTON_DELETE_NO in labels:
            self._act(person, None, (screen, t.BUTTON_DELETE_NO))
        else:
            self._act(person, "/start", None)

    def _acknowledge(self, person: Person, screen: BotMessage, now_on: Item | None,
                     labels: list[str]) -> None:
        if person.pending is None:
            return
        item_id, value, given_on = person.pending
        if screen.message_id < given_on:
            return  # an older message that still has buttons: not the bot's next step
        if now_on is None and t.BUTTON_SUBMIT not in labels:
            return  # a confirmation or the greeting: nothing says the answer was taken
        if now_on is not None and now_on.id == item_id:
            return  # still on that question: not accepted (yet)
        person.acked[item_id] = value
        person.pending = None

    def _finish(self, person: Person) -> None:
        if person.pending is not None:
            item_id, value, _ = person.pending
            person.acked[item_id] = value
            person.pending = None
        person.submitted = True
        with self._lock:
            self.active.pop(person.phone.user_id, None)
        self.done.append(person)

    def _note_left(self, person: Person, now: float) -> None:
        if person.waiting_since is None or self.faults.active is not None:
            return
        since = max(person.waiting_since, self.faults.back_at)
        person.longest_left = max(person.longest_left, now - since)

    def _check_saved_claim(self, person: Person, text: str, acked: dict[str, str]) -> None:
        with closing(open_store(self.bot.db_path)) as store:
            state = SurveyService(store, remind=False).load_flow(person.phone.user_id)
        stored = dict(state.survey.answers) if state is not None else {}
        missing = [k for k, v in acked.items() if stored.get(k) != v]
        if missing:
            with self._lock:
                self.false_saved.append(f"{person.phone.name}: {text[:40]!r} {missing}")
                self.false_saved_people.append(person)


def _transcript(person: Person, t0: float) -> str:
    lines = [f"== {person.phone.name} ({person.q.id}), left {person.longest_left:.1f} s"]
    for e in person.phone.events:
        text = (e.text or "").replace("\n", " | ")[:150]
        lines.append(f"{e.time - t0:7.1f} {e.actor:5} {e.kind:8} {text}")
    return "\n".join(lines)


@contextmanager
def small_disk(folder: Path) -> Iterator[Path | None]:
    """Yield a 8 MiB tmpfs mounted under `folder` (None when this is not root)."""
    mnt = folder / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], capture_output=True
    ).returncode:
        yield None
        return
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def run_faults(api: FakeBotAPI, bot: BotUnderTest, faults: Faults, disk: Path | None,
               rng: random.Random, stop: threading.Event, kills: int, scale: float) -> None:
    """Do every fault in turn: kills, 429 storm, dropped connections, full disk."""

    def calm(seconds: float) -> None:
        faults.active = None
        faults.back_at = time.monotonic()
        stop.wait(seconds)

    calm(8 * scale)
    faults.phases.append("kills")
    while faults.kills < kills and not stop.is_set():
        stop.wait(rng.uniform(0.5, 3.0))
        faults.active = "down"
        bot.kill()
        faults.kills += 1
        if rng.random() < 0.3:
            stop.wait(rng.uniform(2.5, 4.0))  # down long enough for someone to write Hallå
        bot.start()
        faults.active = None
        faults.back_at = time.monotonic()
    calm(10 * scale)
    faults.phases.append("429 storm")
    faults.active = "storm"
    api.storm("flood", 0.3, retry_after=1, seed=rng.randrange(1 << 30))
    stop.wait(40 * scale)
    api.calm()
    calm(10 * scale)
    faults.phases.append("dropped connections")
    faults.active = "storm"
    api.storm("error", 0.3, status=None, perform=False, seed=rng.randrange(1 << 30))
    stop.wait(20 * scale)
    api.storm("error", 0.3, status=None, perform=True, seed=rng.randrange(1 << 30))
    stop.wait(20 * scale)
    api.calm()
    calm(10 * scale)
    if disk is None:
        faults.skipped.append("full disk (needs root for a tmpfs)")
    else:
        faults.phases.append("full disk")
        faults.active = "disk"
        filler = fill(disk)
        stop.wait(20 * scale)
        filler.unlink()
        calm(0)


def compare(crowd: Crowd, db_path: Path) -> dict[str, list[str]]:
    """Return the problems found per figure, comparing every person with the database."""
    found: dict[str, list[str]] = {
        "lost": [], "duplicated": [], "never_given": [], "left": [], "false_saved": [],
    }
    with closing(open_store(db_path)) as store:
        responses: dict[str, dict[str, str | None]] = {}
        enkat_of: dict[str, str] = {}
        for row in store.db.query("SELECT id, enkat FROM response"):
            responses[row["id"]] = {}
            enkat_of[row["id"]] = row["enkat"]
        for row in store.db.query("SELECT response_id, item_id, value FROM answer"):
            responses[row["response_id"]][row["item_id"]] = row["value"]
        matched: Counter[int] = Counter()
        owner: dict[str, Person] = {}
        for rid, answers in responses.items():
            candidates = [p for p in crowd.everyone if p.q.id == enkat_of[rid]]
            best = max(candidates, key=lambda p: sum(
                answers.get(k) == v for k, v in p.plan.items()), default=None)
            if best is None:
                found["duplicated"].append(f"response {rid[:8]} belongs to nobody")
                continue
            owner[rid] = best
            matched[best.phone.user_id] += 1
        service = SurveyService(store, remind=False)
        for person in crowd.everyone:
            name = person.phone.name
            problems = sum(len(v) for v in found.values())
            if matched[person.phone.user_id] > 1:
                found["duplicated"].append(f"{name}: {matched[person.phone.user_id]} responses")
            stored: dict[str, str | None] = {}
            rids = [rid for rid, p in owner.items() if p is person]
            if rids:
                stored = responses[rids[0]]
            else:
                state = service.load_flow(person.phone.user_id)
                if state is not None:
                    stored = dict(state.survey.answers)
            for item_id, value in person.acked.items():
                if stored.get(item_id) != value:
                    found["lost"].append(f"{name}: {item_id} {value!r} → {stored.get(item_id)!r}")
            for item_id, value in stored.items():
                if value is not None and value not in person.given.get(item_id, []):
                    found["never_given"].append(f"{name}: {item_id} = {value!r}")
            if person.longest_left > LEFT_AFTER:
                found["left"].append(f"{name}: {person.longest_left:.1f} s")
            if sum(len(v) for v in found.values()) > problems:
                crowd.transcripts.append(_transcript(person, crowd.t0))
    found["false_saved"] = list(crowd.false_saved)
    crowd.transcripts.extend(_transcript(p, crowd.t0) for p in crowd.false_saved_people)
    crowd.transcripts.extend(_transcript(p, crowd.t0) for p in crowd.told_people)
    return found


def main(argv: list[str] | None = None) -> int:
    """Run the soak; print the figures; return 1 unless all five are 0 and no fault skipped."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--deltagare", type=int, default=150, help="participants in all")
    parser.add_argument("--kills", type=int, default=KILLS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skala", type=float, default=1.0,
                        help="how long each storm lasts, as a share of the full soak's")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp, small_disk(Path(tmp)) as disk, \
            FakeBotAPI(token=TOKEN, bot_username=BOT_USERNAME) as api:
        folder = disk if disk is not None else Path(tmp)
        work = Path(tmp) / "work"
        work.mkdir()
        bot = BotUnderTest(api, folder / "enkatbot.db", work)
        bot.check_callbacks_answered = False
        half = args.deltagare // 2
        with closing(open_store(bot.db_path)) as store:
            tokens = {
                "deltagare-avslut": store.create_links(INSATS, "deltagare-avslut", count=half),
                "deltagare-pagaende": store.create_links(
                    INSATS, "deltagare-pagaende", count=args.deltagare - half),
            }
        bot.start()
        faults = Faults(back_at=time.monotonic())
        crowd = Crowd(api, bot, tokens, faults, rng)
        stop = threading.Event()
        fault_thread = threading.Thread(
            target=run_faults, args=(api, bot, faults, disk, rng, stop, args.kills, args.skala),
            name="faults", daemon=True)
        fault_thread.start()
        while time.monotonic() - started < DEADLINE:
            now = time.monotonic()
            crowd.fill_up(more=fault_thread.is_alive())
            crowd.tick(now)
            if not fault_thread.is_alive() and not crowd.active:
                break
            time.sleep(0.05)  # the crowd's pace: a person looks at their phone 20 times a second
        stop.set()
        fault_thread.join(60)
        unfinished = len(crowd.active)
        logs = Path(__file__).parent / ".cache" / "soak-loggar"
        shutil.rmtree(logs, ignore_errors=True)
        shutil.copytree(work, logs)
        for person in list(crowd.active.values())[:3]:
            crowd.transcripts.append(_transcript(person, crowd.t0))
        bot.stop()
        found = compare(crowd, bot.db_path)
    took = time.monotonic() - started
    print(f"soak: {len(crowd.everyone)} participants ({AT_A_TIME} at a time), "
          f"{len(crowd.done)} submitted, {unfinished} unfinished at the end, {took:.0f} s")
    print(f"faults: {faults.kills} SIGKILLs, then " + ", ".join(faults.phases[1:]))
    print(f"{crowd.told_already_sent} tapped Skicka in again after a kill and were told "
          "'redan inskickad' without ever seeing the thanks")
    labels = {
        "lost": "acknowledged answers lost",
        "duplicated": "answers duplicated",
        "never_given": "answers stored that the participant never gave for that question",
        "left": f"participants left without a question > {LEFT_AFTER:.0f} s after the bot was back",
        "false_saved": 'false "sparade" messages',
    }
    for key, label in labels.items():
        print(f"  {len(found[key]):4d}  {label}")
        for line in found[key][:5]:
            print(f"          {line}")
    if crowd.transcripts:
        out = Path(__file__).parent / ".cache" / "soak-utskrifter.txt"
        out.parent.mkdir(exist_ok=True)
        out.write_text("\n\n".join(crowd.transcripts), "utf-8")
        print(f"transcripts of the participants behind a figure: {out}")
    for skipped in faults.skipped:
        print(f"SKIPPED: {skipped}")
    ok = all(not v for v in found.values()) and not faults.skipped and faults.kills >= args.kills
    print("soak: " + ("all 0" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
