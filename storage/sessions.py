"""Unfinished surveys: the one place a chat is tied to its answers, and how that tie ends.

This is the part anonymity depends on (see docs/anonymitet.md). While a survey is unfinished,
one `session` row holds everything about it: its answers so far, where it stands, and the chat
only as a key derived from the chat id with a memory-hard function. No `response` or `answer`
row exists for it yet. Submitting (or expiry) writes the response under a fresh random id and
deletes the session row in the same transaction, so nothing that ever held the chat's key
(the live file at an earlier moment, a -wal, B-tree pages) holds the id its answers end up
under. The session is a rowid table so that B-tree interior pages hold only row numbers,
never a session's content; deleted rows are zeroed (secure_delete) and the WAL is truncated.

The link a session came from is not stored: only an HMAC of (session key, link hash), so a
link token leads to no session without the installation secret. The link counts how many
unfinished surveys it has (`in_progress`), which a backup gives back as unused.

A reminder is a row with a random id holding the chat id encrypted (AES-GCM) under a key
derived from the secret, and no date: when it is due is read from the session it belongs to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import sqlite_utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.backup import remove_unfinished
from storage.base import StoreBase
from storage.records import (
    Channel,
    ChatRef,
    LinkCheck,
    LinkTaken,
    Session,
    StorageError,
    month_of,
    today_utc,
)

NONCE_BYTES = 12
RESPONSE_ID_BYTES = 16
THANKS_WINDOW = 10_000
"""How many updates back a submission's owed thanks is kept (Telegram keeps an update a day)."""


class SessionsPart(StoreBase):
    """Starting, saving and ending the unfinished survey of a chat."""

    # -- keys ------------------------------------------------------------------------------

    def _link_ref(self, chat_key: str, token_hash: str) -> str:
        key = hmac.new(self._secret, b"enkatbot link-ref v1", hashlib.sha256).digest()
        return hmac.new(key, f"{chat_key}:{token_hash}".encode(), hashlib.sha256).hexdigest()

    def _aead(self) -> AESGCM:
        key = hmac.new(self._secret, b"enkatbot reminder v1", hashlib.sha256).digest()
        return AESGCM(key)

    def _seal_chat(self, chat_id: int) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead().encrypt(nonce, json.dumps({"chat": chat_id}).encode(), None)

    def _open_chat(self, sealed: bytes) -> int:
        data = self._aead().decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], None)
        return int(json.loads(data)["chat"])

    # -- starting ----------------------------------------------------------------------------

    def start_session(
        self,
        chat_id: ChatRef,
        link: LinkCheck,
        version: int,
        *,
        stage: str = "greeting",
        today: date | None = None,
        channel: Channel = "telegram",
    ) -> Session:
        """Claim one use of an open link and start an unfinished survey for this chat.

        `channel` owns it until it ends (the link says so, for the other channel; the
        response never records it). No response row exists until it is submitted. Raises
        LinkTaken when the link was used up (perhaps a moment ago by another process), and
        StorageError when the chat already has an unfinished survey.
        """
        if link.problem is not None or link.token_hash is None or link.insats_id is None:
            raise StorageError("link_not_open")
        today = today or today_utc()
        key = self.chat_key(chat_id)
        with self.transaction():
            if self._session_row(key) is not None:
                raise StorageError("session_exists")
            claimed = self.db.execute(
                "UPDATE link SET uses_left = uses_left - 1, in_progress = in_progress + 1, "
                "held_by = ? WHERE token_hash = ? AND uses_left > 0 AND withdrawn = 0",
                [channel, link.token_hash],
            ).rowcount
            if not claimed:
                raise LinkTaken("link_used")
            count_link_use(self.db, link.token_hash, "started", 1)
            self.db.execute(
                "INSERT INTO session (chat_key, link_ref, enkat, version, insats_id, stage, "
                "current_item, message_id, channel, answers, last_active) "
                "VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?, '{}', ?)",
                [
                    key, self._link_ref(key, link.token_hash), link.enkat, version,
                    link.insats_id, stage, channel, today.isoformat(),
                ],
            )
        session = self.get_session(chat_id)
        assert session is not None
        return session

    # -- reading -----------------------------------------------------------------------------

    def _session_row(self, key: str) -> dict[str, Any] | None:
        rows = list(
            self.db.query(
                "SELECT session.*, insats.name AS insats FROM session "
                "JOIN insats ON insats.id = session.insats_id WHERE chat_key = ?",
                [key],
            )
        )
        return rows[0] if rows else None

    def _find(self, chat_id: ChatRef) -> dict[str, Any] | None:
        row = self._session_row(self.chat_key(chat_id))
        if row is None:
            row = self._adopt_legacy(chat_id)
        return row

    def _adopt_legacy(self, chat_id: ChatRef) -> dict[str, Any] | None:
        # A survey begun before schema 6 is keyed by a plain HMAC of the chat id; it moves to
        # the memory-hard key the first time its chat comes back (or expires as usual).
        old = self.legacy_chat_key(chat_id)
        if self._session_row(old) is None:
            return None
        with self.transaction():
            self.db.execute(
                "UPDATE session SET chat_key = ? WHERE chat_key = ?", [self.chat_key(chat_id), old]
            )
        return self._session_row(self.chat_key(chat_id))

    def get_session(self, chat_id: ChatRef) -> Session | None:
        """Return this chat's unfinished survey with its answers so far, or None."""
        row = self._find(chat_id)
        if row is None:
            return None
        return Session(
            chat_key=row["chat_key"],
            enkat=row["enkat"],
            version=row["version"],
            insats=row["insats"],
            stage=row["stage"],
            current_item=row["current_item"],
            message_id=row["message_id"],
            answers=json.loads(row["answers"]),
            channel=row["channel"],
            flow=row["flow"],
        )

    def session_opened_with(self, chat_id: ChatRef, token_hash: str | None) -> bool:
        """Return True when the chat's unfinished survey was started from this link."""
        row = self._find(chat_id)
        if row is None or token_hash is None or row["link_ref"] is None:
            return False
        return hmac.compare_digest(row["link_ref"], self._link_ref(row["chat_key"], token_hash))

    # -- saving ------------------------------------------------------------------------------

    def save_progress(
        self,
        chat_id: ChatRef,
        answers: Mapping[str, str | None],
        current_item: str | None,
        *,
        stage: str | None = None,
        message_id: int | None = None,
        flow: str | None = None,
        today: date | None = None,
        remind: bool = True,
    ) -> None:
        """Commit the chat's answers and position, before the bot confirms anything.

        The stored answers become exactly `answers` (ones the engine dropped, 9 and 10 after 8
        became Nej, are gone). With `remind`, a reminder is owed if the chat falls quiet.
        """
        today = today or today_utc()
        with self.transaction():
            row = self._find(chat_id)
            if row is None:
                raise StorageError("no_session")
            updates: dict[str, object] = {
                "answers": json.dumps(dict(answers), ensure_ascii=False, sort_keys=True),
                "current_item": current_item,
                "last_active": today.isoformat(),
            }
            if stage is not None:
                updates["stage"] = stage
            if message_id is not None:
                updates["message_id"] = message_id
            if flow is not None:
                updates["flow"] = flow
            if remind and isinstance(chat_id, int) and row["reminder_id"] is None:
                reminder_id = secrets.randbits(62)
                self.db.execute(
                    "INSERT INTO reminder (id, sealed) VALUES (?, ?)",
                    [reminder_id, self._seal_chat(chat_id)],
                )
                updates["reminder_id"] = reminder_id
            self._update_session(row["chat_key"], updates)

    def update_session(
        self, chat_id: ChatRef, *, stage: str | None = None, message_id: int | None = None,
        flow: str | None = None,
    ) -> None:
        """Change the session's stage, the id of the message showing its question, or `flow`."""
        updates: dict[str, object] = {}
        if stage is not None:
            updates["stage"] = stage
        if message_id is not None:
            updates["message_id"] = message_id
        if flow is not None:
            updates["flow"] = flow
        if updates:
            with self.transaction():  # a refused write is WriteFailed, as for every step
                row = self._find(chat_id)
                if row is not None:
                    self._update_session(row["chat_key"], updates)

    def note_shown(self, chat_id: ChatRef, *, flow_patch: str,
                   message_id: int | None = None) -> bool:
        """Merge `flow_patch` (a JSON object) into the session's `flow`; set `message_id`.

        Keys of `flow` the patch leaves out are kept; a key set to null in it is removed (JSON
        merge patch). A damaged `flow` is replaced by the patch. Returns False when the chat
        has no unfinished survey (nothing is written).
        """
        # Not durable against a power cut: a lost note only has the step shown again.
        with self.transaction(durable=False):  # a refused write is WriteFailed
            cursor = self.db.execute(
                "UPDATE session SET flow = json_patch(CASE WHEN json_valid(flow) "
                "AND json_type(flow) = 'object' THEN flow ELSE '{}' END, ?), "
                "message_id = coalesce(?, message_id) WHERE chat_key = ?",
                [flow_patch, message_id, self.chat_key(chat_id)],
            )
            return cursor.rowcount > 0

    def _update_session(self, key: str, updates: Mapping[str, object]) -> None:
        cols = ", ".join(f"{c} = ?" for c in updates)
        self.db.execute(f"UPDATE session SET {cols} WHERE chat_key = ?", [*updates.values(), key])

    # -- ending ------------------------------------------------------------------------------

    def finish_session(self, chat_id: ChatRef, *, today: date | None = None,
                       update_id: int | None = None, tag: str | None = None) -> bool:
        """Submit the chat's survey: a complete response under a fresh id; the session goes.

        With the `update_id` of the Telegram update that submitted it, that update is noted as
        owed its thanks (`thanks_owed_for`) in the same transaction, until `thanks_sent`;
        `tag`, the random tag of the Skicka in button tapped, is noted with it
        (`claim_owed_thanks`). Returns False when the chat had no unfinished survey (already
        submitted).
        """
        return self._end_for_chat(chat_id, "complete", today or today_utc(), update_id, tag)

    def thanks_owed_for(self, update_id: int) -> bool:
        """Return True when this update submitted a survey and its thanks was never sent."""
        return self.db.execute(
            "SELECT 1 FROM thanks_owed WHERE update_id = ?", [update_id]
        ).fetchone() is not None

    def claim_owed_thanks(self, tag: str, update_id: int) -> bool:
        """Hand the owed thanks of the submission Skicka in `tag` made over to `update_id`.

        For the same button tapped again when the submitting update will not come back: the
        note is then the new update's (`thanks_owed_for`, `thanks_sent`). Returns True when a
        thanks was owed for that tag.
        """
        with self.transaction():
            cur = self.db.execute(
                "UPDATE OR REPLACE thanks_owed SET update_id = ? WHERE tag = ?", [update_id, tag]
            )
        return cur.rowcount > 0

    def thanks_sent(self, update_id: int) -> None:
        """Forget that this update is owed its thanks (it has been sent)."""
        with self.transaction():
            self.db.execute("DELETE FROM thanks_owed WHERE update_id = ?", [update_id])

    def discard_session(self, chat_id: ChatRef) -> bool:
        """Delete the chat's unfinished answers (/radera); the link can be used again.

        Returns False when there was nothing to delete.
        """
        return self._end_for_chat(chat_id, None, today_utc())

    def _end_for_chat(self, chat_id: ChatRef, status: str | None, today: date,
                      update_id: int | None = None, tag: str | None = None) -> bool:
        with self.transaction():
            row = self._find(chat_id)
            if row is None:
                return False
            self._end_session(row, status, today)
            if update_id is not None:
                # Telegram numbers updates in order: a note this far from the newest belongs to
                # an update Telegram no longer delivers (or to numbering Telegram restarted),
                # whose thanks can never be sent. Not a note just above this one: chats are
                # handled concurrently, so a later update may have submitted a moment ago.
                self.db.execute(
                    "DELETE FROM thanks_owed WHERE update_id < ? OR update_id > ?",
                    [update_id - THANKS_WINDOW, update_id + THANKS_WINDOW],
                )
                self.db.execute(
                    "INSERT OR REPLACE INTO thanks_owed (update_id, tag) VALUES (?, ?)",
                    [update_id, tag],
                )
        self.forget_chat_key(chat_id)
        self.checkpoint()
        return True

    def _end_session(self, row: Mapping[str, Any], status: str | None, today: date) -> None:
        """End one session inside the caller's transaction: its row and reminder go, always.

        With a `status` (complete, partial) its answers become a response with a fresh random
        id in today's month; with None they are dropped and the link's use is given back.
        """
        self.db.execute("DELETE FROM session WHERE id = ?", [row["id"]])
        if row["reminder_id"] is not None:
            self.db.execute("DELETE FROM reminder WHERE id = ?", [row["reminder_id"]])
        link_hash = self._link_of(row)
        if link_hash is not None:
            self.db.execute(
                "UPDATE link SET in_progress = max(in_progress - 1, 0), "
                "held_by = CASE WHEN in_progress > 1 THEN held_by END, "
                "uses_left = uses_left + ? WHERE token_hash = ?",
                [0 if status is not None else 1, link_hash],
            )
            if status == "complete":
                count_link_use(self.db, link_hash, "submitted", 1)
            elif status is None:
                # The use was given back: as if the link had not been started.
                count_link_use(self.db, link_hash, "started", -1)
        if status is None:
            return
        response_id = secrets.token_hex(RESPONSE_ID_BYTES)
        self.db.table("response").insert(
            {
                "id": response_id,
                "enkat": row["enkat"],
                "version": row["version"],
                "insats_id": row["insats_id"],
                "month": month_of(today),
                "status": status,
            }
        )
        answers: dict[str, str | None] = json.loads(row["answers"])
        self.db.conn.executemany(
            "INSERT INTO answer (response_id, item_id, value) VALUES (?, ?, ?)",
            [(response_id, item_id, value) for item_id, value in sorted(answers.items())],
        )

    def _link_of(self, row: Mapping[str, Any]) -> str | None:
        # Only links with an unfinished survey can be this session's: a handful to try.
        if row["link_ref"] is None:
            return None
        for link in self.db.query("SELECT token_hash FROM link WHERE in_progress > 0"):
            ref = self._link_ref(row["chat_key"], link["token_hash"])
            if hmac.compare_digest(ref, row["link_ref"]):
                return str(link["token_hash"])
        return None

    def due_reminders(self, after_days: int, today: date | None = None) -> list[int]:
        """Return the chat ids whose survey has waited `after_days` days; forget them.

        Each chat is returned once per period of silence: its reminder row is deleted here
        and only written again when the participant answers.
        """
        today = today or today_utc()
        cutoff = (today - timedelta(days=after_days)).isoformat()
        due: list[int] = []
        with self.transaction():
            rows = list(
                self.db.query(
                    "SELECT session.id AS session_id, reminder.id, reminder.sealed "
                    "FROM session JOIN reminder ON reminder.id = session.reminder_id "
                    "WHERE session.last_active <= ?",
                    [cutoff],
                )
            )
            for r in rows:
                self.db.execute("DELETE FROM reminder WHERE id = ?", [r["id"]])
                self.db.execute(
                    "UPDATE session SET reminder_id = NULL WHERE id = ?", [r["session_id"]]
                )
                due.append(self._open_chat(r["sealed"]))
        return due

    def unshown_chats(self) -> list[int]:
        """Return the Telegram chats whose current step is not known to be on their screen.

        A step is noted as shown only once its message exists; a send that failed, or a
        process that died in between, leaves the note empty. Paused surveys show nothing.
        Only chats that still have their reminder row can be found (its sealed chat id): a
        survey quiet for days is shown again on the participant's next message instead.
        """
        rows = self.db.query(
            "SELECT reminder.sealed FROM session JOIN reminder ON reminder.id = "
            "session.reminder_id WHERE session.channel = 'telegram' AND session.stage != "
            "'paused' AND (CASE WHEN json_valid(session.flow) THEN "
            "json_extract(session.flow, '$.shown') END) IS NULL"
        )
        return sorted(self._open_chat(r["sealed"]) for r in rows)

    def owed_reminders(self) -> list[int]:
        """Return the chat ids a reminder is owed to if they stay quiet (sorted)."""
        return sorted(self._open_chat(r["sealed"]) for r in self.db.query(
            "SELECT sealed FROM reminder"
        ))

    def expire_sessions(self, after_days: int, today: date | None = None) -> int:
        """Close surveys untouched for `after_days` days, keeping their answers as partial.

        A session with no answers is deleted and its link is freed. Returns how many
        sessions were closed.
        """
        today = today or today_utc()
        cutoff = (today - timedelta(days=after_days)).isoformat()
        with self.transaction():
            rows = list(self.db.query("SELECT * FROM session WHERE last_active <= ?", [cutoff]))
            for r in rows:
                answered = bool(json.loads(r["answers"]))
                self._end_session(r, "partial" if answered else None, today)
        if rows:
            self.forget_chat_keys()
            self.checkpoint()
        return len(rows)


def scrub_unfinished(path: str | Path) -> None:
    """Remove every unfinished survey from a copy of the database (a backup), in place.

    Deletes sessions and reminders, gives each link the uses its unfinished surveys held (so
    a participant can open it again after a restore), then VACUUMs so that no page of the
    copy keeps a trace of what was deleted. Never call it on the live database.
    """
    conn = sqlite3.connect(str(path))
    try:
        remove_unfinished(conn)
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")  # one file: no -wal beside the backup
    finally:
        conn.close()


def count_link_use(
    db: sqlite_utils.Database, token_hash: str, column: Literal["started", "submitted"], delta: int
) -> None:
    """Add `delta` to the counter of the link's insats, questionnaire and month of making.

    Only the counter changes: no row says which link was started or submitted.
    """
    db.execute(
        "INSERT INTO link_count (insats_id, enkat, month) "
        "SELECT insats_id, enkat, substr(created, 1, 7) FROM link WHERE token_hash = ? "
        "ON CONFLICT (insats_id, enkat, month) DO NOTHING",
        [token_hash],
    )
    db.execute(
        f"UPDATE link_count SET {column} = max(0, {column} + ?) "
        "WHERE (insats_id, enkat, month) = "
        "(SELECT insats_id, enkat, substr(created, 1, 7) FROM link WHERE token_hash = ?)",
        [delta, token_hash],
    )
