"""Which groups' figures a report must hide, so that no small group can be seen or derived.

Small groups (threshold t, default 5). A group's figures for a question are *small* when
1 ≤ n < t, or when n = 0 and 1 ≤ tillfrågade < t (showing "0 of 3 answered" says what those
three did). Shown figures give away not only the groups shown but any difference of them, and
with n shown every whole percentage pins down a count, so the rule works on groups of people:

1. Primary: hide every small group. If samtliga is hidden, hide kvinnor and män too.
2. Complementary, participant questionnaires: if samtliga, kvinnor and män are all shown and
   the remainder (tillfrågade and n of samtliga − kvinnor − män) is small, hide whichever of
   kvinnor and män has the fewer answers (män on a tie). If exactly one of kvinnor and män is
   hidden and that group together with the remainder is small, hide the other one as well.
   After this no group under the threshold can be derived by subtraction.
3. A conditional question (avslut 9, 10) hides at least the groups its condition question
   (avslut 8) hides: its tillfrågade is the number of Ja on 8 and would otherwise reveal them.
4. A hidden group shows nothing, not even tillfrågade or n: together with the other shown
   numbers they would tell how many gave another gender or none, which in a small insats can
   point at a person. Hidden cells read "För få svar för att redovisas".

Two reports over nested data (an insats and all insatser, the year so far this month and last
month) could still be subtracted from each other: the release ledger (`analysis.ledger`) checks
every release against all earlier ones and hides more where that would show a small group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

GROUPS: tuple[str, ...] = ("samtliga", "kvinnor", "män")
DEFAULT_THRESHOLD = 5


@dataclass(frozen=True)
class Counts:
    """Raw counts for one question and one group of respondents."""

    tillfragade: int = 0
    n: int = 0
    negativt: int = 0
    varken_eller: int = 0
    positivt: int = 0
    klart_positivt: int = 0
    ja: int = 0
    nej: int = 0

    def __add__(self, other: Counts) -> Counts:
        """Return the counts of both groups together."""
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __sub__(self, other: Counts) -> Counts:
        """Return the counts of this group without the other (a remainder group)."""
        return Counts(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))


def is_small(counts: Counts, threshold: int) -> bool:
    """Return True when a group's figures would describe fewer people than the threshold.

    That is 1 ≤ n < threshold, or n = 0 while 1 ≤ tillfrågade < threshold.
    """
    if 1 <= counts.n < threshold:
        return True
    return counts.n == 0 and 1 <= counts.tillfragade < threshold


def suppressed_groups(
    counts: Mapping[str, Counts],
    threshold: int,
    *,
    inherited: Iterable[str] = (),
) -> frozenset[str]:
    """Return the groups whose figures must be hidden for one question (rule in module doc).

    `counts` has "samtliga" and, for questionnaires split by gender, "kvinnor" and "män";
    `inherited` are the groups the condition question hides.
    """
    total = counts["samtliga"]
    hidden = {g for g, c in counts.items() if is_small(c, threshold)} | set(inherited)
    if "kvinnor" not in counts:
        return frozenset(hidden & {"samtliga"})
    if "samtliga" in hidden:
        return frozenset(GROUPS)
    women, men = counts["kvinnor"], counts["män"]
    remainder = total - women - men
    shown = [g for g in ("kvinnor", "män") if g not in hidden]
    if len(shown) == 2 and is_small(remainder, threshold):
        fewer = "kvinnor" if (women.n, women.tillfragade) < (men.n, men.tillfragade) else "män"
        hidden.add(fewer)
        shown.remove(fewer)
    if len(shown) == 1:
        other = "män" if shown[0] == "kvinnor" else "kvinnor"
        if is_small(counts[other] + remainder, threshold):
            hidden.add(shown[0])
    return frozenset(hidden)
