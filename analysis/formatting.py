"""Numbers as the reports print them: whole percent rounded half up, Swedish notation via Babel."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal, format_percent

LOCALE = "sv_SE"


_SWEDISH_ORDER = str.maketrans(
    {"å": "z\x01", "ä": "z\x02", "æ": "z\x02", "ö": "z\x03", "ø": "z\x03"}
)


def swedish_sort_key(text: str) -> str:
    """Return a key that sorts text in Swedish alphabetical order (… x y z å ä ö)."""
    return text.casefold().translate(_SWEDISH_ORDER)


def percent(part: int, whole: int) -> int | None:
    """Return part/whole in whole percent rounded half up (87.5 → 88), or None when whole is 0.

    Integer arithmetic: floats and Python's round() (half to even) get 12.5 and 87.5 wrong.
    """
    if whole <= 0:
        return None
    return (200 * part + whole) // (2 * whole)


def percent_text(value: int | None, *, missing: str = "–") -> str:
    """Return a whole percentage in Swedish notation ("95 %", non-breaking space), or `missing`."""
    if value is None:
        return missing
    return format_percent(Decimal(value) / 100, locale=LOCALE)


def number_text(value: int) -> str:
    """Return a whole number in Swedish notation ("5 000", non-breaking space)."""
    return format_decimal(value, locale=LOCALE)
