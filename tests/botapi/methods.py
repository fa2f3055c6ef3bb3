"""Methods: the Bot API methods the fake server answers, with Telegram's checks and errors."""

from __future__ import annotations

import contextlib
import json
import mimetypes
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from tests.botapi.chatstate import (
    Call,
    CallbackAnswer,
    ChatState,
    _Chat,
    _image_size,
    _Injection,
    _Msg,
    _StoredFile,
)
from tests.botapi.markup import EntityParseError, parse_text
from tests.botapi.transport import CLIENT_CLOSED, ApiError, UploadedFile, _bad, _Params

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
# Telegram's default when allowed_updates was never given (or given as []).
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_BOT_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")


class BotMethods(ChatState):
    """Dispatches a request to its ``_m_<method>`` and carries the method out on the state."""

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
                storm = self._storm
                if (injection is None and storm is not None and key != "getupdates"
                        and (storm.methods is None or key in storm.methods)
                        and storm.rng.random() < storm.rate):
                    storm.hits += 1
                    injection = storm.injection
            if key in self._held:
                # Held (a reply in flight when the bot is killed): waits for release; a call
                # whose client has gone meanwhile is never carried out.
                self._holding[key] = self._holding.get(key, 0) + 1
                self._cond.notify_all()
                while key in self._held and not self._closing and not client_gone():
                    self._cond.wait(0.05)
                self._holding[key] -= 1
                if client_gone():
                    return CLIENT_CLOSED, ApiError(CLIENT_CLOSED, "client gone").payload()
        latency = self.latency
        if latency > 0:
            time.sleep(latency / 2)
        status, payload = self._execute(token, key, params, injection)
        if latency > 0 and status != CLIENT_CLOSED:
            time.sleep(latency / 2)
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
            waiting = False
            try:
                while True:
                    batch = self._deliverable(limit)
                    if batch or self._closing:
                        return batch
                    if params_gone():
                        raise ApiError(CLIENT_CLOSED, "client closed the long poll")
                    if self._poll_generation != generation:
                        raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                            "make sure that only one bot instance is running")
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return []
                    if not waiting:
                        waiting = True
                        self._polls_waiting += 1
                        self._cond.notify_all()
                    self._cond.wait(min(remaining, 0.2))
            finally:
                if waiting:
                    self._polls_waiting -= 1

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

