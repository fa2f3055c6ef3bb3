"""Insatser and survey links: what staff create so participants can open a survey."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

from storage.base import StoreBase
from storage.records import (
    INSATS_NAME_LIMIT,
    TOKEN_BYTES,
    Insats,
    LinkCheck,
    LinkProblem,
    StorageError,
    hash_token,
    insats_from_row,
    today_utc,
)


class LinksPart(StoreBase):
    """Insatser and the survey links that belong to them."""

    def add_insats(self, name: str, today: date | None = None) -> Insats:
        """Create an insats; return it. Raises StorageError when the name is empty or taken."""
        name = " ".join(name.split())
        if not name:
            raise StorageError("insats_name_empty")
        if len(name) > INSATS_NAME_LIMIT:
            raise StorageError("insats_name_too_long", limit=INSATS_NAME_LIMIT)
        if self.get_insats(name) is not None:
            raise StorageError("insats_name_taken", name=name)
        created = (today or today_utc()).isoformat()
        self.db.table("insats").insert({"name": name, "created": created})
        insats = self.get_insats(name)
        assert insats is not None
        return insats

    def get_insats(self, name: str) -> Insats | None:
        """Return the insats with this name (case-insensitive), or None."""
        rows = list(self.db.query("SELECT * FROM insats WHERE name = ? COLLATE NOCASE", [name]))
        return insats_from_row(rows[0]) if rows else None

    def get_insats_by_id(self, insats_id: int) -> Insats | None:
        """Return the insats with this id, or None."""
        rows = list(self.db.query("SELECT * FROM insats WHERE id = ?", [insats_id]))
        return insats_from_row(rows[0]) if rows else None

    def list_insatser(self, include_inactive: bool = False) -> list[Insats]:
        """Return the insatser sorted by name."""
        sql = "SELECT * FROM insats"
        if not include_inactive:
            sql += " WHERE active = 1"
        return [insats_from_row(r) for r in self.db.query(sql + " ORDER BY name COLLATE NOCASE")]

    def require_insats(self, name: str) -> Insats:
        """Return the insats named `name`, or raise StorageError listing the valid names."""
        insats = self.get_insats(name)
        if insats is None:
            names = [i.name for i in self.list_insatser()]
            raise StorageError("unknown_insats", name=name, names=names)
        return insats

    # -- survey links ------------------------------------------------------------------------

    def create_links(
        self,
        insats: str,
        enkat: str,
        *,
        count: int = 1,
        valid_days: int = 30,
        uses: int = 1,
        now: datetime | None = None,
    ) -> list[str]:
        """Create `count` survey links; return their tokens (stored only as hashes)."""
        if count < 1 or uses < 1 or valid_days < 1:
            raise StorageError("below_one")
        ins = self.require_insats(insats)
        now = now or datetime.now(UTC)
        expires = (now + timedelta(days=valid_days)).isoformat(timespec="seconds")
        tokens = [secrets.token_urlsafe(TOKEN_BYTES) for _ in range(count)]
        with self.transaction():
            self.db.table("link").insert_all(
                {
                    "token_hash": hash_token(t),
                    "insats_id": ins.id,
                    "enkat": enkat,
                    "created": now.date().isoformat(),
                    "expires": expires,
                    "uses_left": uses,
                }
                for t in tokens
            )
            # Each use is one invitation: a link for five people counts five.
            self.db.execute(
                "INSERT INTO link_count (insats_id, enkat, month, handed_out) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (insats_id, enkat, month) "
                "DO UPDATE SET handed_out = handed_out + excluded.handed_out",
                [ins.id, enkat, now.date().isoformat()[:7], count * uses],
            )
        return tokens

    def withdraw_link(self, token: str) -> bool:
        """Withdraw a link so it can no longer be opened; return False when it is unknown."""
        cur = self.db.execute(
            "UPDATE link SET withdrawn = 1 WHERE token_hash = ?", [hash_token(token)]
        )
        return cur.rowcount > 0

    def check_link(self, token: str, now: datetime | None = None) -> LinkCheck:
        """Return whether a link can be opened now, and if so for which insats and enkät."""
        rows = list(
            self.db.query(
                "SELECT link.*, insats.name AS insats_name FROM link "
                "JOIN insats ON insats.id = link.insats_id WHERE token_hash = ?",
                [hash_token(token)],
            )
        )
        if not rows:
            return LinkCheck(problem="unknown")
        row = rows[0]
        now = now or datetime.now(UTC)
        problem: LinkProblem | None = None
        if row["withdrawn"]:
            problem = "withdrawn"
        elif datetime.fromisoformat(row["expires"]) < now:
            problem = "expired"
        elif row["uses_left"] <= 0:
            problem = "used"
        return LinkCheck(
            problem=problem,
            token_hash=row["token_hash"],
            insats_id=row["insats_id"],
            insats=row["insats_name"],
            enkat=row["enkat"],
            in_progress=int(row["in_progress"]),
            held_by=row["held_by"] if problem == "used" and row["in_progress"] else None,
        )
