"""Gallring: deleting responses older than the förbund's gallringsbeslut, leaving no trace.

Deleted rows are overwritten (PRAGMA secure_delete is on for every connection), the WAL is
folded in and truncated, and VACUUM rebuilds the file, so the deleted answers are not left in
free pages either. Each gallring writes one gallringsprotokoll line to the audit log: when, by
which rule, how many responses of which questionnaire and month, never their content.
Aggregates imported as history (`historik`) are kept unless asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from storage.audit import Actor, AuditPart
from storage.records import StorageError, today_utc

RULE_SETTING = "ENKATBOT_GALLRING_AR={years}"
RULE_OPTION = "--fore {month}"
FINISHED = "status IN ('complete', 'partial')"
"""Unfinished surveys are not gallrade: they are still being answered (expiry ends them)."""


@dataclass(frozen=True)
class GallringResult:
    """What a gallring deleted (or, in a dry run, would delete)."""

    before: str
    """Responses from months before this "YYYY-MM" are deleted."""
    rule: str
    counts: Mapping[tuple[str, str], int]
    """(questionnaire, month) → number of responses."""
    history_years: tuple[int, ...]
    dry_run: bool

    @property
    def total(self) -> int:
        """Return the number of responses deleted."""
        return sum(self.counts.values())


def cutoff_month(years: int, today: date | None = None) -> str:
    """Return the first month kept when responses are kept `years` years: "YYYY-MM"."""
    today = today or today_utc()
    return f"{today.year - years:04d}-{today.month:02d}"


def check_month(month: str) -> str:
    """Return `month` when it is a "YYYY-MM" month; raise StorageError otherwise."""
    parts = month.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4 \
            or not 1 <= int(parts[1]) <= 12:
        raise StorageError("bad_month", raw=month)
    return f"{int(parts[0]):04d}-{int(parts[1]):02d}"


class RetentionPart(AuditPart):
    """Gallring of responses and, when asked, of imported history."""

    def _history_years_before(self, before: str) -> list[int]:
        if "historik" not in self.db.table_names():
            return []
        # A measurement year is named after the year it ends (November–October).
        return [
            int(r["ar"])
            for r in self.db.query("SELECT DISTINCT ar FROM historik ORDER BY ar")
            if f"{int(r['ar']):04d}-10" < before
        ]

    def gallra(
        self,
        before: str,
        *,
        rule: str,
        actor: Actor,
        protocol: Callable[[GallringResult], str],
        dry_run: bool = False,
        include_history: bool = False,
    ) -> GallringResult:
        """Delete the finished responses from months before `before`; return what went.

        With `dry_run` nothing changes and nothing is logged. Otherwise the deletion is
        followed by a checkpoint and VACUUM, and the gallringsprotokoll line `protocol`
        words is logged in the same transaction.
        """
        before = check_month(before)
        counts = {
            (r["enkat"], r["month"]): int(r["n"])
            for r in self.db.query(
                f"SELECT enkat, month, count(*) AS n FROM response WHERE month < ? AND {FINISHED} "
                "GROUP BY enkat, month",
                [before],
            )
        }
        years = tuple(self._history_years_before(before)) if include_history else ()
        result = GallringResult(before, rule, counts, years, dry_run)
        if dry_run:
            return result
        with self.transaction():
            self.db.execute(
                "DELETE FROM answer WHERE response_id IN "
                f"(SELECT id FROM response WHERE month < ? AND {FINISHED})",
                [before],
            )
            self.db.execute(f"DELETE FROM response WHERE month < ? AND {FINISHED}", [before])
            for year in years:
                self.db.execute("DELETE FROM historik WHERE ar = ?", [year])
            self.log_action(actor, "gallring", protocol(result))
        if counts or years:
            self.checkpoint()
            self.db.execute("VACUUM")
            self.checkpoint()
        return result
