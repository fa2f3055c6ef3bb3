"""Reading the stored responses for reports, as pandas DataFrames."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.base import StoreBase

if TYPE_CHECKING:
    import pandas as pd


class ReportingPart(StoreBase):
    """The responses and answers that reports are computed from."""

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
