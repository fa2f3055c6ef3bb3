"""Report periods: a measurement year, a month, or a range of months, and their Swedish names.

Responses carry only the month they were submitted ("YYYY-MM"; anonymity allows nothing finer),
so every period is a whole number of months. The measurement year runs 1 November – 31 October
and is named after the year it ends in: "2023" is November 2022 – October 2023.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from babel.dates import format_date

from analysis import texts

LOCALE = "sv_SE"
FIRST_MONTH_OF_YEAR = 11
"""The measurement year starts in November."""

PeriodKind = Literal["ar", "manad", "intervall"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodError(ValueError):
    """A period that cannot be used; the message is Swedish and says what is wrong."""


def parse_month(text: str) -> tuple[int, int]:
    """Return (year, month) for a "YYYY-MM" string; raise PeriodError for anything else."""
    m = _MONTH.match(str(text).strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise PeriodError(texts.PERIOD_BAD_MONTH.format(text=text))
    return int(m.group(1)), int(m.group(2))


def month_key(year: int, month: int) -> str:
    """Return the "YYYY-MM" string for a year and month."""
    return f"{year:04d}-{month:02d}"


def shift_month(month: str, delta: int) -> str:
    """Return the month `delta` months after `month` (negative: before)."""
    y, m = parse_month(month)
    index = y * 12 + (m - 1) + delta
    return month_key(index // 12, index % 12 + 1)


def measurement_year_of(month: str) -> int:
    """Return the measurement year a month belongs to (2022-11 and 2023-10 both give 2023)."""
    y, m = parse_month(month)
    return y + 1 if m >= FIRST_MONTH_OF_YEAR else y


def month_name(month: str, *, short: bool = False) -> str:
    """Return a month in Swedish: "november 2023", or with short=True "nov 2023"."""
    y, m = parse_month(month)
    d = date(y, m, 1)
    if short:
        # Babel abbreviates Swedish months with a full stop ("nov."); the reports write "nov".
        return f"{format_date(d, 'LLL', locale=LOCALE).rstrip('.')} {y}"
    return format_date(d, "LLLL yyyy", locale=LOCALE)


@dataclass(frozen=True)
class Period:
    """A whole number of months from `start` to `end` inclusive, both "YYYY-MM"."""

    start: str
    end: str
    kind: PeriodKind = "intervall"
    so_far: bool = False
    """True while the period's last month is still running: its label says "hittills"."""

    def __post_init__(self) -> None:
        """Refuse a period that ends before it starts."""
        parse_month(self.start)
        parse_month(self.end)
        if self.end < self.start:
            raise PeriodError(texts.PERIOD_ENDS_BEFORE_START.format(end=self.end, start=self.start))

    def months(self) -> list[str]:
        """Return every month of the period as "YYYY-MM", in order."""
        out = [self.start]
        while out[-1] != self.end:
            out.append(shift_month(out[-1], 1))
        return out

    def contains(self, month: str) -> bool:
        """Return True when the month lies in the period."""
        return self.start <= month <= self.end

    @property
    def measurement_year(self) -> int:
        """Return the measurement year the period ends in."""
        return measurement_year_of(self.end)

    @property
    def label(self) -> str:
        """Return the period in Swedish, e.g. "mätåret 2023 (nov 2022–okt 2023)".

        A period that is still running says so: "november 2023 (hittills)", and a year so far
        "mätåret 2024 hittills (nov 2023–feb 2024)".
        """
        span = texts.PERIOD_SPAN.format(start=month_name(self.start, short=True),
                                        end=month_name(self.end, short=True))
        if self.is_year_to_date:
            return texts.PERIOD_YEAR_SO_FAR.format(year=self.measurement_year, span=span)
        if self.so_far and self.start == self.end:
            return texts.PERIOD_MONTH_SO_FAR.format(month=month_name(self.start))
        if self.kind == "ar":
            return texts.PERIOD_YEAR.format(year=self.measurement_year, span=span)
        if self.start == self.end:
            return month_name(self.start)
        return span

    @property
    def is_year_to_date(self) -> bool:
        """Return True for a running measurement year: from its first November, still going."""
        return (
            self.so_far
            and self.kind != "ar"
            and self.start == month_key(self.measurement_year - 1, FIRST_MONTH_OF_YEAR)
            and self.end != self.start
            and measurement_year_of(self.start) == self.measurement_year
        )

    @property
    def short_label(self) -> str:
        """Return a label short enough for a chart legend or a column heading."""
        if self.kind == "ar":
            return str(self.measurement_year)
        return self.label

    @property
    def slug(self) -> str:
        """Return a file-name-safe name for the period, e.g. "2023" or "2023-03_2023-06"."""
        if self.kind == "ar":
            return str(self.measurement_year)
        return self.start if self.start == self.end else f"{self.start}_{self.end}"


def measurement_year(year: int) -> Period:
    """Return the measurement year named `year`: November of year-1 to October of year."""
    if not 2000 <= year <= 2100:
        raise PeriodError(texts.PERIOD_BAD_YEAR.format(year=year))
    return Period(month_key(year - 1, FIRST_MONTH_OF_YEAR), month_key(year, 10), "ar")


def single_month(month: str) -> Period:
    """Return the period of one month."""
    parse_month(month)
    return Period(month, month, "manad")


def month_range(start: str, end: str) -> Period:
    """Return the months from `start` to `end` inclusive."""
    return Period(start, end, "manad" if start == end else "intervall")


def year_to_date(month: str, *, so_far: bool = False) -> Period:
    """Return the measurement year so far: from its first November up to and including `month`.

    `so_far` marks `month` as still running (its label then says "hittills").
    """
    year = measurement_year_of(month)
    start = month_key(year - 1, FIRST_MONTH_OF_YEAR)
    if month == month_key(year, 10):
        return measurement_year(year)
    return Period(start, month, "manad" if start == month else "intervall", so_far=so_far)


def month_so_far(month: str) -> Period:
    """Return the month that is still running, labelled "… (hittills)"."""
    parse_month(month)
    return Period(month, month, "manad", so_far=True)
