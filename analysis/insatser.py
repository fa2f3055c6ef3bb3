"""Responses and survey links per insats and questionnaire: where staff may need to remind.

Response counts come from the responses of the period; link counts (handed out, started,
submitted) from the storage's link counters, which hold numbers per insats, questionnaire and
month and never which link was answered. Small numbers are hidden as everywhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import pandas as pd

from analysis.formatting import percent, swedish_sort_key
from analysis.suppression import Counts, is_small


@dataclass(frozen=True)
class LinkCounts:
    """Links of one insats and questionnaire made in a period, and how many were used."""

    insats: str
    enkat: str
    handed_out: int
    started: int
    submitted: int


@dataclass(frozen=True)
class InsatsRow:
    """One insats and questionnaire as shown: None where a number is hidden or unknown.

    `responses` counts the period's responses (complete and partial); `hidden` is True when it
    is 1 to threshold−1 and so not shown. The link columns are None when the row has no links
    (responses from links made before the period, or from the command line's terminal chat);
    started and submitted are hidden (None, `links_hidden`) when either is under the threshold.
    """

    insats: str
    enkat: str
    responses: int | None
    hidden: bool
    handed_out: int | None = None
    started: int | None = None
    submitted: int | None = None
    links_hidden: bool = False

    @property
    def andel(self) -> int | None:
        """Return submitted / handed out in whole percent ("andel besvarade länkar"), or None."""
        if self.submitted is None or not self.handed_out:
            return None
        return percent(self.submitted, self.handed_out)


def link_counts_from_rows(rows: Iterable[Mapping[str, object]]) -> list[LinkCounts]:
    """Return LinkCounts from storage rows (insats, enkat, handed_out, started, submitted)."""
    return [
        LinkCounts(
            str(r["insats"]),
            str(r["enkat"]),
            int(str(r["handed_out"])),
            int(str(r["started"])),
            int(str(r["submitted"])),
        )
        for r in rows
    ]


def _small(value: int, threshold: int) -> bool:
    # The one rule for small groups (analysis.suppression), applied to a count of people.
    return is_small(Counts(tillfragade=value, n=value), threshold)


def insats_rows(
    responses: pd.DataFrame,
    order: Sequence[str],
    threshold: int,
    links: Sequence[LinkCounts] = (),
    insats: str | None = None,
) -> tuple[InsatsRow, ...]:
    """Return a row per insats and questionnaire with responses or links in the period.

    `responses` are the period's responses counted (columns insats, enkat and n, as a
    Dataset holds them), `order` the questionnaire ids in report order.
    """
    grouped = responses.groupby(["insats", "enkat"])["n"].sum()
    counts: dict[tuple[str, str], int] = {}
    for key, n in grouped.items():
        i, e = cast(tuple[object, object], key)
        counts[(str(i), str(e))] = int(n)
    by_key = {(lc.insats, lc.enkat): lc for lc in links if insats is None or lc.insats == insats}
    keys = sorted(
        set(counts) | set(by_key),
        key=lambda k: (swedish_sort_key(k[0]), order.index(k[1]) if k[1] in order else 99),
    )
    rows = []
    for key in keys:
        n = counts.get(key, 0)
        lc = by_key.get(key)
        hidden = _small(n, threshold)
        row = InsatsRow(key[0], key[1], None if hidden else n, hidden)
        if lc is not None:
            links_hidden = _small(lc.started, threshold) or _small(lc.submitted, threshold)
            row = InsatsRow(
                key[0],
                key[1],
                None if hidden else n,
                hidden,
                handed_out=lc.handed_out,
                started=None if links_hidden else lc.started,
                submitted=None if links_hidden else lc.submitted,
                links_hidden=links_hidden,
            )
        rows.append(row)
    return tuple(rows)
