"""The audit log: what staff did, by whom and when. Participants are never in it.

Each entry is one row: a UTC time to the second, who (a staff member's Telegram id,
"kommandoraden" for the command line, "schemalagt" for the bot's own monthly jobs), an action
from `ACTIONS`, and a short detail that holds counts and names of insatser or roles, never a
link token, an invite token or an answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from storage.base import StoreBase
from storage.records import StorageError

COMMAND_LINE = "kommandoraden"
"""The actor of everything done with the `enkatbot` command."""

ACTIONS: tuple[str, ...] = (
    "roll_given",
    "roll_borttagen",
    "inbjudan_skapad",
    "inbjudan_anvand",
    "insats_skapad",
    "lankar_skapade",
    "lank_aterkallad",
    "rapport_skickad",
    "sammanfattning_skickad",
    "gallring",
    "aterstallning",
)

SCHEDULED = "schemalagt"
"""The actor of what the bot does by itself on its schedule (monthly summary, gallring)."""

Actor = int | str
"""A staff member's Telegram id, or COMMAND_LINE."""


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    at: datetime
    actor: str
    action: str
    detail: str


class AuditPart(StoreBase):
    """Writing and reading the audit log."""

    def log_action(
        self, actor: Actor, action: str, detail: str = "", *, now: datetime | None = None
    ) -> None:
        """Record that `actor` did `action` (one of ACTIONS); `detail` holds counts, no tokens."""
        if action not in ACTIONS:
            raise StorageError("unknown_action", action=action)
        at = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        with self.transaction():
            self.db.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)",
                [at, str(actor), action, detail],
            )

    def audit_entries(self, since: date | None = None) -> list[AuditEntry]:
        """Return the audit log in time order, from the start of day `since` (UTC) when given."""
        sql, args = "SELECT at, actor, action, detail FROM audit_log", []
        if since is not None:
            sql, args = sql + " WHERE at >= ?", [since.isoformat()]
        return [
            AuditEntry(datetime.fromisoformat(r["at"]), r["actor"], r["action"], r["detail"])
            for r in self.db.query(sql + " ORDER BY at, id", args)
        ]
