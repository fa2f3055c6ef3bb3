"""Staff, coordinators and admins: roles, invites and the monthly summary's subscribers."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from storage.base import StoreBase
from storage.records import (
    ROLE_BY_NAME,
    ROLES,
    TOKEN_BYTES,
    Role,
    StorageError,
    hash_token,
    today_utc,
)


class PeoplePart(StoreBase):
    """Users with roles, their invites, and who receives the monthly summary."""

    def add_user(self, telegram_id: int, role: str, today: date | None = None) -> None:
        """Give a Telegram user a role (replacing any earlier role)."""
        if role not in ROLES:
            raise StorageError("unknown_role", role=role, roles=ROLES)
        self.db.table("user").upsert(
            {"telegram_id": telegram_id, "role": role, "added": (today or today_utc()).isoformat()},
            pk="telegram_id",
        )

    def remove_user(self, telegram_id: int) -> bool:
        """Take away a user's role (and their monthly summary); return False when they had none."""
        with self.transaction():
            self.db.execute("DELETE FROM subscription WHERE telegram_id = ?", [telegram_id])
            return self.db.execute(
                "DELETE FROM user WHERE telegram_id = ?", [telegram_id]
            ).rowcount > 0

    def role_of(self, telegram_id: int) -> Role | None:
        """Return the user's stored role, or None."""
        rows = list(self.db.query("SELECT role FROM user WHERE telegram_id = ?", [telegram_id]))
        return ROLE_BY_NAME[rows[0]["role"]] if rows else None

    def users(self, role: str | None = None) -> list[tuple[int, str]]:
        """Return (telegram id, role) pairs, optionally only those with `role`."""
        sql, args = "SELECT telegram_id, role FROM user", []
        if role is not None:
            sql, args = sql + " WHERE role = ?", [role]
        return [(r["telegram_id"], r["role"]) for r in self.db.query(sql + " ORDER BY 1", args)]

    def create_invite(self, role: str, valid_days: int = 7, now: datetime | None = None) -> str:
        """Create a one-time invite that grants `role`; return its token."""
        if role not in ROLES:
            raise StorageError("unknown_role", role=role, roles=ROLES)
        token = "inv_" + secrets.token_urlsafe(TOKEN_BYTES)
        expires = (now or datetime.now(UTC)) + timedelta(days=valid_days)
        self.db.table("invite").insert(
            {
                "token_hash": hash_token(token),
                "role": role,
                "expires": expires.isoformat(timespec="seconds"),
            }
        )
        return token

    def redeem_invite(
        self, token: str, telegram_id: int, now: datetime | None = None
    ) -> Role | None:
        """Use an invite: give the user its role and spend it. Return the role, or None."""
        now = now or datetime.now(UTC)
        with self.transaction():
            rows = list(
                self.db.query(
                    "SELECT * FROM invite WHERE token_hash = ? AND used = 0", [hash_token(token)]
                )
            )
            if not rows or datetime.fromisoformat(rows[0]["expires"]) < now:
                return None
            self.db.execute(
                "UPDATE invite SET used = 1 WHERE token_hash = ?", [rows[0]["token_hash"]]
            )
            role = ROLE_BY_NAME[rows[0]["role"]]
            self.add_user(telegram_id, role, today=now.date())
        return role

    # -- coordinators' monthly summary -------------------------------------------------------

    def subscribe(self, telegram_id: int, today: date | None = None) -> None:
        """Subscribe a user to the monthly summary."""
        self.db.table("subscription").upsert(
            {"telegram_id": telegram_id, "since": (today or today_utc()).isoformat()},
            pk="telegram_id",
        )

    def unsubscribe(self, telegram_id: int) -> bool:
        """Stop a user's monthly summary; return False when they had none."""
        return self.db.execute(
            "DELETE FROM subscription WHERE telegram_id = ?", [telegram_id]
        ).rowcount > 0

    def subscribed_since(self, telegram_id: int) -> date | None:
        """Return the day the user subscribed to the monthly summary, or None."""
        rows = list(
            self.db.query("SELECT since FROM subscription WHERE telegram_id = ?", [telegram_id])
        )
        return date.fromisoformat(rows[0]["since"]) if rows else None

    def subscribers(self, admins: Iterable[int] = ()) -> list[int]:
        """Return the subscribed users who still hold the coordinator or admin role.

        `admins` are the administrators from ENKATBOT_ADMINS, which are never stored: one
        removed from the setting stops getting the summary with the role.
        """
        env = sorted(set(admins))
        marks = ", ".join("?" for _ in env)
        env_clause = f" OR s.telegram_id IN ({marks})" if env else ""
        return [
            r["telegram_id"]
            for r in self.db.query(
                "SELECT s.telegram_id FROM subscription s LEFT JOIN user u USING (telegram_id) "
                f"WHERE u.role IN ('coordinator', 'admin'){env_clause} ORDER BY 1",
                env,
            )
        ]

    def report_was_sent(self, telegram_id: int, month: str) -> bool:
        """Return True when the summary for `month` was already sent to this user."""
        return bool(
            list(
                self.db.query(
                    "SELECT 1 FROM report_sent WHERE telegram_id = ? AND month = ?",
                    [telegram_id, month],
                )
            )
        )

    def mark_report_sent(self, telegram_id: int, month: str) -> None:
        """Record that the summary for `month` reached this user."""
        self.db.execute(
            "INSERT OR IGNORE INTO report_sent (telegram_id, month) VALUES (?, ?)",
            [telegram_id, month],
        )
