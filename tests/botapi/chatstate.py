"""Chat state: the chats, messages, updates, files and calls the fake Bot API keeps.

All state lives behind one condition variable: HTTP handler threads (one per connection) and
the test thread (phones) mutate it under the lock, and long polls / ``wait_for`` sleep on it.
"""

from __future__ import annotations

import json
import mimetypes
import random
import re
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.botapi.markup import utf16_len
from tests.botapi.phone import BotMessage, ChatEvent, ChatView, Group, Phone
from tests.botapi.transport import ApiError, UploadedFile

_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,64})?(?=\s|$)")


@dataclass(frozen=True)
class Call:
    """One HTTP request to a Bot API method, as logged by the server.

    ``params`` holds values decoded from their wire form (ints, bools, dicts for JSON objects);
    ``status`` is the HTTP status answered (0 when the connection was dropped on purpose).
    """

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    time: float
    status: int
    description: str | None = None

    @property
    def ok(self) -> bool:
        """Return True when the call succeeded."""
        return self.status == 200


@dataclass(frozen=True)
class CallbackAnswer:
    """An answerCallbackQuery the bot made."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    time: float




@dataclass
class _Injection:
    kind: str
    remaining: int
    retry_after: int = 1
    status: int | None = 502
    perform: bool = False


@dataclass
class _Storm:
    """A share of every call (but getUpdates) failing at random, until the storm is over."""

    injection: _Injection
    rate: float
    rng: random.Random
    methods: frozenset[str] | None = None
    hits: int = 0


@dataclass
class _StoredFile:
    file_id: str
    unique_id: str
    data: bytes | None
    name: str | None
    mime: str | None
    path: str
    url: str | None = None


@dataclass
class _Msg:
    chat: _Chat
    message_id: int
    date: int
    sender: dict[str, Any]
    from_bot: bool
    kind: str = "text"
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    file: _StoredFile | None = None
    media: dict[str, Any] = field(default_factory=dict)
    reply_to: int | None = None
    edit_date: int | None = None
    deleted: bool = False
    parse_mode: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self, nested: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "from": dict(self.sender),
            "chat": self.chat.json(),
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = [dict(e) for e in self.entities]
        if self.caption is not None:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = [dict(e) for e in self.caption_entities]
        if self.media:
            data.update(json.loads(json.dumps(self.media)))
        # Telegram echoes only inline keyboards in Message objects, never reply keyboards.
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = json.loads(json.dumps(self.reply_markup))
        if nested and self.reply_to is not None:
            target = self.chat.messages.get(self.reply_to)
            if target is not None and not target.deleted:
                data["reply_to_message"] = target.to_json(nested=False)
        data.update(self.extra)
        return data

    def snapshot(self) -> BotMessage:
        data = self.file.data if self.file else None
        return BotMessage(
            message_id=self.message_id,
            chat_id=self.chat.id,
            date=self.date,
            from_user=dict(self.sender),
            text=self.text or "",
            entities=tuple(dict(e) for e in self.entities),
            caption=self.caption,
            reply_markup=json.loads(json.dumps(self.reply_markup)) if self.reply_markup else None,
            kind=self.kind,
            photo_bytes=data if self.kind == "photo" else None,
            document_bytes=data if self.kind == "document" else None,
            document_name=self.file.name if self.file and self.kind == "document" else None,
            mime_type=self.file.mime if self.file else None,
            file_id=self.file.file_id if self.file else None,
            edit_date=self.edit_date,
            reply_to_message_id=self.reply_to,
            parse_mode=self.parse_mode,
            deleted=self.deleted,
            raw=self.to_json(),
        )


@dataclass
class _Chat:
    id: int
    type: str
    title: str | None = None
    user: dict[str, Any] | None = None
    next_message_id: int = 1
    messages: dict[int, _Msg] = field(default_factory=dict)
    events: list[ChatEvent] = field(default_factory=list)
    bot_member: bool = True
    blocked: bool = False
    started: bool = False
    reply_keyboard: list[list[Any]] | None = None
    one_time_keyboard: bool = False

    def json(self) -> dict[str, Any]:
        if self.type == "private" and self.user is not None:
            data: dict[str, Any] = {"id": self.id, "type": "private"}
            for key in ("first_name", "last_name", "username"):
                if self.user.get(key):
                    data[key] = self.user[key]
            return data
        return {"id": self.id, "type": self.type, "title": self.title or ""}

    def label(self) -> str:
        if self.user is not None:
            return f"private with {self.user.get('first_name')}"
        return f"{self.type} {self.title!r}"




def _image_size(data: bytes) -> tuple[int, int] | None:
    """Return (width, height) for PNG/JPEG/GIF/WebP/BMP bytes, None if not an image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data.startswith(b"GIF8") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data.startswith(b"BM") and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return width, abs(height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return 0, 0
    if data.startswith(b"\xff\xd8\xff"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return width, height
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            i += 2 + length
        return 0, 0
    return None


class ChatState:
    """The server's state and the changes a person's phone makes to it."""

    def __init__(
        self,
        token: str,
        *,
        bot_id: int | None,
        bot_username: str,
        bot_first_name: str,
        first_update_id: int,
        clock: Callable[[], float],
    ) -> None:
        """Start with no chats, no updates and no calls."""
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_user: dict[str, Any] = {
            "id": bot_id if bot_id is not None else (int(head) if head.isdigit() else 123456),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._clock = clock
        self._clock_offset = 0.0
        self._cond = threading.Condition(threading.RLock())
        self._chats: dict[int, _Chat] = {}
        self._views: dict[int, ChatView] = {}
        self._updates: deque[dict[str, Any]] = deque()
        self._next_update_id = first_update_id
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._polls_waiting = 0
        self._event_seq = 0
        self._callbacks: dict[str, dict[str, Any]] = {}
        self._next_callback = 4_000_000_000_001
        self._answers: list[CallbackAnswer] = []
        self._files: dict[str, _StoredFile] = {}
        self._next_file = 1
        self._calls: list[Call] = []
        self._listeners: list[Callable[[int, ChatEvent], None]] = []
        self.latency = 0.0
        self._injections: dict[str, deque[_Injection]] = {}
        self._storm: _Storm | None = None
        self._held: set[str] = set()
        self._holding: dict[str, int] = {}
        self._commands: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        self._settings: dict[str, Any] = {}
        self._left: list[int] = []
        self._webhook: dict[str, Any] = {"url": ""}
        self._closing = False

    # ----------------------------------------------------------------- internals: state

    def _now(self) -> int:
        return int(self._clock() + self._clock_offset)

    def advance_clock(self, seconds: float) -> None:
        """Move the clock that dates messages `seconds` ahead: time passes without a wait."""
        with self._cond:
            earlier = self._clock
            self._clock = lambda: earlier() + seconds

    def _add_event(
        self, chat: _Chat, kind: str, actor: str, text: str, message: BotMessage | None = None
    ) -> int:
        self._event_seq += 1
        event = ChatEvent(self._event_seq, kind, actor, time.time(), text, message)
        chat.events.append(event)
        for listener in self._listeners:
            listener(chat.id, event)
        self._cond.notify_all()
        return self._event_seq

    def _queue_update(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, kind: payload})
        self._cond.notify_all()
        return update_id

    def _new_msg(self, chat: _Chat, sender: dict[str, Any], from_bot: bool, **kw: Any) -> _Msg:
        msg = _Msg(
            chat=chat, message_id=chat.next_message_id, date=self._now(), sender=sender,
            from_bot=from_bot, **kw,
        )
        chat.next_message_id += 1
        chat.messages[msg.message_id] = msg
        return msg

    def _store_file(
        self, data: bytes | None, name: str | None, mime: str | None, folder: str,
        url: str | None = None,
    ) -> _StoredFile:
        n = self._next_file
        self._next_file += 1
        ext = (mimetypes.guess_extension(mime or "") or "") if not name else (
            "." + name.rsplit(".", 1)[1] if "." in name else ""
        )
        stored = _StoredFile(
            file_id=f"BQACAgQAAx{n:08d}fake", unique_id=f"AgAD{n:06d}", data=data, name=name,
            mime=mime, path=f"{folder}/file_{n}{ext}", url=url,
        )
        self._files[stored.file_id] = stored
        return stored

    def _user_message(
        self,
        view: ChatView,
        sender: Phone,
        content: dict[str, Any],
        *,
        reply_to: int | None = None,
        kind: str = "text",
        actor_text: str | None = None,
        media: dict[str, Any] | None = None,
        file: _StoredFile | None = None,
    ) -> int:
        with self._cond:
            chat = view._chat
            chat.started = True
            text = content.get("text")
            entities: list[dict[str, Any]] = []
            if text is not None:
                match = _COMMAND_RE.match(text)
                if match:
                    entities.append(
                        {"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}
                    )
            msg = self._new_msg(
                chat, dict(sender.user), False, kind=kind, text=text, entities=entities,
                caption=content.get("caption"), reply_to=reply_to, media=media or {}, file=file,
            )
            if chat.one_time_keyboard and text is not None and chat.reply_keyboard:
                labels = [
                    b if isinstance(b, str) else b.get("text") for row in chat.reply_keyboard
                    for b in row
                ]
                if text in labels:
                    chat.reply_keyboard = None
            self._queue_update("message", msg.to_json())
            view._cursor = self._add_event(
                chat, "user", sender.name, actor_text or f"#{msg.message_id} {text}"
            )
            return msg.message_id

    def _user_media(
        self,
        view: ChatView,
        sender: Phone,
        kind: str,
        data: bytes,
        name: str,
        mime: str,
        caption: str | None,
        **extra: Any,
    ) -> int:
        with self._cond:
            stored = self._store_file(data, name, mime, {"photo": "photos"}.get(kind, kind + "s"))
            base = {
                "file_id": stored.file_id, "file_unique_id": stored.unique_id,
                "file_size": len(data),
            }
            if kind == "photo":
                width, height = _image_size(data) or (1, 1)
                media: dict[str, Any] = {"photo": [{**base, "width": width, "height": height}]}
            elif kind == "document":
                media = {"document": {**base, "file_name": name, "mime_type": mime}}
            elif kind == "voice":
                media = {"voice": {**base, "duration": extra["duration"], "mime_type": mime}}
            else:
                media = {"sticker": {
                    **base, "type": "regular", "width": 512, "height": 512,
                    "is_animated": False, "is_video": False, "emoji": extra["emoji"],
                }}
            label = f"<{kind} {len(data)} bytes>" + (f" {caption}" if caption else "")
            return self._user_message(
                view, sender, {"caption": caption} if caption is not None else {},
                kind=kind, media=media, file=stored,
                actor_text=f"#{view._chat.next_message_id} {label}",
            )

    def _user_edit(self, view: ChatView, sender: Phone, message_id: int, text: str) -> None:
        with self._cond:
            chat = view._chat
            msg = chat.messages.get(message_id)
            if msg is None or msg.from_bot or msg.sender["id"] != sender.user_id:
                raise AssertionError(f"#{message_id} is not a message by {sender.name}")
            msg.text = text
            match = _COMMAND_RE.match(text)
            msg.entities = (
                [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]
                if match else []
            )
            msg.edit_date = self._now()
            self._queue_update("edited_message", msg.to_json())
            view._cursor = self._add_event(
                chat, "user-edit", sender.name, f"edited #{message_id} -> {text}"
            )

    def _user_callback(
        self, view: ChatView, sender: Phone, message_id: int, data: str, label: str | None
    ) -> str:
        with self._cond:
            chat = view._chat
            chat.started = True
            msg = chat.messages.get(message_id)
            if msg is None or msg.deleted:
                message = {"chat": chat.json(), "message_id": message_id, "date": 0}
            else:
                message = msg.to_json()
            cq_id = str(self._next_callback)
            self._next_callback += 1
            self._callbacks[cq_id] = {"answered": False, "data": data}
            self._queue_update("callback_query", {
                "id": cq_id,
                "from": dict(sender.user),
                "message": message,
                "chat_instance": f"-{abs(chat.id) * 7 + 1}",
                "data": data,
            })
            what = f"tapped [{label}]" if label is not None else f"callback data {data!r}"
            view._cursor = self._add_event(
                chat, "tap", sender.name, f"{what} on #{message_id} (query {cq_id})"
            )
            return cq_id

    def _member_update(self, chat: _Chat, by: dict[str, Any], old: str, new: str) -> None:
        def member(status: str) -> dict[str, Any]:
            # Telegram always sends until_date (0 = forever) for a kicked member, old or new.
            body: dict[str, Any] = {"status": status, "user": dict(self.bot_user)}
            if status == "kicked":
                body["until_date"] = 0
            return body

        self._queue_update("my_chat_member", {
            "chat": chat.json(),
            "from": dict(by),
            "date": self._now(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        })

    def _set_blocked(self, view: Phone, blocked: bool) -> None:
        with self._cond:
            chat = view._chat
            if chat.blocked == blocked:
                return
            chat.blocked = blocked
            old, new = ("member", "kicked") if blocked else ("kicked", "member")
            self._member_update(chat, view.user, old, new)
            view._cursor = self._add_event(
                chat, "system", view.name, "blocked the bot" if blocked else "unblocked the bot"
            )

    def _add_bot_to_group(self, view: Group, by: Phone) -> None:
        with self._cond:
            chat = view._chat
            old = "member" if chat.bot_member else "left"
            chat.bot_member = True
            msg = self._new_msg(
                chat, dict(by.user), False, kind="service", text=None,
                extra={"new_chat_members": [dict(self.bot_user)]},
            )
            self._queue_update("message", msg.to_json())
            self._member_update(chat, by.user, old, "member")
            view._cursor = self._add_event(chat, "system", by.name, "added the bot")

    def _serve_file(self, rest: str) -> tuple[int, str, bytes]:
        token, _, path = rest.partition("/")
        with self._cond:
            stored = next((f for f in self._files.values() if f.path == path), None)
        if token != self.token or stored is None or stored.data is None:
            body = json.dumps(ApiError(404, "Not Found").payload()).encode()
            return 404, "application/json", body
        return 200, stored.mime or "application/octet-stream", stored.data

