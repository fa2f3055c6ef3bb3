"""Simulated participants who answer continuously, driven from one thread.

Each participant always has exactly one thing in flight: it taps (or types /start) and waits
for the bot's reaction, then acts again at once (no think time, a closed loop). Once thanked,
its place is taken by the next person, in a chat of their own, on the same many-use link: one
person answers one survey, as in life (one phone finishing six surveys a second in one chat
would only measure Telegram's limit of about one message a second per chat). The reaction
to an answer is the next bot event in that chat that carries buttons (a new question, or the
overview): turnaround is the time from the tap to that event, both taken from the fake Bot
API's own clock. The same driver runs the real bot and the bare floor bot.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from dataclasses import dataclass, field

from bot.texts import deltagare as t
from tests.botapi import FakeBotAPI, Phone
from tests.botapi.phone import BotMessage, ChatEvent

NEXT_PERSON_IDS = 20_000_000
"""User ids of the people who take a thanked participant's place (above every bench id)."""
STUCK_AFTER = 30.0
"""Seconds without a reaction after which a participant counts as stuck."""


@dataclass
class Participant:
    """One phone with its link, and what it is waiting for."""

    phone: Phone
    token: str | None
    waiting_since: float = 0.0
    answering: bool = False
    turnarounds: list[tuple[float, float]] = field(default_factory=list)
    """(time of the reaction, seconds from tap to reaction), one per answered question."""


@dataclass
class Reply:
    """A bot event in a participant's chat (for gap measurements)."""

    chat_id: int
    time: float


class Crowd:
    """Participants driven by bot events; `start()` begins, `stop()` ends, figures after."""

    def __init__(self, api: FakeBotAPI, participants: list[Participant]) -> None:
        """Listen to `api` for the participants' chats (not yet acting)."""
        self.api = api
        self.by_chat = {p.phone.user_id: p for p in participants}
        self.events: queue.Queue[tuple[int, ChatEvent] | None] = queue.Queue()
        self.replies: list[Reply] = []
        self.observers: dict[int, queue.Queue[BotMessage]] = {}
        self._thread = threading.Thread(target=self._run, name="crowd", daemon=True)
        self._running = False
        self._people = 0
        api.add_listener(self._listen)

    def _listen(self, chat_id: int, event: ChatEvent) -> None:
        if event.actor != "bot" or event.message is None:
            return
        observer = self.observers.get(chat_id)
        if observer is not None:
            observer.put(event.message)
        if chat_id in self.by_chat:
            self.replies.append(Reply(chat_id, event.time))
            if self._running:
                self.events.put((chat_id, event))

    def start(self) -> None:
        """Have every participant open its survey, then keep answering."""
        self._running = True
        self._thread.start()
        for p in self.by_chat.values():
            self._open(p)

    def stop(self) -> None:
        """Stop acting (the bot may still answer what is in flight)."""
        self._running = False
        self.events.put(None)
        self._thread.join(10)

    def _next_person(self, p: Participant) -> None:
        self._people += 1
        phone = self.api.phone(NEXT_PERSON_IDS + self._people, f"{p.phone.name}.{self._people}")
        self.by_chat.pop(p.phone.user_id, None)
        p.phone = phone
        self.by_chat[phone.user_id] = p

    def _open(self, p: Participant) -> None:
        p.waiting_since = time.time()
        p.answering = False
        p.phone.send(f"/start {p.token}" if p.token else "/start")

    def _run(self) -> None:
        while True:
            item = self.events.get()
            if item is None or not self._running:
                return
            chat_id, event = item
            p = self.by_chat[chat_id]
            if p.waiting_since == 0.0:
                continue  # a second reaction to one action: the first one was acted on
            msg = event.message
            assert msg is not None
            self._react(p, event, msg)

    def _react(self, p: Participant, event: ChatEvent, msg: BotMessage) -> None:
        labels = [label for row in msg.buttons for label in row]
        if not labels:
            if t.THANKS.split("\n")[0] in msg.text:
                self._next_person(p)
                self._open(p)
            return
        if p.answering:
            p.turnarounds.append((event.time, event.time - p.waiting_since))
        data = msg.callback_data
        if t.BUTTON_START in labels:
            label = t.BUTTON_START
            p.answering = False
        elif t.BUTTON_SUBMIT in labels:
            label = t.BUTTON_SUBMIT
            p.answering = False
        else:
            label = msg.buttons[0][0]
            p.answering = True
        chosen = next(
            d for row, drow in zip(msg.buttons, data, strict=True)
            for lab, d in zip(row, drow, strict=True) if lab == label
        )
        assert chosen is not None
        p.waiting_since = time.time()
        p.phone.tap_data(msg.message_id, chosen)

    def all_answering(self) -> bool:
        """Return True once every participant has had at least one answer turned around."""
        return all(p.turnarounds for p in self.by_chat.values())

    def turnarounds(self, start: float, end: float) -> list[float]:
        """Return the turnarounds (seconds) of answers whose reaction came in [start, end)."""
        return [
            d for p in self.by_chat.values() for when, d in p.turnarounds if start <= when < end
        ]

    def stuck(self, now: float) -> int:
        """Return how many participants have waited more than STUCK_AFTER for a reaction."""
        return sum(
            1 for p in self.by_chat.values()
            if p.waiting_since and now - p.waiting_since > STUCK_AFTER
        )

    def longest_gap(self, start: float, end: float) -> float:
        """Return the longest time (s) in [start, end] without a bot event to any participant."""
        times = sorted(r.time for r in self.replies if start <= r.time <= end)
        points = [start, *times, end]
        return max(b - a for a, b in itertools.pairwise(points))
