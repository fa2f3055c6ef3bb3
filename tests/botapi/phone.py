"""Simulated Telegram users ("phones") and group chats that talk to the bot under test.

Waiting is cursor based so tests stay deterministic: every user action (send, tap, edit, ...)
moves the view's cursor to "now", and ``wait_for`` only considers bot messages and edits that
happened after the cursor; a match moves the cursor past it. So two ``wait_for`` calls in a row
see two different bot events, and a reply to an earlier action can never satisfy a later wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.botapi.chatstate import _Chat
    from tests.botapi.server import FakeBotAPI

__all__ = ["BotMessage", "ChatEvent", "ChatView", "Group", "Phone"]

# Smallest valid PNG (1x1, transparent) so default photos survive image sniffing in bots.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


@dataclass(frozen=True)
class BotMessage:
    """Immutable snapshot of a message as Telegram would show it at one point in time."""

    message_id: int
    chat_id: int
    date: int
    from_user: dict[str, Any]
    text: str = ""
    entities: tuple[dict[str, Any], ...] = ()
    caption: str | None = None
    reply_markup: dict[str, Any] | None = None
    kind: str = "text"
    photo_bytes: bytes | None = None
    document_bytes: bytes | None = None
    document_name: str | None = None
    mime_type: str | None = None
    file_id: str | None = None
    edit_date: int | None = None
    reply_to_message_id: int | None = None
    parse_mode: str | None = None
    deleted: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def sender_id(self) -> int:
        """Return the sender's user id."""
        return int(self.from_user["id"])

    @property
    def is_from_bot(self) -> bool:
        """Return True when the bot (not a phone) sent this message."""
        return bool(self.from_user.get("is_bot"))

    @property
    def content(self) -> str:
        """Return the text, or the caption for media messages ("" when neither)."""
        return self.text or self.caption or ""

    @property
    def buttons(self) -> list[list[str]]:
        """Return the inline keyboard labels as rows (empty list without an inline keyboard)."""
        return [[b.get("text", "") for b in row] for row in self._inline_rows()]

    @property
    def callback_data(self) -> list[list[str | None]]:
        """Return the inline keyboard's callback_data as rows (None for non-callback buttons)."""
        return [[b.get("callback_data") for b in row] for row in self._inline_rows()]

    def button(self, label: str) -> dict[str, Any]:
        """Return the inline button dict with exactly this label; raise AssertionError if none."""
        for row in self._inline_rows():
            for btn in row:
                if btn.get("text") == label:
                    return btn
        raise AssertionError(
            f"message #{self.message_id} has no button {label!r}; buttons: {self.buttons}"
        )

    def _inline_rows(self) -> list[list[dict[str, Any]]]:
        if not self.reply_markup:
            return []
        return list(self.reply_markup.get("inline_keyboard") or [])

    def describe(self) -> str:
        """Return a one-line human-readable rendering used in transcripts."""
        body = self.text
        if self.kind == "photo":
            size = len(self.photo_bytes) if self.photo_bytes is not None else "?"
            body = f"<photo {size} bytes>" + (f" {self.caption}" if self.caption else "")
        elif self.kind == "document":
            size = len(self.document_bytes) if self.document_bytes is not None else "?"
            body = f"<document {self.document_name!r} {size} bytes>" + (
                f" {self.caption}" if self.caption else ""
            )
        elif self.kind != "text":
            body = f"<{self.kind}>" + (f" {self.caption}" if self.caption else "")
        if self.buttons:
            body += "  " + " / ".join(" ".join(f"[{b}]" for b in row) for row in self.buttons)
        return body


@dataclass(frozen=True)
class ChatEvent:
    """One entry of a chat's history: kind is message/edit/tap/delete/action/system."""

    seq: int
    kind: str
    actor: str
    time: float
    text: str
    message: BotMessage | None = None


class ChatView:
    """Common test-facing behaviour of a private chat or a group as seen by one test handle."""

    def __init__(self, api: FakeBotAPI, chat_id: int) -> None:
        self._api = api
        self.chat_id = chat_id
        self._cursor = 0

    @property
    def _chat(self) -> _Chat:
        return self._api._chats[self.chat_id]

    @property
    def messages(self) -> list[BotMessage]:
        """Return the bot's messages in this chat, oldest first, in their current state."""
        with self._api._cond:
            return [
                m.snapshot()
                for m in self._chat.messages.values()
                if m.from_bot and not m.deleted and m.kind != "service"
            ]

    @property
    def last(self) -> BotMessage:
        """Return the newest bot message; raise AssertionError if the bot has sent none."""
        msgs = self.messages
        if not msgs:
            raise AssertionError(f"the bot has sent nothing in chat {self.chat_id}")
        return msgs[-1]

    @property
    def events(self) -> list[ChatEvent]:
        """Return the chat's full event history, oldest first."""
        with self._api._cond:
            return list(self._chat.events)

    @property
    def keyboard(self) -> list[list[str]]:
        """Return the labels of the reply keyboard currently shown (empty if none)."""
        with self._api._cond:
            markup = self._chat.reply_keyboard
        if not markup:
            return []
        return [[b if isinstance(b, str) else b.get("text", "") for b in row] for row in markup]

    def transcript(self) -> str:
        """Return the whole conversation as readable text, one event per line."""
        with self._api._cond:
            chat = self._chat
            lines = [f"--- chat {chat.id} ({chat.label()}) ---"]
            lines += [f"{e.seq:>4} {e.actor}: {e.text}" for e in chat.events]
        return "\n".join(lines)

    def mark(self) -> None:
        """Move the cursor to now, so only later bot events satisfy ``wait_for``."""
        with self._api._cond:
            self._cursor = self._api._event_seq

    def wait_for(
        self,
        predicate: Callable[[BotMessage], bool] | None = None,
        timeout: float = 10.0,
        *,
        since_start: bool = False,
        consume: bool = True,
    ) -> BotMessage:
        """Wait for a new or edited bot message in this chat that satisfies ``predicate``.

        Only events after the cursor count (see module docstring); ``since_start=True`` scans
        the whole history instead. ``consume=False`` leaves the cursor before the event, for
        an event that is also the next thing to wait for (a message edited into the next
        step). Returns the message as it was at that event. Raises AssertionError with the
        chat transcript on timeout.
        """
        check = predicate or (lambda _m: True)
        deadline = time.monotonic() + timeout
        start = 0 if since_start else self._cursor
        with self._api._cond:
            while True:
                for event in self._chat.events:
                    if event.seq <= start or event.message is None:
                        continue
                    if (
                        event.kind in ("message", "edit")
                        and event.message.is_from_bot
                        and check(event.message)
                    ):
                        if consume:
                            self._cursor = max(self._cursor, event.seq)
                        return event.message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._api._cond.wait(min(remaining, 0.5))
            earlier = [
                e for e in self._chat.events
                if e.seq <= start and e.message is not None and e.message.is_from_bot
                and e.kind in ("message", "edit") and check(e.message)
            ]
        hint = ""
        if earlier:
            hint = (
                f"\n(note: event {earlier[-1].seq} matched but lies before the cursor {start}: "
                "it was already consumed or came before your last action)"
            )
        raise AssertionError(
            f"no matching bot message in chat {self.chat_id} within {timeout}s{hint}\n"
            + self.transcript()
        )

    def wait_for_text(self, needle: str, timeout: float = 10.0) -> BotMessage:
        """Wait for a new or edited bot message whose text or caption contains ``needle``."""
        return self.wait_for(lambda m: needle in m.content, timeout)

    def expect_nothing_before(
        self,
        act: Callable[[], object],
        reply: Callable[[BotMessage], bool],
        timeout: float = 10.0,
    ) -> BotMessage:
        """Do ``act`` and wait for the bot's ``reply`` to it; assert the bot did nothing else.

        Nothing sent, edited or deleted in this chat since the cursor (the last action or
        match) other than that reply. This is a wait on the bot, not on a clock, when the bot
        handles the chat's updates in order: once it has answered ``act``, it has handled
        everything that came before. Returns the reply.
        """
        with self._api._cond:
            start = self._cursor
        act()
        found = self.wait_for(reply, timeout)
        with self._api._cond:
            end = self._cursor
            extra = [e for e in self._bot_events_after(start) if e.seq != end]
        if extra:
            raise AssertionError(
                f"unexpected bot event {extra[0].text!r} before the reply\n{self.transcript()}"
            )
        return found

    def expect_nothing_yet(self) -> None:
        """Assert the bot has sent, edited or deleted nothing here since the cursor.

        Checks at once: use it only when something else already shows the bot is done (it is
        stopped, it left the chat, or it logged that the job in question has run).
        """
        with self._api._cond:
            extra = self._bot_events_after(self._cursor)
        if extra:
            raise AssertionError(f"unexpected bot event {extra[0].text!r}\n{self.transcript()}")

    def _bot_events_after(self, seq: int) -> list[ChatEvent]:
        return [
            e for e in self._chat.events
            if e.seq > seq and e.actor == "bot" and e.kind in ("message", "edit", "delete")
        ]

    def _find_tap_target(self, label: str, message: BotMessage | int | None) -> int:
        with self._api._cond:
            if message is not None:
                mid = message if isinstance(message, int) else message.message_id
                current = self._chat.messages.get(mid)
                if current is None or current.deleted:
                    raise AssertionError(f"message #{mid} does not exist\n{self.transcript()}")
                current.snapshot().button(label)
                return mid
            for msg in reversed(list(self._chat.messages.values())):
                if msg.from_bot and not msg.deleted and label in _flat(msg.snapshot().buttons):
                    return msg.message_id
        raise AssertionError(f"no bot message has a button {label!r}\n{self.transcript()}")

    def _tap(self, sender: Phone, label: str, message: BotMessage | int | None) -> str:
        mid = self._find_tap_target(label, message)
        with self._api._cond:
            btn = self._chat.messages[mid].snapshot().button(label)
        if "callback_data" not in btn:
            raise AssertionError(f"button {label!r} is not a callback button: {btn}")
        return self._api._user_callback(self, sender, mid, btn["callback_data"], label)


def _flat(rows: list[list[str]]) -> list[str]:
    return [label for row in rows for label in row]


class Phone(ChatView):
    """A Telegram user with a private chat with the bot (chat id == user id)."""

    def __init__(self, api: FakeBotAPI, user: dict[str, Any]) -> None:
        super().__init__(api, int(user["id"]))
        self.user = user

    @property
    def user_id(self) -> int:
        """Return the Telegram user id."""
        return int(self.user["id"])

    @property
    def name(self) -> str:
        """Return the user's first name."""
        return str(self.user["first_name"])

    def send(self, text: str, *, reply_to: int | None = None) -> int:
        """Send a text message to the bot; return its message_id."""
        return self._api._user_message(self, self, {"text": text}, reply_to=reply_to)

    def press(self, label: str) -> int:
        """Press a reply-keyboard key (sends its label as text); return the message_id."""
        if label not in _flat(self.keyboard):
            raise AssertionError(f"no reply keyboard key {label!r}\n{self.transcript()}")
        return self.send(label)

    def tap(self, label: str, message: BotMessage | int | None = None) -> str:
        """Press the inline button ``label`` on ``message`` or on the newest bot message that
        has a button with that label. Returns the callback query id."""
        return self._tap(self, label, message)

    def tap_data(self, message_id: int, data: str, *, sender: Phone | None = None) -> str:
        """Send a callback query with arbitrary (forged) data; return its id.

        `sender` makes another user the one who tapped, as a forged update would.
        """
        return self._api._user_callback(self, sender or self, message_id, data, None)

    def send_photo(self, data: bytes = TINY_PNG, caption: str | None = None) -> int:
        """Send a photo; return its message_id."""
        return self._api._user_media(self, self, "photo", data, "photo.png", "image/png", caption)

    def send_document(
        self,
        data: bytes = b"hello",
        file_name: str = "file.txt",
        mime_type: str = "text/plain",
        caption: str | None = None,
    ) -> int:
        """Send a document; return its message_id."""
        return self._api._user_media(self, self, "document", data, file_name, mime_type, caption)

    def send_voice(self, data: bytes = b"OggS\x00voice", duration: int = 1) -> int:
        """Send a voice note; return its message_id."""
        return self._api._user_media(
            self, self, "voice", data, "voice.ogg", "audio/ogg", None, duration=duration
        )

    def send_sticker(self, emoji: str = "\U0001f44d") -> int:
        """Send a sticker; return its message_id."""
        return self._api._user_media(
            self, self, "sticker", b"RIFF\x00\x00\x00\x00WEBP", "sticker.webp", "image/webp",
            None, emoji=emoji,
        )

    def edit(self, message_id: int, text: str) -> None:
        """Edit one of this user's own text messages (the bot gets an edited_message update)."""
        self._api._user_edit(self, self, message_id, text)

    def block(self) -> None:
        """Block the bot: later sends fail with 403 and a my_chat_member update is queued."""
        self._api._set_blocked(self, True)

    def unblock(self) -> None:
        """Unblock the bot (my_chat_member update back to member)."""
        self._api._set_blocked(self, False)


class Group(ChatView):
    """A group or supergroup chat; actions are performed by ``member`` unless told otherwise."""

    def __init__(self, api: FakeBotAPI, chat_id: int, member: Phone) -> None:
        super().__init__(api, chat_id)
        self.member = member

    def send(self, text: str, *, sender: Phone | None = None, reply_to: int | None = None) -> int:
        """Send a text message to the group; return its message_id."""
        return self._api._user_message(
            self, sender or self.member, {"text": text}, reply_to=reply_to
        )

    def tap(
        self, label: str, message: BotMessage | int | None = None, *, sender: Phone | None = None
    ) -> str:
        """Press an inline button in the group (see :meth:`Phone.tap`); return the query id."""
        return self._tap(sender or self.member, label, message)

    def tap_data(self, message_id: int, data: str, *, sender: Phone | None = None) -> str:
        """Send a forged callback query in the group; return its id."""
        return self._api._user_callback(self, sender or self.member, message_id, data, None)

    def add_bot(self, *, by: Phone | None = None) -> None:
        """Add the bot to the group: queues a new_chat_members message and my_chat_member."""
        self._api._add_bot_to_group(self, by or self.member)
