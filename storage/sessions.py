"""Unfinished surveys: the one place a chat is tied to a response, and how that tie ends.

This is the part anonymity depends on. A session row links a chat (only as an HMAC of its id)
to the response it builds; ending a session, whichever way, deletes that row, so a submitted,
expired or deleted survey leaves nothing that leads from a chat to its answers.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from storage.base import StoreBase
from storage.records import (
    Channel,
    ChatRef,
    LinkCheck,
    Session,
    StorageError,
    month_of,
    today_utc,
)


class SessionsPart(StoreBase):
    """Starting, saving and ending the unfinished survey of a chat."""

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

        Returns the new session. `channel` owns it until it ends; the response itself never
        records it. The response row starts as in_progress, holding only the
        enkät, its version, the insats and the month.
        """
        if link.problem is not None or link.token_hash is None or link.insats_id is None:
            raise StorageError("link_not_open")
        today = today or today_utc()
        key = self.chat_key(chat_id)
        response_id = secrets.token_hex(16)
        with self.transaction():
            if self._session_row(key) is not None:
                raise StorageError("session_exists")
            claimed = self.db.execute(
                "UPDATE link SET uses_left = uses_left - 1 "
                "WHERE token_hash = ? AND uses_left > 0 AND withdrawn = 0",
                [link.token_hash],
            ).rowcount
            if not claimed:
                raise StorageError("link_used")
            self.db.table("response").insert(
                {
                    "id": response_id,
                    "enkat": link.enkat,
                    "version": version,
                    "insats_id": link.insats_id,
                    "month": month_of(today),
                    "status": "in_progress",
                }
            )
            self.db.table("session").insert(
                {
                    "chat_key": key,
                    "response_id": response_id,
                    "link_hash": link.token_hash,
                    "stage": stage,
                    "current_item": None,
                    "message_id": None,
                    "last_active": today.isoformat(),
                    "channel": channel,
                }
            )
        session = self.get_session(chat_id)
        assert session is not None
        return session

    def _session_row(self, key: str) -> dict[str, Any] | None:
        rows = list(
            self.db.query(
                "SELECT session.*, response.enkat, response.version, insats.name AS insats "
                "FROM session JOIN response ON response.id = session.response_id "
                "JOIN insats ON insats.id = response.insats_id WHERE chat_key = ?",
                [key],
            )
        )
        return rows[0] if rows else None

    def get_session(self, chat_id: ChatRef) -> Session | None:
        """Return this chat's unfinished survey with its answers so far, or None."""
        row = self._session_row(self.chat_key(chat_id))
        if row is None:
            return None
        answers = {
            r["item_id"]: r["value"]
            for r in self.db.query(
                "SELECT item_id, value FROM answer WHERE response_id = ?", [row["response_id"]]
            )
        }
        return Session(
            chat_key=row["chat_key"],
            response_id=row["response_id"],
            enkat=row["enkat"],
            version=row["version"],
            insats=row["insats"],
            stage=row["stage"],
            current_item=row["current_item"],
            message_id=row["message_id"],
            answers=answers,
            link_hash=row["link_hash"],
            channel=row["channel"],
            flow=row["flow"],
        )

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

        The stored answers are made equal to `answers`: new ones written, changed ones
        updated, and ones the engine dropped (9 and 10 after 8 became Nej) deleted.
        """
        key = self.chat_key(chat_id)
        today = today or today_utc()
        with self.transaction():
            row = self._session_row(key)
            if row is None:
                raise StorageError("no_session")
            rid = row["response_id"]
            stored = {
                r["item_id"]: r["value"]
                for r in self.db.query(
                    "SELECT item_id, value FROM answer WHERE response_id = ?", [rid]
                )
            }
            for item_id in stored.keys() - answers.keys():
                self.db.execute(
                    "DELETE FROM answer WHERE response_id = ? AND item_id = ?", [rid, item_id]
                )
            for item_id, value in answers.items():
                if item_id not in stored or stored[item_id] != value:
                    self.db.execute(
                        "INSERT INTO answer (response_id, item_id, value) VALUES (?, ?, ?) "
                        "ON CONFLICT (response_id, item_id) DO UPDATE SET value = excluded.value",
                        [rid, item_id, value],
                    )
            updates: dict[str, object] = {
                "current_item": current_item,
                "last_active": today.isoformat(),
            }
            if stage is not None:
                updates["stage"] = stage
            if message_id is not None:
                updates["message_id"] = message_id
            if flow is not None:
                updates["flow"] = flow
            self._update_session(key, updates)
            if not remind:
                return
            self.db.execute(
                "INSERT INTO reminder (chat_id, quiet_since) VALUES (?, ?) "
                "ON CONFLICT (chat_id) DO UPDATE SET quiet_since = excluded.quiet_since",
                [chat_id, today.isoformat()],
            )

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
            self._update_session(self.chat_key(chat_id), updates)

    def _update_session(self, key: str, updates: Mapping[str, object]) -> None:
        cols = ", ".join(f"{c} = ?" for c in updates)
        self.db.execute(f"UPDATE session SET {cols} WHERE chat_key = ?", [*updates.values(), key])

    def finish_session(self, chat_id: ChatRef, *, today: date | None = None) -> bool:
        """Submit the chat's survey: the response becomes complete; the chat link is deleted.

        Returns False when the chat had no unfinished survey (already submitted).
        """
        return self._end_for_chat(chat_id, "complete", today or today_utc())

    def discard_session(self, chat_id: ChatRef) -> bool:
        """Delete the chat's unfinished answers (/radera); the link can be used again.

        Returns False when there was nothing to delete.
        """
        return self._end_for_chat(chat_id, None, today_utc())

    def _end_for_chat(self, chat_id: ChatRef, status: str | None, today: date) -> bool:
        key = self.chat_key(chat_id)
        with self.transaction():
            row = self._session_row(key)
            if row is None:
                return False
            self._end_session(row, status, today)
            self.db.execute("DELETE FROM reminder WHERE chat_id = ?", [chat_id])
        self.checkpoint()
        return True

    def _end_session(self, row: Mapping[str, object], status: str | None, today: date) -> None:
        """End one session inside the caller's transaction: the chat link goes, always.

        With a `status` the response is kept as that (complete, partial) in today's month;
        with None it is deleted with its answers and its link's use is given back.
        """
        self.db.execute("DELETE FROM session WHERE chat_key = ?", [row["chat_key"]])
        if status is not None:
            self.db.execute(
                "UPDATE response SET status = ?, month = ? WHERE id = ?",
                [status, month_of(today), row["response_id"]],
            )
            return
        self.db.execute("DELETE FROM response WHERE id = ?", [row["response_id"]])
        if row["link_hash"]:
            self.db.execute(
                "UPDATE link SET uses_left = uses_left + 1 WHERE token_hash = ?",
                [row["link_hash"]],
            )

    def due_reminders(self, after_days: int, today: date | None = None) -> list[int]:
        """Return the chat ids whose survey has waited `after_days` days; forget them.

        Each chat is returned once per period of silence: its reminder row is deleted here
        and only written again when the participant answers.
        """
        today = today or today_utc()
        cutoff = (today - timedelta(days=after_days)).isoformat()
        with self.transaction():
            due = [r["chat_id"] for r in self.db.query(
                "SELECT chat_id FROM reminder WHERE quiet_since <= ?", [cutoff]
            )]
            self.db.execute("DELETE FROM reminder WHERE quiet_since <= ?", [cutoff])
        return [cid for cid in due if self._session_row(self.chat_key(cid)) is not None]

    def expire_sessions(self, after_days: int, today: date | None = None) -> int:
        """Close surveys untouched for `after_days` days, keeping their answers as partial.

        A session with no answers is deleted with its empty response and its link is freed.
        Returns how many sessions were closed.
        """
        today = today or today_utc()
        cutoff = (today - timedelta(days=after_days)).isoformat()
        with self.transaction():
            rows = list(
                self.db.query(
                    "SELECT session.chat_key, session.response_id, session.link_hash, "
                    "EXISTS (SELECT 1 FROM answer WHERE answer.response_id = session.response_id)"
                    " AS answered FROM session WHERE last_active <= ?",
                    [cutoff],
                )
            )
            for r in rows:
                self._end_session(r, "partial" if r["answered"] else None, today)
            self.db.execute("DELETE FROM reminder WHERE quiet_since <= ?", [cutoff])
        if rows:
            self.checkpoint()
        return len(rows)
