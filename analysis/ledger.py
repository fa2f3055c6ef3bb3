"""The release ledger: no two released tables can be subtracted to show a small group.

Suppression inside one table (`analysis.suppression`) keeps every group under the threshold t
hidden, also groups found by subtraction inside the table (samtliga − kvinnor − män). But
coordinators receive many tables: the year so far every month, one insats and all insatser,
whatever /rapport is asked for (any month, with a forged button). Two of them over *nested*
populations subtract to a third group: the year so far through March minus the year so far
through February is March alone; all insatser minus one insats is the others. If that group is
1 to t−1 people, their answers are out. So every released table is recorded here, and a new
one is checked against all of them before it is released.

What is recorded, per released table (one question, or free-text list, of one questionnaire
over one period and one insats or all): the counts of each shown group — tillfrågade, n and the
band counts — and its *atoms*: which (month, insats, kvinnor/män/övriga) had anyone asked. Never
who answered, nor anything finer than the report itself.

The rule. For each question of a new table X and each recorded table R of the same question
that shares an atom with it, people are sorted into classes by which shown groups of X and R
count them: by atom, and for an atom both count, those R counted apart from those who came
later (late answers; maybe nobody). Every sum or difference of the shown groups, with
coefficients −1, 0 or 1, using both tables, that counts every class surely holding people
exactly once or not at all describes a group of people: the difference of samtliga, of
kvinnor, the remainder of the difference, kvinnor of the smaller table within samtliga of the
larger, and so on. Its counts are computed from the numbers as released; if they describe 1 to
t−1 people (by n, or by tillfrågade when n is 0) X is changed: first the smaller of kvinnor
and män is hidden, then both, then the whole question — each time with the ordinary
suppression rules applied again — until no such group is small. Because the classes come from
atoms, populations nest by who is in them, not by their labels: November–March of an insats
with nobody in November is treated as December–March. Free-text lists are treated the same way
by the number asked. A hidden group is not recorded, so it can be shown later, once the
difference has grown to t or more.

Limits: sums of three or more tables (all insatser minus two insatser) are not checked, and
respondent counts per questionnaire are not held back. Where the suppression step calls this
module: `analysis.counting.Selection.figures` and `.free_texts`, through `build_report(guard=…)`;
every release goes through `release()`, which also records it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass, field
from functools import cache
from itertools import product
from typing import Protocol, TypeVar

import numpy as np

from analysis.counting import ScopeKey
from analysis.suppression import GROUPS, Counts

FREE_TEXT_GROUP = "fritext"
"""The group name under which a free-text question's list is recorded (only samtliga sees it)."""

Atom = tuple[str, str, str]
"""(month, insats, gender key: kvinnor, män or övriga): a place people counted in a table come
from. A table records which atoms had anyone asked, never how many or who."""


@dataclass(frozen=True)
class Scope:
    """Whose answers a table counts: months `start` to `end` ("YYYY-MM"), one insats or all."""

    start: str
    end: str
    insats: str | None = None


@dataclass(frozen=True)
class Table:
    """One released table: the shown groups' counts of one question, and where they came from."""

    scope: Scope
    enkat: str
    item_id: str
    cells: Mapping[str, Counts]
    atoms: frozenset[Atom] = frozenset()

    @property
    def key(self) -> str:
        """Return an id that is the same for the same table released again."""
        parts = [self.scope.start, self.scope.end, self.scope.insats or "", self.enkat,
                 self.item_id, *sorted("/".join(a) for a in self.atoms)]
        parts += [f"{g}={astuple(self.cells[g])}" for g in sorted(self.cells)]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]

    def members(self, group: str) -> frozenset[Atom]:
        """Return the atoms a shown group counts."""
        if group in ("samtliga", FREE_TEXT_GROUP):
            return self.atoms
        return frozenset(a for a in self.atoms if a[2] == group)


_COMBOS = {k: np.array(list(product((-1, 0, 1), repeat=k)), dtype=np.int64) for k in range(9)}


@cache
def _exact_recipes(
    matrix: tuple[tuple[int, ...], ...], certain: tuple[bool, ...], new_cells: int
) -> np.ndarray:
    """Return the ±1 combinations of cells that count every certain class 0 or 1 times.

    `matrix` has a row per cell (the new table's first `new_cells` rows) and a column per class
    of people; only combinations that use both tables are returned.
    """
    m = np.array(matrix, dtype=np.int64)
    combos = _COMBOS[m.shape[0]]
    per_class = combos @ m
    sure = np.array(certain, dtype=bool)
    exact = np.all((per_class[:, sure] == 0) | (per_class[:, sure] == 1), axis=1)
    both = np.any(combos[:, :new_cells] != 0, axis=1) & np.any(combos[:, new_cells:] != 0, axis=1)
    chosen: np.ndarray = combos[exact & both]
    return chosen


def tables_reveal(new: Table, old: Table, threshold: int) -> bool:
    """Return True when sums and differences of the two tables' shown groups show a small group.

    People are placed by atom; those in an atom both tables count may have grown in number
    since `old` was released (late answers), so that part of `new` is its own, maybe empty,
    class. A combination of the shown groups that counts every surely non-empty class once or
    not at all describes a group of people; its counts come from the released numbers.
    """
    if (new.enkat, new.item_id) != (old.enkat, old.item_id) or not new.atoms & old.atoms:
        return False
    cells = [(new, g) for g in sorted(new.cells)] + [(old, g) for g in sorted(old.cells)]
    if len(cells) > max(_COMBOS):
        raise ValueError("too many groups in one table")
    shared = new.atoms & old.atoms
    # An element is a part of an atom: ("o", atom) is who `old` counted there; ("n", atom) is
    # who `new` counted there beyond that (everyone, for an atom `old` did not count).
    signatures: dict[tuple[str, Atom], list[int]] = {}
    for row, (table, g) in enumerate(cells):
        for atom in table.members(g):
            parts = [("o", atom), ("n", atom)] if table is new and atom in shared else (
                [("o", atom)] if table is old else [("n", atom)]
            )
            for part in parts:
                signatures.setdefault(part, [0] * len(cells))[row] = 1
    classes: dict[tuple[tuple[int, ...], bool], None] = {}
    for (kind, atom), sig in signatures.items():
        classes[(tuple(sig), not (kind == "n" and atom in shared))] = None
    keys = list(classes)
    matrix = tuple(tuple(k[0][row] for k in keys) for row in range(len(cells)))
    recipes = _exact_recipes(matrix, tuple(k[1] for k in keys), len(new.cells))
    if not len(recipes):
        return False
    values = np.array([astuple(t.cells[g]) for t, g in cells], dtype=np.int64)
    derived = recipes @ values
    tf, n = np.abs(derived[:, 0]), np.abs(derived[:, 1])
    small = ((n >= 1) & (n < threshold)) | ((n == 0) & (tf >= 1) & (tf < threshold))
    return bool(small.any())


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
        atoms: frozenset[Atom],
    ) -> frozenset[str]:
        """Return the groups to hide of one question: `hidden`, and more where the ledger says.

        `counts` are the raw counts of the groups the table has; `close(h)` applies the ordinary
        suppression rules on top of the groups `h`; `atoms` are where those asked came from.
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
            shown = {g: c for g, c in counts.items() if g not in final}
            table = Table(where, enkat, item_id, shown, atoms)
            if self._safe(table):
                self._keep(table)
                return final
        return frozenset(g for g in GROUPS if g in counts)

    def hide_free_text(
        self, scope: ScopeKey, enkat: str, item_id: str, asked: int, atoms: frozenset[Atom]
    ) -> bool:
        """Return True when a free-text list must be held back because of earlier releases."""
        cells = {FREE_TEXT_GROUP: Counts(tillfragade=asked, n=asked)}
        table = Table(Scope(*scope), enkat, item_id, cells, atoms)
        if not self._safe(table):
            return True
        self._keep(table)
        return False


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
                "atoms": json.dumps(sorted(t.atoms), ensure_ascii=False),
            }
            row.update(zip(_COUNT_FIELDS, astuple(c), strict=True))
            out.append(row)
    return out


def tables(stored: Iterable[Mapping[str, object]]) -> list[Table]:
    """Return the tables the storage rows describe (the reverse of `rows`)."""
    grouped: dict[str, tuple[Scope, str, str, dict[str, Counts], frozenset[Atom]]] = {}
    for r in stored:
        key = str(r["release_id"])
        if key not in grouped:
            scope = Scope(str(r["start"]), str(r["end"]), str(r["insats"]) or None)
            atoms = frozenset(tuple(a) for a in json.loads(str(r["atoms"])))
            grouped[key] = (scope, str(r["enkat"]), str(r["item_id"]), {}, atoms)
        values = (r[f] for f in _COUNT_FIELDS)
        grouped[key][3][str(r["grp"])] = Counts(*(int(v) for v in values))  # type: ignore[call-overload]
    return [Table(s, e, i, cells, atoms) for s, e, i, cells, atoms in grouped.values()]


class LedgerStore(Protocol):
    """Where released cells are kept (`storage.Store` is one)."""

    def released_cells(self) -> tuple[list[dict[str, object]], int]:
        """Return every recorded cell and a stamp for `record_release`."""
        ...

    def record_release(self, rows: Sequence[Mapping[str, object]], *, stamp: int) -> bool:
        """Record the cells unless others came in since `stamp`; return success."""
        ...


class LedgerBusy(RuntimeError):
    """Other releases kept coming in while this one was being checked."""


Released = TypeVar("Released")


def release(
    store: LedgerStore, threshold: int, build: Callable[[ReleaseGuard], Released], attempts: int = 5
) -> Released:
    """Build a release checked against every earlier one, record it, and return it.

    `build(guard)` makes the release (a report, a summary) passing `guard` to `build_report`.
    If another release was recorded meanwhile (another process), it is built again.
    """
    for _ in range(attempts):
        stored, stamp = store.released_cells()
        guard = ReleaseGuard(tables(stored), threshold)
        made = build(guard)
        if store.record_release(rows(guard.pending), stamp=stamp):
            return made
    raise LedgerBusy("the release ledger kept changing; try again")
