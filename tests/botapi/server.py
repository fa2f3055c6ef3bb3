"""A fake Telegram Bot API server on loopback for end-to-end tests of the real bot process.

It speaks HTTP the way PTB's HTTPXRequest does (url-encoded forms, or multipart/form-data when
files are uploaded; every non-string value JSON-encoded) and answers in Telegram's JSON shapes,
including Telegram's error descriptions, so the bot's own error handling is exercised.

All state lives behind one condition variable: HTTP handler threads (one per connection) and
the test thread (phones) mutate it under the lock, and long polls / ``wait_for`` sleep on it.

The server is made of three parts: `transport` (HTTP), `chatstate` (what it keeps) and
`methods` (the Bot API methods); this module joins them with what tests call.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from tests.botapi.chatstate import Call, CallbackAnswer, _Chat, _Injection, _Storm
from tests.botapi.methods import BotMethods, _scope_key
from tests.botapi.phone import ChatEvent, Group, Phone
from tests.botapi.transport import ApiError, UploadedFile, _HTTPServer, _Params

__all__ = [
    "ApiError",
    "Call",
    "CallbackAnswer",
    "FakeBotAPI",
    "UploadedFile",
]


class FakeBotAPI(BotMethods):
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
        latency: float = 0.0,
    ) -> None:
        super().__init__(
            token,
            bot_id=bot_id,
            bot_username=bot_username,
            bot_first_name=bot_first_name,
            first_update_id=first_update_id,
            clock=clock,
        )
        # Seconds each Bot API call takes on the wire (half before it is carried out, half
        # before its answer), so benchmarks can compare bots as if Telegram were far away.
        self.latency = latency
        self._host = host
        self._port = port
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

    def wait_for_long_poll(self, timeout: float = 10.0) -> None:
        """Wait until a getUpdates call is waiting for updates (a long poll has begun)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._polls_waiting == 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no long poll began within {timeout}s")
                self._cond.wait(remaining)

    def advance_clock(self, seconds: float) -> None:
        """Move the server's clock (message and edit dates) forward, as if `seconds` passed."""
        with self._cond:
            self._clock_offset += seconds

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

    def add_listener(self, listener: Callable[[int, ChatEvent], None]) -> None:
        """Call ``listener(chat_id, event)`` for every new chat event, under the server's lock.

        For drivers of many phones at once (benchmarks): one listener thread instead of one
        waiting thread per phone. The listener must return quickly and must not call the bot.
        """
        with self._cond:
            self._listeners.append(listener)

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

    def clear_injections(self) -> None:
        """Forget every injected fault not yet used up (the storm is over)."""
        with self._cond:
            self._injections.clear()
            self._storm = None

    def storm(
        self,
        kind: str,
        rate: float,
        *,
        retry_after: int = 1,
        status: int | None = None,
        perform: bool = False,
        methods: frozenset[str] | None = None,
        seed: int = 0,
    ) -> None:
        """Make a share `rate` of calls fail until `calm`: "flood" (429) or "error".

        getUpdates is spared (Telegram does not flood it). An "error" with ``status=None``
        drops the connection; ``perform=True`` carries the call out first and loses its answer.
        """
        injection = _Injection(kind, 1, retry_after=retry_after, status=status, perform=perform)
        wanted = None if methods is None else frozenset(m.lower() for m in methods)
        with self._cond:
            self._storm = _Storm(injection, rate, random.Random(seed), wanted)

    def calm(self) -> int:
        """End the storm; return how many calls it failed."""
        with self._cond:
            storm, self._storm = self._storm, None
        return 0 if storm is None else storm.hits

    def hold(self, method: str) -> None:
        """Hold every call of ``method`` unanswered (not carried out) until ``release``.

        A call whose client has gone (the bot was killed) is then never carried out.
        """
        with self._cond:
            self._held.add(method.lower())

    def release(self, method: str) -> None:
        """Let held calls of ``method`` (and later ones) go through."""
        with self._cond:
            self._held.discard(method.lower())
            self._cond.notify_all()

    def wait_held(self, method: str, count: int = 1, timeout: float = 20.0) -> None:
        """Wait until at least ``count`` calls of ``method`` are held."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._holding.get(method.lower(), 0) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{count} {method} call(s) not held within {timeout}s")
                self._cond.wait(min(remaining, 0.2))

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

    def wait_confirmed(self, timeout: float = 20.0) -> None:
        """Wait until the bot has confirmed (by its getUpdates offset) every queued update."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._updates:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"updates not confirmed within {timeout}s: "
                        f"{[u['update_id'] for u in self._updates]}"
                    )
                self._cond.wait(min(remaining, 0.2))

    def forget_updates(self) -> int:
        """Drop every queued update as confirmed (a bot that settled them late); return how many."""
        with self._cond:
            n = len(self._updates)
            self._updates.clear()
            self._cond.notify_all()
            return n

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

