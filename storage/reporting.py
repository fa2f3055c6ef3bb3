"""Reading the stored responses for reports: counted per group in SQL, or as DataFrames."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from storage.base import StoreBase

if TYPE_CHECKING:
    import pandas as pd

RESPONDENT = "r.status IN ('complete', 'partial')"

RESPONSE_COUNT_COLUMNS = ("month", "enkat", "version", "insats", "status", "gender", "n")
"""month, questionnaire, version, insats, status, gender answer or None, how many responses."""
ANSWER_COUNT_COLUMNS = ("month", "enkat", "version", "insats", "gender", "item_id", "value", "n")
"""month, questionnaire, version, insats, gender answer or None, item id, value, how many."""

Columns = dict[str, list[Any]]
"""Rows as columns: each column's name and its values, row by row (every column as long)."""


@dataclass(frozen=True)
class Counted:
    """Finished responses and their answers, counted per group, for the months asked.

    Columns, not rows: tens of thousands of counts per report read as one tuple per row held
    twice the memory, and pandas takes columns faster.
    """

    responses: Columns
    """RESPONSE_COUNT_COLUMNS."""
    answers: Columns
    """ANSWER_COUNT_COLUMNS for every item; free-text items with value None (counted, not
    read)."""
    texts: Columns
    """ANSWER_COUNT_COLUMNS for the free-text items' answers (not empty), identical texts
    counted together; gender None (free texts are never split by gender)."""


class _Columns:
    """Rows gathered into columns, a chunk at a time; equal strings are kept once.

    SQLite gives every value of every row its own string object: the same month, item id and
    answer tens of thousands of times over (~30 MiB for a report's counts). Gathered here,
    a chunk of rows at a time, each column refers to one string per distinct value.
    """

    CHUNK = 4096

    def __init__(self, names: Sequence[str], insatser: Mapping[int, str]) -> None:
        self.names = tuple(names)
        self.columns: Columns = {name: [] for name in names}
        self._insatser = insatser
        self._seen: dict[object, object] = {}

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        """Add rows (values in the order of `names`); insats ids become names."""
        if not rows:
            return
        once = self._seen.setdefault
        for name, values in zip(self.names, zip(*rows, strict=True), strict=True):
            if name == "insats":
                self.columns[name] += map(self._insatser.__getitem__, values)
            elif name in ("version", "n"):
                self.columns[name] += values
            else:
                self.columns[name] += map(once, values, values)

    def read(self, cursor: sqlite3.Cursor) -> None:
        """Add every row the cursor still has."""
        while rows := cursor.fetchmany(self.CHUNK):
            self.add(rows)


class ReportingPart(StoreBase):
    """The responses and answers that reports are computed from."""

    def respondent_months(self, insats: str | None = None) -> list[str]:
        """Return the months with finished (complete or partial) responses, oldest first.

        `insats` limits them to one insats (case-insensitive).
        """
        where, args = RESPONDENT, []
        if insats is not None:
            where += " AND r.insats_id IN (SELECT id FROM insats WHERE name = ? COLLATE NOCASE)"
            args.append(insats)
        return [
            str(row[0])
            for row in self.db.execute(
                f"SELECT DISTINCT month FROM response r WHERE {where} ORDER BY 1", args
            )
        ]

    def respondent_insatser(self) -> list[str]:
        """Return the names of the insatser that have finished responses."""
        return [
            str(row[0])
            for row in self.db.execute(
                "SELECT name FROM insats i WHERE EXISTS (SELECT 1 FROM response r "
                f"WHERE r.insats_id = i.id AND {RESPONDENT})"
            )
        ]

    def counted(
        self,
        months: Sequence[str],
        *,
        background_items: Sequence[str],
        groups: Sequence[str],
        text_items: Sequence[str],
        text_months: Sequence[str] | None = None,
        insats: str | None = None,
    ) -> Counted:
        """Return the finished responses of `months` and their answers, counted per group.

        Groups are month, questionnaire, version, insats and the answer to a background item
        (gender) when it is one of `groups`, else None. Counts of months that did not change
        since they were last counted are read from the stored counts; the others are counted
        in SQL (GROUP BY) and kept for next time (see `_recount`). Free texts are read for
        `text_months` (default: `months`) only, and never stored twice. `insats` limits the
        result to one insats (its name as stored).
        """
        wanted = sorted(set(months))
        names = self._insats_names()
        responses = _Columns(RESPONSE_COUNT_COLUMNS, names)
        answers = _Columns(ANSWER_COUNT_COLUMNS, names)
        if not wanted:
            return Counted(responses.columns, answers.columns,
                           _Columns(ANSWER_COUNT_COLUMNS, names).columns)
        params = json.dumps([sorted(background_items), sorted(groups), sorted(text_items)])
        shown = sorted(set(text_months if text_months is not None else wanted))
        marks = ",".join("?" * len(wanted))
        fresh = {
            str(row[0])
            for row in self.db.execute(
                f"SELECT month FROM month_count_state WHERE month IN ({marks}) AND params = ?",
                [*wanted, params],
            )
        }
        stale = [m for m in wanted if m not in fresh]
        only = None
        if insats is not None:
            only = {i for i, name in names.items() if name.casefold() == insats.casefold()}
        if stale:
            r_rows, a_rows = self._recount(stale, background_items, groups, text_items, params)
            if only is not None:
                r_rows = [row for row in r_rows if row[3] in only]
                a_rows = [row for row in a_rows if row[3] in only]
            responses.add(r_rows)
            answers.add(a_rows)
            del r_rows, a_rows
        kept = sorted(fresh)
        if kept:
            where, args = f"month IN ({','.join('?' * len(kept))})", list[object](kept)
            if only is not None:
                where += f" AND insats_id IN ({','.join('?' * len(only))})"
                args += sorted(only)
            responses.read(self.db.execute(
                "SELECT month, enkat, version, insats_id, status, gender, n "
                f"FROM month_response_count WHERE {where}", args,
            ))
            answers.read(self.db.execute(
                "SELECT month, enkat, version, insats_id, gender, item_id, value, n "
                f"FROM month_answer_count WHERE {where}", args,
            ))
        texts = self._count_texts(shown, background_items, groups, text_items, insats, names)
        return Counted(responses.columns, answers.columns, texts)

    def _grouped_sql(
        self, months: Sequence[str], background_items: Sequence[str], groups: Sequence[str],
        text_items: Sequence[str], *, texts: bool, insats: str | None,
    ) -> tuple[str, str, list[object], list[object]]:
        """Return the responses and answers SELECTs counting per group, and their arguments."""
        bg = ",".join("?" * len(background_items)) or "NULL"
        tx = ",".join("?" * len(text_items)) or "NULL"
        marks = ",".join("?" * len(months))
        where = f"{RESPONDENT} AND r.month IN ({marks})"
        args: list[object] = [*background_items, *groups, *months]
        if insats is not None:
            where += " AND r.insats_id IN (SELECT id FROM insats WHERE name = ? COLLATE NOCASE)"
            args.append(insats)
        gender = (
            f"LEFT JOIN answer g ON g.response_id = r.id AND g.item_id IN ({bg}) "
            f"AND g.value IN ({','.join('?' * len(groups)) or 'NULL'})"
        )
        # For the texts the join names the items, so SQLite seeks them by primary key
        # instead of reading every answer of every response.
        texts_join = f"AND a.item_id IN ({tx}) AND a.value IS NOT NULL" if texts else ""
        responses = (
            "SELECT r.month, r.enkat, r.version, r.insats_id, r.status, g.value, count(*) "
            f"FROM response r {gender} WHERE {where} GROUP BY 1, 2, 3, 4, 5, 6"
        )
        if texts:
            # Without the respondent's gender (a third of the reading): free texts are listed
            # for samtliga only, and no question can be conditional on a free-text answer.
            answers = (
                "SELECT r.month, r.enkat, r.version, r.insats_id, NULL, a.item_id, a.value "
                f"FROM response r JOIN answer a ON a.response_id = r.id {texts_join} "
                f"WHERE {where}"
            )
            answer_args: list[object] = [*text_items, *months]
        else:
            # Free-text items are counted without their texts: that they were asked matters
            # (which versions had them), what was written is read apart, never kept twice.
            answers = (
                "SELECT r.month, r.enkat, r.version, r.insats_id, g.value, a.item_id, "
                f"CASE WHEN a.item_id IN ({tx}) THEN NULL ELSE a.value END, count(*) "
                f"FROM response r JOIN answer a ON a.response_id = r.id {gender} "
                f"WHERE {where} GROUP BY 1, 2, 3, 4, 5, 6, 7"
            )
            answer_args = [*text_items, *background_items, *groups, *months]
        if insats is not None:
            answer_args.append(insats)
        return responses, answers, args, answer_args

    def _recount(
        self, months: Sequence[str], background_items: Sequence[str], groups: Sequence[str],
        text_items: Sequence[str], params: str,
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Count `months` in SQL; keep the counts when nothing changed meanwhile.

        The counting (seconds over a large file) only reads, so it blocks no one. The counts
        are then written in the same transaction: if another connection committed since the
        counting began, SQLite refuses the write (the counts may be stale) and they are used
        for this report only; likewise when the file cannot be written.
        """
        responses, answers, r_args, a_args = self._grouped_sql(
            months, background_items, groups, text_items, texts=False, insats=None
        )
        marks = ",".join("?" * len(months))
        conn = self.db.conn
        conn.execute("BEGIN")
        try:
            r_rows = conn.execute(responses, r_args).fetchall()
            a_rows = conn.execute(answers, a_args).fetchall()
            try:
                for table in ("month_response_count", "month_answer_count", "month_count_state"):
                    conn.execute(f"DELETE FROM {table} WHERE month IN ({marks})", list(months))
                conn.executemany(
                    "INSERT INTO month_response_count VALUES (?, ?, ?, ?, ?, ?, ?)", r_rows
                )
                conn.executemany(
                    "INSERT INTO month_answer_count VALUES (?, ?, ?, ?, ?, ?, ?, ?)", a_rows
                )
                conn.executemany(
                    "INSERT INTO month_count_state (month, params) VALUES (?, ?)",
                    [(m, params) for m in months],
                )
                conn.execute("COMMIT")
            except sqlite3.OperationalError:
                pass  # busy, changed meanwhile, or read-only: rolled back below
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        return r_rows, a_rows

    def _insats_names(self) -> dict[int, str]:
        return {int(r[0]): str(r[1]) for r in self.db.execute("SELECT id, name FROM insats")}

    def _count_texts(
        self, months: Sequence[str], background_items: Sequence[str], groups: Sequence[str],
        text_items: Sequence[str], insats: str | None, names: Mapping[int, str],
    ) -> Columns:
        texts = _Columns(ANSWER_COUNT_COLUMNS, names)
        if not text_items or not months:
            return texts.columns
        _, answers, _, a_args = self._grouped_sql(
            months, background_items, groups, text_items, texts=True, insats=insats
        )
        counted = Counter(self.db.execute(answers, a_args))
        texts.add([(*row, n) for row, n in counted.items()])
        return texts.columns

    def link_counts(self, start_month: str, end_month: str) -> list[dict[str, object]]:
        """Return the links made in the months, per insats and questionnaire, and their use.

        Each row: insats (name), enkat, handed_out (uses handed out), started, submitted.
        """
        return list(
            self.db.query(
                "SELECT i.name AS insats, c.enkat, SUM(c.handed_out) AS handed_out, "
                "SUM(c.started) AS started, SUM(c.submitted) AS submitted "
                "FROM link_count c JOIN insats i ON i.id = c.insats_id "
                "WHERE c.month BETWEEN ? AND ? GROUP BY i.name, c.enkat ORDER BY 1, 2",
                [start_month, end_month],
            )
        )

    # -- earlier years' published figures (enkatbot historik) ---------------------------------

    def import_history(self, rows: Sequence[Mapping[str, object]], imported: str) -> None:
        """Store earlier years' figures, replacing whatever was stored for those years.

        All rows are written in one transaction, or none.
        """
        years = sorted({int(str(r["ar"])) for r in rows})
        with self.transaction():
            for year in years:
                self.db.execute("DELETE FROM historik WHERE ar = ?", [year])
            self.db.table("historik").insert_all({**r, "imported": imported} for r in rows)

    def history_rows(self) -> list[dict[str, object]]:
        """Return every imported row, by year, questionnaire, question and group."""
        return list(self.db.query("SELECT * FROM historik ORDER BY ar, enkat, fraga, grupp"))

    def history_years(self) -> list[tuple[int, int, str]]:
        """Return (year, number of rows, when imported) for every imported year."""
        return [
            (int(r["ar"]), int(r["rows"]), str(r["imported"]))
            for r in self.db.query(
                "SELECT ar, COUNT(*) AS rows, MAX(imported) AS imported FROM historik "
                "GROUP BY ar ORDER BY ar"
            )
        ]

    def remove_history(self, year: int) -> int:
        """Delete one imported year; return how many rows went."""
        return self.db.execute("DELETE FROM historik WHERE ar = ?", [year]).rowcount
    def response_frames(
        self,
        *,
        start_month: str | None = None,
        end_month: str | None = None,
        insats: str | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Return (responses, answers) as pandas DataFrames for reports.

        responses: response_id, enkat, version, insats, month, status (complete or partial);
        answers: response_id, item_id, value (missing where skipped: test with pandas.isna, as
        pandas 3 stores a missing string as NaN). Unfinished surveys are left
        out. Months are inclusive "YYYY-MM" bounds.
        """
        # Lazy: pandas takes a second to import, and only reports need it, not the survey.
        import pandas as pd

        where, args = ["r.status IN ('complete', 'partial')"], []
        if start_month:
            where.append("r.month >= ?")
            args.append(start_month)
        if end_month:
            where.append("r.month <= ?")
            args.append(end_month)
        if insats:
            where.append("i.name = ? COLLATE NOCASE")
            args.append(insats)
        cond = " AND ".join(where)
        responses = pd.DataFrame(
            list(
                self.db.query(
                    "SELECT r.id AS response_id, r.enkat, r.version, i.name AS insats, r.month, "
                    f"r.status FROM response r JOIN insats i ON i.id = r.insats_id WHERE {cond} "
                    "ORDER BY r.month, r.id",
                    args,
                )
            ),
            columns=["response_id", "enkat", "version", "insats", "month", "status"],
        )
        answers = pd.DataFrame(
            list(
                self.db.query(
                    "SELECT a.response_id, a.item_id, a.value FROM answer a "
                    "JOIN response r ON r.id = a.response_id "
                    f"JOIN insats i ON i.id = r.insats_id WHERE {cond} ORDER BY 1, 2",
                    args,
                )
            ),
            columns=["response_id", "item_id", "value"],
        )
        return responses, answers
