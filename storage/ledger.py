"""The release ledger's table: the counts of every table cell released to anyone.

What the rows mean and how they are used is `analysis.ledger`'s business; this part only
reads and writes them, and makes a release's check-and-record safe between processes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from storage.base import StoreBase

LEDGER_COLUMNS: tuple[str, ...] = (
    "release_id", "start", "end", "insats", "enkat", "item_id", "grp", "atoms", "tillfragade",
    "n", "negativt", "varken_eller", "positivt", "klart_positivt", "ja", "nej",
)
"""The columns of `released_cell`, in order."""


class LedgerPart(StoreBase):
    """Released cells: read them all, record a release."""

    def released_cells(self) -> tuple[list[dict[str, object]], int]:
        """Return every recorded released cell and a stamp to pass to `record_release`."""
        rows = [dict(r) for r in self.db.query("SELECT * FROM released_cell")]
        return rows, len(rows)

    def record_release(self, rows: Sequence[Mapping[str, object]], *, stamp: int) -> bool:
        """Record released cells unless others were recorded after `stamp`; return success.

        False means another release (the bot, or `enkatbot rapport`) came in between: read the
        cells again and check the release anew. The same cell recorded twice is kept once.
        """
        conn = self.db.conn
        # IMMEDIATE takes the write lock first, so the stamp cannot change between check and
        # insert, not even from another process.
        conn.execute("BEGIN IMMEDIATE")
        try:
            now = conn.execute("SELECT count(*) FROM released_cell").fetchone()[0]
            if now != stamp:
                conn.execute("ROLLBACK")
                return False
            columns = ", ".join(f'"{c}"' for c in LEDGER_COLUMNS)
            marks = ", ".join("?" for _ in LEDGER_COLUMNS)
            conn.executemany(
                f"INSERT OR IGNORE INTO released_cell ({columns}) VALUES ({marks})",
                [[row[c] for c in LEDGER_COLUMNS] for row in rows],
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return True
