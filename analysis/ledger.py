"""The release ledger: no two released tables can be subtracted to show a small group.

Suppression inside one table (`analysis.figures`) keeps every group under the threshold t
hidden, also groups found by subtraction inside the table (samtliga − kvinnor − män). But
coordinators receive many tables: the year so far every month, one insats and all insatser,
whatever /rapport is asked for. Two of them over *nested* populations subtract to a third
group: the year so far through March minus the year so far through February is March alone;
all insatser minus one insats is the others. If that group is 1 to t−1 people, its answers are
out. So every released table is recorded here, and a new one is checked against all of them.

What is recorded: per released table — one question (or free-text question) of one
questionnaire over one *scope* (a range of months, and one insats or all) — the counts of each
shown group (samtliga, kvinnor, män): tillfrågade, n and the band counts. Never who answered.

The rule, for each question of a new table X and each recorded table R of the same question
whose scope contains X's or lies inside it (months within months, one insats within all
insatser or the same insats; the same scope counts too, since data may have changed between
the two): take the people of the inner scope and those of the difference, each split into
kvinnor, män and the rest — six parts. Every set of parts that some sum or difference of the
shown groups of X and R adds up to exactly (the difference of samtliga, of kvinnor, the
remainder of the difference, kvinnor of the inner table within samtliga of the outer, …) is
computed from the numbers as released, and if it is 1 to t−1 people (by n, or by tillfrågade
when n is 0) X is changed: first the smaller of kvinnor and män is hidden, then both, then the
whole question — each time with the ordinary suppression rules applied again — until no such
set is small. Free-text lists are treated the same way by the number asked. A hidden group is
not recorded, so it can be shown later when the difference has grown to t or more.

Limits: tables whose scopes overlap without one containing the other are not compared (their
difference is not a group of people), nor are sums of three or more tables (all insatser minus
two insatser); respondent counts per questionnaire are not held back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass, field
from fractions import Fraction
from functools import cache
from itertools import product

from analysis.figures import GROUPS, Counts, ScopeKey, is_small

_PARTS = {"samtliga": (1, 1, 1), "kvinnor": (1, 0, 0), "män": (0, 1, 0)}
"""Which of (kvinnor, män, the rest) each shown group is made of."""

FREE_TEXT_GROUP = "fritext"
"""The group name under which a free-text question's list is recorded (only samtliga sees it)."""


@dataclass(frozen=True)
class Scope:
    """Whose answers a table counts: months `start` to `end` ("YYYY-MM"), one insats or all."""

    start: str
    end: str
    insats: str | None = None

    def within(self, other: Scope) -> bool:
        """Return True when everyone counted in this scope is counted in `other` too."""
        months = other.start <= self.start and self.end <= other.end
        return months and (other.insats is None or other.insats == self.insats)


@dataclass(frozen=True)
class Table:
    """One released table: the shown groups' counts of one question over one scope."""

    scope: Scope
    enkat: str
    item_id: str
    cells: Mapping[str, Counts]

    @property
    def key(self) -> str:
        """Return an id that is the same for the same table released again."""
        parts = [self.scope.start, self.scope.end, self.scope.insats or "", self.enkat,
                 self.item_id]
        parts += [f"{g}={astuple(self.cells[g])}" for g in sorted(self.cells)]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


Solution = tuple[tuple[int, int, int, int, int, int], tuple[tuple[str, str, Fraction], ...]]


@cache
def _derivable(inner: frozenset[str], outer: frozenset[str]) -> tuple[Solution, ...]:
    """Return every set of the six parts that the shown groups add up to, with the recipe.

    Parts are (kvinnor, män, rest) of the inner scope, then of the difference. A recipe is
    (side, group, coefficient) for each shown group.
    """
    cells: list[tuple[str, str, tuple[int, ...]]] = []
    for g in sorted(inner):
        cells.append(("inner", g, _PARTS[g] + (0, 0, 0)))
    for g in sorted(outer):
        cells.append(("outer", g, _PARTS[g] + _PARTS[g]))
    out: list[Solution] = []
    for target in product((0, 1), repeat=6):
        if any(target):
            coefficients = _solve([c[2] for c in cells], target)
            if coefficients is not None:
                recipe = tuple(
                    (side, g, k) for (side, g, _), k in zip(cells, coefficients, strict=True) if k
                )
                out.append((target, recipe))  # type: ignore[arg-type]
    return tuple(out)


def _solve(vectors: Sequence[tuple[int, ...]], target: tuple[int, ...]) -> list[Fraction] | None:
    """Return coefficients c with sum(c[i] * vectors[i]) == target exactly, or None."""
    n, m = len(vectors), len(target)
    # Gaussian elimination on the augmented m × (n + 1) system, in exact fractions.
    rows = [[Fraction(vectors[j][i]) for j in range(n)] + [Fraction(target[i])] for i in range(m)]
    pivots: list[int] = []
    r = 0
    for col in range(n):
        pivot = next((i for i in range(r, m) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        lead = rows[r][col]
        rows[r] = [x / lead for x in rows[r]]
        for i in range(m):
            if i != r and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots.append(col)
        r += 1
    if any(all(x == 0 for x in row[:n]) and row[n] != 0 for row in rows):
        return None
    out = [Fraction(0)] * n
    for i, col in enumerate(pivots):
        out[col] = rows[i][n]
    return out


def _combine(recipe: Iterable[tuple[str, str, Fraction]],
             inner: Mapping[str, Counts], outer: Mapping[str, Counts]) -> tuple[Fraction, ...]:
    total = [Fraction(0)] * len(astuple(Counts()))
    for side, g, k in recipe:
        values = astuple((inner if side == "inner" else outer)[g])
        total = [t + k * v for t, v in zip(total, values, strict=True)]
    return tuple(total)


def _reveals(values: Sequence[Fraction], threshold: int) -> bool:
    """Return True when derived counts describe 1 to threshold − 1 people."""
    for sign in (1, -1):
        vals = [sign * v for v in values]
        if any(v.denominator != 1 for v in vals):
            continue
        counts = Counts(*(int(v) for v in vals))
        if is_small(counts, threshold):
            return True
    return False


def tables_reveal(a: Table, b: Table, threshold: int) -> bool:
    """Return True when subtracting the two tables' shown groups shows a small group.

    Only tables of the same question over nested scopes are compared (see the module doc).
    """
    if (a.enkat, a.item_id) != (b.enkat, b.item_id):
        return False
    if a.scope.within(b.scope):
        inner, outer = a, b
    elif b.scope.within(a.scope):
        inner, outer = b, a
    else:
        return False
    if FREE_TEXT_GROUP in inner.cells or FREE_TEXT_GROUP in outer.cells:
        x, y = inner.cells.get(FREE_TEXT_GROUP), outer.cells.get(FREE_TEXT_GROUP)
        return x is not None and y is not None and _reveals(
            tuple(Fraction(v) for v in astuple(y - x)), threshold
        )
    for _, recipe in _derivable(frozenset(inner.cells), frozenset(outer.cells)):
        if not any(side == "outer" for side, _, _ in recipe):
            continue  # inside the inner table alone: its own suppression has seen to that
        if not any(side == "inner" for side, _, _ in recipe):
            continue  # inside the outer table alone
        if _reveals(_combine(recipe, inner.cells, outer.cells), threshold):
            return True
    return False


@dataclass
class ReleaseGuard:
    """Checks the tables of one new release against every table released before.

    `released` are the recorded tables; `pending` collects this release's shown tables, to be
    recorded once the release is made (`analysis.ledger.rows` turns them into storage rows).
    """

    released: Sequence[Table]
    threshold: int
    pending: list[Table] = field(default_factory=list)
    _by_item: dict[tuple[str, str], list[Table]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        """Index the recorded tables by question, once."""
        for t in self.released:
            self._by_item.setdefault((t.enkat, t.item_id), []).append(t)

    def _safe(self, table: Table) -> bool:
        earlier = self._by_item.get((table.enkat, table.item_id), [])
        return not any(tables_reveal(table, r, self.threshold) for r in earlier)

    def _keep(self, table: Table) -> None:
        if table.cells:
            self.pending.append(table)
            self._by_item.setdefault((table.enkat, table.item_id), []).append(table)

    def hide(
        self,
        scope: ScopeKey,
        enkat: str,
        item_id: str,
        counts: Mapping[str, Counts],
        hidden: frozenset[str],
        close: Callable[[frozenset[str]], frozenset[str]],
    ) -> frozenset[str]:
        """Return the groups to hide of one question: `hidden`, and more where the ledger says.

        `counts` are the raw counts of the groups the table has; `close(h)` applies the ordinary
        suppression rules on top of the groups `h`.
        """
        where = Scope(*scope)
        ladder = [hidden]
        shown_genders = [g for g in ("kvinnor", "män") if g in counts and g not in hidden]
        if len(shown_genders) == 2:
            women, men = counts["kvinnor"], counts["män"]
            fewer = "kvinnor" if (women.n, women.tillfragade) < (men.n, men.tillfragade) else "män"
            ladder.append(hidden | {fewer})
        if shown_genders:
            ladder.append(hidden | {"kvinnor", "män"})
        for step in ladder:
            final = close(frozenset(step))
            table = Table(where, enkat, item_id, {g: c for g, c in counts.items() if g not in final})
            if self._safe(table):
                self._keep(table)
                return final
        return frozenset(g for g in GROUPS if g in counts)

    def hide_free_text(self, scope: ScopeKey, enkat: str, item_id: str, asked: int) -> bool:
        """Return True when a free-text list must be held back because of earlier releases."""
        table = Table(Scope(*scope), enkat, item_id, {FREE_TEXT_GROUP: Counts(tillfragade=asked, n=asked)})
        if not self._safe(table):
            return True
        self._keep(table)
        return False


COLUMNS: tuple[str, ...] = ("release_id", "start", "end", "insats", "enkat", "item_id", "grp")
"""The storage columns of a released cell, followed by Counts' fields."""
_COUNT_FIELDS = tuple(Counts.__dataclass_fields__)


def rows(tables: Iterable[Table]) -> list[dict[str, object]]:
    """Return the storage rows of the tables: one per shown group, no identities."""
    out: list[dict[str, object]] = []
    for t in tables:
        key = t.key
        for g, c in sorted(t.cells.items()):
            row: dict[str, object] = {
                "release_id": key, "start": t.scope.start, "end": t.scope.end,
                "insats": t.scope.insats or "", "enkat": t.enkat, "item_id": t.item_id, "grp": g,
            }
            row.update(zip(_COUNT_FIELDS, astuple(c), strict=True))
            out.append(row)
    return out


def tables(stored: Iterable[Mapping[str, object]]) -> list[Table]:
    """Return the tables the storage rows describe (the reverse of `rows`)."""
    grouped: dict[str, tuple[Scope, str, str, dict[str, Counts]]] = {}
    for r in stored:
        key = str(r["release_id"])
        if key not in grouped:
            scope = Scope(str(r["start"]), str(r["end"]), str(r["insats"]) or None)
            grouped[key] = (scope, str(r["enkat"]), str(r["item_id"]), {})
        values = (r[f] for f in _COUNT_FIELDS)
        grouped[key][3][str(r["grp"])] = Counts(*(int(v) for v in values))  # type: ignore[call-overload]
    return [Table(s, e, i, cells) for s, e, i, cells in grouped.values()]
