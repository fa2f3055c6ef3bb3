"""A fake Telegram Bot API server on loopback for end-to-end tests of the real bot process.

It speaks HTTP the way PTB's HTTPXRequest does (url-encoded forms, or multipart/form-data when
files are uploaded; every non-string value JSON-encoded) and answers in Telegram's JSON shapes,
including Telegram's error descriptions, so the bot's own error handling is exercised.

All state lives behind one condition variable: HTTP handler threads (one per connection) and
the test thread (phones) mutate it under the lock, and long polls / ``wait_for`` sleep on it.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.botapi.markup import EntityParseError, parse_text, utf16_len
from tests.botapi.phone import BotMessage, ChatEvent, ChatView, Group, Phone

__all__ = [
    "ApiError",
    "Call",
    "CallbackAnswer",
    "FakeBotAPI",
    "UploadedFile",
]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
# Logged (never sent) when the client hung up on a long poll, e.g. PTB cancelling it on stop.
CLIENT_CLOSED = 499
# Telegram's default when allowed_updates was never given (or given as []).
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,64})?(?=\s|$)")
_BOT_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")
_SELF_DESCRIBED_STRINGS = frozenset({
    "text", "caption", "callback_query_id", "parse_mode", "language_code", "url", "secret_token",
    "action", "inline_message_id", "description", "short_description", "name",
    "business_connection_id", "ip_address", "photo", "document", "file_id", "title",
})


class ApiError(Exception):
    """A Bot API error answer: HTTP status ``code`` with Telegram's ``description``."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """Return the JSON body Telegram sends for this error."""
        body: dict[str, Any] = {
            "ok": False, "error_code": self.code, "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes


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


class _Params:
    """Raw wire parameters (all strings) plus uploads, with typed accessors."""

    def __init__(
        self,
        raw: dict[str, str],
        files: dict[str, UploadedFile],
        client_gone: Callable[[], bool] = lambda: False,
    ) -> None:
        self.raw = raw
        self.files = files
        self.client_gone = client_gone

    def has(self, name: str) -> bool:
        return name in self.raw or name in self.files

    def get(self, name: str) -> str | None:
        return self.raw.get(name)

    def get_int(self, name: str) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except ValueError:
            raise _bad(f"invalid {name} specified") from None

    def get_float(self, name: str, default: float) -> float:
        value = self.raw.get(name)
        try:
            return float(value) if value not in (None, "") else default
        except ValueError:
            raise _bad(f"invalid {name} specified") from None

    def get_bool(self, name: str) -> bool:
        return (self.raw.get(name) or "").lower() in ("true", "1")

    def get_json(self, name: str, error: str) -> Any:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(error) from None

    def decoded(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.raw.items():
            if key in _SELF_DESCRIBED_STRINGS:
                out[key] = value
                continue
            try:
                out[key] = json.loads(value)
            except ValueError:
                out[key] = value
        return out


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


def _decode_form_param(value: str) -> str:
    # httpx quotes '"' as %22, control characters as %XX and doubles backslashes.
    value = re.sub(
        r"%(22|[01][0-9A-F])", lambda m: chr(int(m.group(1), 16)), value
    )
    return value.replace("\\\\", "\\")


def _parse_multipart(
    body: bytes, boundary: bytes
) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for part in (b"\r\n" + body).split(b"\r\n--" + boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part[2:].partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        params = {
            k.lower(): _decode_form_param(v)
            for k, v in re.findall(r';\s*([\w*-]+)="([^"]*)"', disposition)
        }
        name = params.get("name", "")
        if "filename" in params:
            files[name] = UploadedFile(
                field=name,
                filename=params["filename"],
                content_type=headers.get("content-type", "application/octet-stream"),
                data=data,
            )
        else:
            fields[name] = data.decode("utf-8")
    return fields, files


def _parse_request(
    query: str, content_type: str, body: bytes
) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    raw: dict[str, str] = dict(parse_qsl(query, keep_blank_values=True))
    files: dict[str, UploadedFile] = {}
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        match = re.search(r'boundary="?([^";]+)"?', content_type)
        if match:
            fields, files = _parse_multipart(body, match.group(1).encode())
            raw.update(fields)
    elif ctype == "application/json" and body:
        for key, value in json.loads(body.decode("utf-8")).items():
            raw[key] = value if isinstance(value, str) else json.dumps(value)
    elif body:
        raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return raw, files


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.api._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.api._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _dispatch(self) -> None:
        api = self.server.api
        url = urlsplit(self.path)
        # httpx percent-encodes the token's ':' in GET paths (file downloads).
        path = unquote(url.path)
        body = self._read_body()
        if path.startswith("/file/bot"):
            status, ctype, payload = api._serve_file(path[len("/file/bot") :])
            self._reply(status, payload, ctype)
            return
        match = re.fullmatch(r"/bot([^/]*)/([^/]+)", path)
        if match is None:
            self._reply(404, ApiError(404, "Not Found").payload())
            return
        try:
            raw, files = _parse_request(url.query, self.headers.get("Content-Type", ""), body)
        except (ValueError, UnicodeDecodeError):
            self._reply(400, _bad("invalid request body").payload())
            return
        status, payload = api._process(
            match.group(1), match.group(2), raw, files, self._client_gone
        )
        if status == 0 or status == CLIENT_CLOSED:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._reply(status, payload)

    def _client_gone(self) -> bool:
        try:
            return self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _reply(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            # The client gave up (e.g. a cancelled long poll); nothing left to tell it.
            self.close_connection = True


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: FakeBotAPI) -> None:
        self.api = api
        super().__init__(address, _Handler)


class FakeBotAPI:
    """In-process fake of api.telegram.org for one bot token.

    Use as a context manager (or ``start()``/``stop()``); point the bot at ``base_url``.
    """

    def __init__(
        self,
        token: str = "123456:TEST",
        *,
        bot_id: int | None = None,
        bot_username: str = "finsam_test_bot",
        bot_first_name: str = "Finsam Test Bot",
        host: str = "127.0.0.1",
        port: int = 0,
        first_update_id: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
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
        self._host = host
        self._port = port
        self._clock = clock
        self._cond = threading.Condition(threading.RLock())
        self._chats: dict[int, _Chat] = {}
        self._views: dict[int, ChatView] = {}
        self._updates: deque[dict[str, Any]] = deque()
        self._next_update_id = first_update_id
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._event_seq = 0
        self._callbacks: dict[str, dict[str, Any]] = {}
        self._next_callback = 4_000_000_000_001
        self._answers: list[CallbackAnswer] = []
        self._files: dict[str, _StoredFile] = {}
        self._next_file = 1
        self._calls: list[Call] = []
        self._injections: dict[str, deque[_Injection]] = {}
        self._commands: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        self._settings: dict[str, Any] = {}
        self._left: list[int] = []
        self._webhook: dict[str, Any] = {"url": ""}
        self._closing = False
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._methods: dict[str, Callable[[_Params], Any]] = {
            name[3:].lower(): getattr(self, name)
            for name in dir(self)
            if name.startswith("_m_")
        }
        self._method_names = {
            name[3:].lower(): name[3:] for name in dir(self) if name.startswith("_m_")
        }

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> FakeBotAPI:
        """Bind the port and serve in a daemon thread; return self."""
        if self._server is not None:
            return self
        self._closing = False
        self._server = _HTTPServer((self._host, self._port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name="FakeBotAPI", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release pending long polls, close client connections and the listening socket."""
        if self._server is None:
            return
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        with self._cond:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._cond:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    @property
    def base_url(self) -> str:
        """Return ``http://127.0.0.1:PORT`` (the value for TELEGRAM_API_URL)."""
        if self._server is None:
            raise RuntimeError("FakeBotAPI is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def bot_url(self) -> str:
        """Return the ``base_url`` PTB's ``Bot(base_url=...)`` expects (token appended by PTB)."""
        return f"{self.base_url}/bot"

    @property
    def file_url(self) -> str:
        """Return the ``base_file_url`` for PTB (token appended by PTB)."""
        return f"{self.base_url}/file/bot"

    def bot_env(self) -> dict[str, str]:
        """Return the environment variables that point the bot process at this server."""
        return {
            "TELEGRAM_API_URL": self.base_url,
            "TELEGRAM_BOT_TOKEN": self.token,
            "TELEGRAM_BOT_USERNAME": str(self.bot_user["username"]),
        }

    # ----------------------------------------------------------------- test-facing setup

    def phone(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "sv",
        started: bool = False,
    ) -> Phone:
        """Return the simulated user ``user_id`` (created on first use) with a private chat.

        ``started=False`` mirrors Telegram: the bot cannot message a user before that user
        has written to it (403 "bot can't initiate conversation with a user").
        """
        with self._cond:
            view = self._views.get(user_id)
            if isinstance(view, Phone):
                if started:
                    self._chats[user_id].started = True
                return view
            user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
            if last_name:
                user["last_name"] = last_name
            if username:
                user["username"] = username
            if language_code:
                user["language_code"] = language_code
            self._chats[user_id] = _Chat(id=user_id, type="private", user=user, started=started)
            phone = Phone(self, user)
            self._views[user_id] = phone
            return phone

    def group(
        self,
        chat_id: int,
        title: str = "Group",
        member: Phone | None = None,
        *,
        bot_member: bool = True,
    ) -> Group:
        """Return the group chat ``chat_id`` (supergroup if the id starts with -100).

        ``member`` is the default sender for ``send``/``tap``; ``bot_member=False`` creates a
        group the bot is not in (then use :meth:`Group.add_bot`).
        """
        with self._cond:
            view = self._views.get(chat_id)
            if isinstance(view, Group):
                return view
            if member is None:
                member = self.phone(abs(chat_id) % 1_000_000 + 1, "Member")
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            self._chats[chat_id] = _Chat(
                id=chat_id, type=kind, title=title, bot_member=bot_member
            )
            grp = Group(self, chat_id, member)
            self._views[chat_id] = grp
            return grp

    def inject_flood(
        self, method: str = "sendMessage", times: int = 1, retry_after: int = 1
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with 429 Too Many Requests.

        The calls are not performed, exactly like Telegram's flood control.
        """
        self._inject(method, _Injection("flood", times, retry_after=retry_after))

    def inject_error(
        self,
        method: str,
        times: int = 1,
        status: int | None = 502,
        *,
        perform: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with HTTP ``status``.

        ``status=None`` drops the connection without an answer. ``perform=True`` carries out
        the call first (the answer is lost, as when a response times out in transit).
        """
        self._inject(method, _Injection("error", times, status=status, perform=perform))

    def queue_raw_update(self, kind: str, payload: dict[str, Any]) -> int:
        """Queue an update of `kind` exactly as given, malformed or not; return its update_id.

        An older self-hosted Bot API server sends objects a newer library cannot parse (a poll
        without `persistent_id`); this lets a test serve such an update.
        """
        with self._cond:
            return self._queue_update(kind, payload)

    def queue_callback_without_message(self, sender: Phone, data: str) -> str:
        """Queue a button tap that carries no message (as from an inline message); return its id."""
        with self._cond:
            cq_id = str(self._next_callback)
            self._next_callback += 1
            self._callbacks[cq_id] = {"answered": False, "data": data}
            self._queue_update("callback_query", {
                "id": cq_id,
                "from": dict(sender.user),
                "inline_message_id": f"inline-{cq_id}",
                "chat_instance": "-1",
                "data": data,
            })
            return cq_id

    def _inject(self, method: str, injection: _Injection) -> None:
        with self._cond:
            self._injections.setdefault(method.lower(), deque()).append(injection)

    # ----------------------------------------------------------------- test-facing inspection

    @property
    def calls(self) -> list[Call]:
        """Return every logged API call in order of arrival (the log is appended on
        completion, so a long poll would otherwise appear after later calls)."""
        with self._cond:
            return sorted(self._calls, key=lambda c: c.time)

    def calls_of(self, method: str) -> list[Call]:
        """Return the logged calls of one method (case-insensitive), oldest first."""
        wanted = method.lower()
        return [c for c in self.calls if c.method.lower() == wanted]

    def clear_calls(self) -> None:
        """Forget the call log."""
        with self._cond:
            self._calls.clear()

    def wait_for_call(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 10.0,
    ) -> Call:
        """Wait until a call of ``method`` matching ``predicate`` is logged; return it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for call in self._calls:
                    if call.method.lower() == method.lower() and (
                        predicate is None or predicate(call)
                    ):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no {method} call within {timeout}s; calls: "
                        f"{[c.method for c in self._calls]}"
                    )
                self._cond.wait(min(remaining, 0.5))

    @property
    def left_chats(self) -> list[int]:
        """Return the chat ids the bot left via leaveChat, in order."""
        with self._cond:
            return list(self._left)

    @property
    def commands(self) -> dict[tuple[str, str], list[tuple[str, str]]]:
        """Return setMyCommands state: ``{(scope_json, language_code): [(cmd, description)]}``.

        ``scope_json`` is the scope dict as canonical JSON (sorted keys), e.g.
        ``'{"type": "default"}'``; see :meth:`commands_for` for dict-based lookup.
        """
        with self._cond:
            return {k: list(v) for k, v in self._commands.items()}

    def commands_for(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[tuple[str, str]]:
        """Return the ``(command, description)`` pairs set for a scope dict and language."""
        with self._cond:
            return list(self._commands.get((_scope_key(scope), language_code), []))

    @property
    def menu_buttons(self) -> dict[int | None, dict[str, Any]]:
        """Return setChatMenuButton state keyed by chat id (None = default for all chats)."""
        with self._cond:
            return dict(self._menu_buttons)

    @property
    def answered_callbacks(self) -> list[CallbackAnswer]:
        """Return every successful answerCallbackQuery, oldest first."""
        with self._cond:
            return list(self._answers)

    @property
    def unanswered_callbacks(self) -> list[str]:
        """Return ids of callback queries sent by phones that the bot has not answered."""
        with self._cond:
            return [cid for cid, cq in self._callbacks.items() if not cq["answered"]]

    def wait_for_callback_answer(
        self, callback_query_id: str, timeout: float = 10.0
    ) -> CallbackAnswer:
        """Wait until the bot answers the callback query; return the answer."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for answer in self._answers:
                    if answer.callback_query_id == callback_query_id:
                        return answer
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"callback query {callback_query_id} not answered within {timeout}s"
                    )
                self._cond.wait(min(remaining, 0.5))

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Return updates queued and not yet confirmed by an offset."""
        with self._cond:
            return json.loads(json.dumps(list(self._updates)))

    @property
    def webhook_url(self) -> str:
        """Return the webhook URL currently set ("" when polling)."""
        with self._cond:
            return str(self._webhook["url"])

    @property
    def settings(self) -> dict[str, Any]:
        """Return values given to setMyName/setMyDescription/setMyShortDescription & co."""
        with self._cond:
            return dict(self._settings)

    def file_bytes(self, file_id: str) -> bytes | None:
        """Return the stored content of a file id (uploads by the bot or phones)."""
        with self._cond:
            stored = self._files.get(file_id)
            return stored.data if stored else None

    # ----------------------------------------------------------------- internals: state

    def _now(self) -> int:
        return int(self._clock())

    def _add_event(
        self, chat: _Chat, kind: str, actor: str, text: str, message: BotMessage | None = None
    ) -> int:
        self._event_seq += 1
        chat.events.append(ChatEvent(self._event_seq, kind, actor, time.time(), text, message))
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

    # ----------------------------------------------------------------- internals: dispatch

    def _process(
        self,
        token: str,
        method: str,
        raw: dict[str, str],
        files: dict[str, UploadedFile],
        client_gone: Callable[[], bool] = lambda: False,
    ) -> tuple[int, Any]:
        arrived = time.time()
        params = _Params(raw, files, client_gone)
        key = method.lower()
        name = self._method_names.get(key, method)
        injection: _Injection | None = None
        with self._cond:
            if token == self.token and key in self._methods:
                queue = self._injections.get(key)
                if queue:
                    injection = queue[0]
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        queue.popleft()
        status, payload = self._execute(token, key, params, injection)
        description = payload.get("description") if isinstance(payload, dict) else None
        with self._cond:
            self._calls.append(
                Call(name, params.decoded(), dict(files), arrived, status, description)
            )
            self._cond.notify_all()
        return status, payload

    def _execute(
        self, token: str, key: str, params: _Params, injection: _Injection | None
    ) -> tuple[int, Any]:
        if token != self.token:
            return 401, ApiError(401, "Unauthorized").payload()
        handler = self._methods.get(key)
        if handler is None:
            return 404, ApiError(404, "Not Found").payload()
        if injection is not None and injection.kind == "flood":
            retry = injection.retry_after
            return 429, ApiError(
                429, f"Too Many Requests: retry after {retry}", {"retry_after": retry}
            ).payload()
        if injection is not None and not injection.perform:
            return self._injected_failure(injection)
        try:
            result = handler(params)
        except ApiError as err:
            status, payload = err.code, err.payload()
        else:
            status, payload = 200, {"ok": True, "result": result}
        if injection is not None:
            return self._injected_failure(injection)
        return status, payload

    @staticmethod
    def _injected_failure(injection: _Injection) -> tuple[int, Any]:
        if injection.status is None:
            return 0, None
        code = injection.status
        phrase = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                  504: "Gateway Timeout"}.get(code, "Error")
        return code, {"ok": False, "error_code": code, "description": phrase}

    # ----------------------------------------------------------------- internals: helpers

    def _chat_for_send(self, p: _Params) -> _Chat:
        chat_id = self._chat_id(p)
        chat = self._chats.get(chat_id)
        if chat is None:
            raise _bad("chat not found")
        if chat.type == "private":
            if chat.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not chat.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        elif not chat.bot_member:
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        return chat

    def _chat_id(self, p: _Params) -> int:
        value = p.get("chat_id")
        if value is None or value == "":
            raise _bad("chat_id is empty")
        try:
            return int(value)
        except ValueError:
            raise _bad("chat not found") from None

    def _markup(self, p: _Params) -> dict[str, Any] | None:
        markup = p.get_json("reply_markup", "can't parse reply keyboard markup JSON object")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be "
                           "an Object")
            for row in rows:
                for btn in row:
                    if not isinstance(btn, dict) or "text" not in btn:
                        raise _bad("can't parse inline keyboard button: Text must be non-empty")
                    if "callback_data" in btn:
                        size = len(str(btn["callback_data"]).encode("utf-8"))
                        if size == 0 or size > MAX_CALLBACK_DATA:
                            raise _bad("BUTTON_DATA_INVALID")
                    elif not any(k in btn for k in (
                        "url", "login_url", "switch_inline_query", "web_app", "pay",
                        "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                        "copy_text", "callback_game",
                    )):
                        raise _bad("can't parse inline keyboard button: Field \"url\" must be "
                                   "of type String")
        return markup

    def _apply_reply_keyboard(self, chat: _Chat, markup: dict[str, Any] | None) -> None:
        if not markup:
            return
        if "keyboard" in markup:
            chat.reply_keyboard = markup["keyboard"]
            chat.one_time_keyboard = bool(markup.get("one_time_keyboard"))
        elif markup.get("remove_keyboard"):
            chat.reply_keyboard = None

    def _formatted(
        self, p: _Params, field_name: str, entities_name: str, limit: int, too_long: str,
        empty: str | None,
    ) -> tuple[str | None, list[dict[str, Any]]]:
        raw = p.get(field_name)
        if raw is None or raw == "":
            if empty:
                raise _bad(empty)
            return None, []
        entities = p.get_json(entities_name, f"can't parse {entities_name} JSON object")
        try:
            text, ents = parse_text(raw, p.get("parse_mode"), entities)
        except EntityParseError as err:
            raise _bad(f"can't parse entities: {err}") from None
        except ValueError:
            raise _bad("unsupported parse_mode") from None
        if not text and empty:
            raise _bad(empty)
        if len(text) > limit:
            raise _bad(too_long)
        return text, ents

    def _reply_to(self, p: _Params, chat: _Chat) -> int | None:
        reply = p.get_json("reply_parameters", "can't parse reply parameters JSON object") or {}
        target = reply.get("message_id") if isinstance(reply, dict) else None
        if target is None:
            target = p.get_int("reply_to_message_id")
        if target is None:
            return None
        allow = bool(reply.get("allow_sending_without_reply")) or p.get_bool(
            "allow_sending_without_reply"
        )
        msg = chat.messages.get(int(target))
        if msg is None or msg.deleted:
            if allow:
                return None
            raise _bad("message to be replied not found")
        return int(target)

    def _emit_bot_message(self, chat: _Chat, msg: _Msg, markup: dict[str, Any] | None) -> None:
        self._apply_reply_keyboard(chat, markup)
        snap = msg.snapshot()
        self._add_event(chat, "message", "bot", f"#{msg.message_id} {snap.describe()}", snap)

    def _message_for_edit(self, p: _Params) -> _Msg:
        if p.get("inline_message_id"):
            raise _bad("message to edit not found")
        chat = self._chats.get(self._chat_id(p))
        if chat is None:
            raise _bad("chat not found")
        message_id = p.get_int("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        msg = chat.messages.get(message_id)
        if msg is None or msg.deleted:
            raise _bad("message to edit not found")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        return msg

    def _finish_edit(self, msg: _Msg, what: str) -> dict[str, Any]:
        msg.edit_date = self._now()
        snap = msg.snapshot()
        self._add_event(msg.chat, "edit", "bot", f"edited #{msg.message_id} {what}: "
                        f"{snap.describe()}", snap)
        return msg.to_json()

    def _upload(
        self, p: _Params, field_name: str, kind: str
    ) -> tuple[_StoredFile, bytes | None]:
        upload = p.files.get(field_name)
        ref = p.get(field_name)
        if upload is None and ref and ref.startswith("attach://"):
            upload = p.files.get(ref[len("attach://") :])
        if upload is not None:
            if not upload.data:
                raise _bad("file must be non-empty")
            mime = upload.content_type or mimetypes.guess_type(upload.filename)[0]
            folder = "photos" if kind == "photo" else "documents"
            return self._store_file(upload.data, upload.filename, mime, folder), upload.data
        if not ref:
            raise _bad(f"there is no {kind} in the request")
        if ref in self._files:
            stored = self._files[ref]
            return stored, stored.data
        if ref.startswith(("http://", "https://")):
            name = ref.rsplit("/", 1)[-1] or None
            return self._store_file(None, name, None, kind + "s", url=ref), None
        raise _bad("wrong file identifier/HTTP URL specified")

    # ----------------------------------------------------------------- Bot API methods

    def _m_getMe(self, p: _Params) -> Any:
        return dict(self.bot_user)

    def _m_logOut(self, p: _Params) -> Any:
        return True

    def _m_close(self, p: _Params) -> Any:
        return True

    def _m_deleteWebhook(self, p: _Params) -> Any:
        with self._cond:
            self._webhook = {"url": ""}
            if p.get_bool("drop_pending_updates"):
                self._updates.clear()
        return True

    def _m_setWebhook(self, p: _Params) -> Any:
        with self._cond:
            url = p.get("url") or ""
            if url and not url.startswith("https://"):
                raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
            self._webhook = {"url": url}
            allowed = p.get_json("allowed_updates", "can't parse allowed updates")
            if allowed is not None:
                self._allowed_updates = list(allowed)
            if p.get_bool("drop_pending_updates"):
                self._updates.clear()
        return True

    def _m_getWebhookInfo(self, p: _Params) -> Any:
        with self._cond:
            info: dict[str, Any] = {
                "url": self._webhook["url"],
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
            return info

    def _m_getUpdates(self, p: _Params) -> Any:
        offset = p.get_int("offset")
        limit = min(max(p.get_int("limit") or 100, 1), 100)
        timeout = max(p.get_float("timeout", 0.0), 0.0)
        allowed = p.get_json("allowed_updates", "can't parse allowed updates")
        deadline = time.monotonic() + timeout
        params_gone = p.client_gone
        with self._cond:
            if self._webhook["url"]:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                    "active; use deleteWebhook to delete the webhook first")
            self._poll_generation += 1
            generation = self._poll_generation
            self._cond.notify_all()
            if allowed is not None:
                self._allowed_updates = list(allowed)
            if offset is not None and offset > 0:
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()
            elif offset is not None and offset < 0:
                while len(self._updates) > -offset:
                    self._updates.popleft()
            while True:
                batch = self._deliverable(limit)
                if batch or self._closing:
                    return batch
                if params_gone():
                    raise ApiError(CLIENT_CLOSED, "client closed the long poll")
                if self._poll_generation != generation:
                    raise ApiError(409, "Conflict: terminated by other getUpdates request; make "
                                        "sure that only one bot instance is running")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(min(remaining, 0.2))

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        allowed = set(self._allowed_updates)
        kept: deque[dict[str, Any]] = deque()
        batch: list[dict[str, Any]] = []
        for update in self._updates:
            kind = next(k for k in update if k != "update_id")
            wanted = kind in allowed if allowed else kind not in DEFAULT_EXCLUDED_UPDATES
            if not wanted:
                continue
            kept.append(update)
            if len(batch) < limit:
                batch.append(json.loads(json.dumps(update)))
        self._updates = kept
        return batch

    def _m_sendMessage(self, p: _Params) -> Any:
        with self._cond:
            chat = self._chat_for_send(p)
            text, entities = self._formatted(
                p, "text", "entities", MAX_TEXT, "message is too long", "message text is empty"
            )
            markup = self._markup(p)
            reply_to = self._reply_to(p, chat)
            msg = self._new_msg(
                chat, dict(self.bot_user), True, text=text, entities=entities,
                reply_markup=markup, reply_to=reply_to, parse_mode=p.get("parse_mode"),
            )
            self._emit_bot_message(chat, msg, markup)
            return msg.to_json()

    def _send_media(self, p: _Params, kind: str) -> Any:
        with self._cond:
            chat = self._chat_for_send(p)
            caption, caption_entities = self._formatted(
                p, "caption", "caption_entities", MAX_CAPTION, "message caption is too long", None
            )
            markup = self._markup(p)
            reply_to = self._reply_to(p, chat)
            stored, data = self._upload(p, kind, kind)
            base = {"file_id": stored.file_id, "file_unique_id": stored.unique_id}
            if data is not None:
                base["file_size"] = len(data)
            if kind == "photo":
                size = _image_size(data) if data is not None else (0, 0)
                if size is None:
                    raise _bad("IMAGE_PROCESS_FAILED")
                media: dict[str, Any] = {"photo": [{**base, "width": size[0], "height": size[1]}]}
            else:
                document = {**base}
                if stored.name:
                    document["file_name"] = stored.name
                if stored.mime:
                    document["mime_type"] = stored.mime
                media = {"document": document}
            msg = self._new_msg(
                chat, dict(self.bot_user), True, kind=kind, caption=caption,
                caption_entities=caption_entities, reply_markup=markup, file=stored, media=media,
                reply_to=reply_to, parse_mode=p.get("parse_mode"),
            )
            self._emit_bot_message(chat, msg, markup)
            return msg.to_json()

    def _m_sendPhoto(self, p: _Params) -> Any:
        return self._send_media(p, "photo")

    def _m_sendDocument(self, p: _Params) -> Any:
        return self._send_media(p, "document")

    def _m_editMessageText(self, p: _Params) -> Any:
        with self._cond:
            msg = self._message_for_edit(p)
            text, entities = self._formatted(
                p, "text", "entities", MAX_TEXT, "message is too long", "message text is empty"
            )
            markup = self._markup(p)
            if msg.text is None:
                raise _bad("there is no text in the message to edit")
            if (msg.text, msg.entities, msg.reply_markup) == (text, entities, markup):
                raise _bad("message is not modified: specified new message content and reply "
                           "markup are exactly the same as a current content and reply markup "
                           "of the message")
            msg.text, msg.entities, msg.reply_markup = text, entities, markup
            msg.parse_mode = p.get("parse_mode")
            return self._finish_edit(msg, "text")

    def _m_editMessageCaption(self, p: _Params) -> Any:
        with self._cond:
            msg = self._message_for_edit(p)
            caption, entities = self._formatted(
                p, "caption", "caption_entities", MAX_CAPTION, "message caption is too long", None
            )
            markup = self._markup(p)
            if msg.kind == "text":
                raise _bad("there is no caption in the message to edit")
            if (msg.caption, msg.caption_entities, msg.reply_markup) == (
                caption, entities, markup
            ):
                raise _bad("message is not modified: specified new message content and reply "
                           "markup are exactly the same as a current content and reply markup "
                           "of the message")
            msg.caption, msg.caption_entities, msg.reply_markup = caption, entities, markup
            return self._finish_edit(msg, "caption")

    def _m_editMessageReplyMarkup(self, p: _Params) -> Any:
        with self._cond:
            msg = self._message_for_edit(p)
            markup = self._markup(p)
            if msg.reply_markup == markup:
                raise _bad("message is not modified: specified new message content and reply "
                           "markup are exactly the same as a current content and reply markup "
                           "of the message")
            msg.reply_markup = markup
            return self._finish_edit(msg, "keyboard")

    def _m_answerCallbackQuery(self, p: _Params) -> Any:
        with self._cond:
            cq_id = p.get("callback_query_id") or ""
            entry = self._callbacks.get(cq_id)
            if entry is None or entry["answered"]:
                raise _bad("query is too old and response timeout expired or query ID is invalid")
            if len(p.get("text") or "") > 200:
                raise _bad("MESSAGE_TOO_LONG")
            entry["answered"] = True
            answer = CallbackAnswer(
                callback_query_id=cq_id, text=p.get("text"), show_alert=p.get_bool("show_alert"),
                url=p.get("url"), time=time.time(),
            )
            self._answers.append(answer)
            self._cond.notify_all()
            return True

    def _m_deleteMessage(self, p: _Params) -> Any:
        with self._cond:
            chat = self._chats.get(self._chat_id(p))
            if chat is None:
                raise _bad("chat not found")
            self._delete(chat, p.get_int("message_id"))
            return True

    def _m_deleteMessages(self, p: _Params) -> Any:
        with self._cond:
            chat = self._chats.get(self._chat_id(p))
            if chat is None:
                raise _bad("chat not found")
            ids = p.get_json("message_ids", "can't parse message identifiers") or []
            for message_id in ids:
                with contextlib.suppress(ApiError):
                    self._delete(chat, int(message_id))
            return True

    def _delete(self, chat: _Chat, message_id: int | None) -> None:
        msg = chat.messages.get(message_id or 0)
        if msg is None or msg.deleted:
            raise _bad("message to delete not found")
        if not msg.from_bot and chat.type != "private":
            raise _bad("message can't be deleted")
        msg.deleted = True
        self._add_event(chat, "delete", "bot", f"deleted #{message_id}")

    def _m_sendChatAction(self, p: _Params) -> Any:
        with self._cond:
            chat = self._chat_for_send(p)
            action = p.get("action")
            if not action:
                raise _bad("wrong parameter action in request")
            self._add_event(chat, "action", "bot", f"<{action}>")
            return True

    def _m_getChat(self, p: _Params) -> Any:
        with self._cond:
            chat = self._chats.get(self._chat_id(p))
            if chat is None:
                raise _bad("chat not found")
            info = chat.json()
            info.update({
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                    "premium_subscription": False, "gifts_from_channels": False,
                },
            })
            return info

    def _m_leaveChat(self, p: _Params) -> Any:
        with self._cond:
            chat = self._chats.get(self._chat_id(p))
            if chat is None:
                raise _bad("chat not found")
            if chat.type == "private":
                raise _bad("chat member status can't be changed in private chats")
            if not chat.bot_member:
                raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
            chat.bot_member = False
            self._left.append(chat.id)
            self._member_update(chat, self.bot_user, "member", "left")
            self._add_event(chat, "system", "bot", "left the chat")
            return True

    def _m_setMyCommands(self, p: _Params) -> Any:
        commands = p.get_json("commands", "can't parse commands JSON object")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("commands must be an array of at most 100 BotCommand")
        parsed: list[tuple[str, str]] = []
        for cmd in commands:
            name = str(cmd.get("command", "")) if isinstance(cmd, dict) else ""
            description = str(cmd.get("description", "")) if isinstance(cmd, dict) else ""
            if not _BOT_COMMAND_NAME_RE.fullmatch(name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            parsed.append((name, description))
        key = self._commands_key(p)
        with self._cond:
            if parsed:
                self._commands[key] = parsed
            else:
                self._commands.pop(key, None)
        return True

    def _commands_key(self, p: _Params) -> tuple[str, str]:
        scope = p.get_json("scope", "can't parse BotCommandScope JSON object")
        return _scope_key(scope), p.get("language_code") or ""

    def _m_getMyCommands(self, p: _Params) -> Any:
        with self._cond:
            return [
                {"command": c, "description": d}
                for c, d in self._commands.get(self._commands_key(p), [])
            ]

    def _m_deleteMyCommands(self, p: _Params) -> Any:
        with self._cond:
            self._commands.pop(self._commands_key(p), None)
            return True

    def _m_setChatMenuButton(self, p: _Params) -> Any:
        with self._cond:
            chat_id = p.get_int("chat_id")
            if chat_id is not None and chat_id not in self._chats:
                raise _bad("chat not found")
            button = p.get_json("menu_button", "can't parse menu button JSON object")
            self._menu_buttons[chat_id] = button or {"type": "default"}
            return True

    def _m_getChatMenuButton(self, p: _Params) -> Any:
        with self._cond:
            chat_id = p.get_int("chat_id")
            return self._menu_buttons.get(
                chat_id, self._menu_buttons.get(None, {"type": "commands"})
            )

    def _m_getFile(self, p: _Params) -> Any:
        with self._cond:
            stored = self._files.get(p.get("file_id") or "")
            if stored is None or stored.data is None:
                raise _bad("invalid file_id")
            return {
                "file_id": stored.file_id, "file_unique_id": stored.unique_id,
                "file_size": len(stored.data), "file_path": stored.path,
            }

    def _setting(self, name: str, p: _Params) -> Any:
        with self._cond:
            self._settings[name] = p.decoded()
            return True

    def _m_setMyName(self, p: _Params) -> Any:
        return self._setting("setMyName", p)

    def _m_setMyDescription(self, p: _Params) -> Any:
        return self._setting("setMyDescription", p)

    def _m_setMyShortDescription(self, p: _Params) -> Any:
        return self._setting("setMyShortDescription", p)

    def _m_setMyDefaultAdministratorRights(self, p: _Params) -> Any:
        return self._setting("setMyDefaultAdministratorRights", p)


def _scope_key(scope: dict[str, Any] | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)
