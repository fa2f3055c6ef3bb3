"""Free-text answers made safe to store: personal data masked, length bounded.

Participants sometimes write their personnummer, phone number or e-mail address in a free-text
answer. Those would tie an anonymous response to a person, so they are masked before the text
is stored or shown anywhere.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_TEXT_LENGTH = 1000
"""Longest free-text answer kept; longer texts are cut and the front end says so."""

MASK_PERSONNUMMER = "[personnummer]"
MASK_PHONE = "[telefonnummer]"
MASK_EMAIL = "[e-post]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# 6 or 8 digits of birth date, optional - or + separator, 4 digits; also with spaces.
_PERSONNUMMER = re.compile(r"(?<!\d)(?:19|20)?\d{2}[01]\d[0-3]\d\s?[-+]?\s?\d{4}(?!\d)")
# Swedish and international numbers: +46 70 123 45 67, 070-123 45 67, 08-123 456 78, 0701234567.
# A leading 0, + or 00 is required, so dates, years and amounts ("2023-05-12", "1 000 000 kr")
# are left as the participant wrote them.
_PHONE = re.compile(r"(?<![\w+])(?:\+|0)[\d\s\-()]{6,}\d(?![\w])")
# Swedish mobile numbers (07x…) look like a personnummer of someone born in 2007; as a mobile
# number is far likelier in a free-text answer, they are recognised first.
_MOBILE = re.compile(r"(?<!\d)07\d[\s-]?\d{3}[\s-]?\d{2}[\s-]?\d{2}(?!\d)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class CleanText:
    """A free-text answer ready to store: `text`, and whether it was `masked` or `truncated`."""

    text: str
    masked: bool
    truncated: bool


def mask_personal_data(text: str) -> tuple[str, bool]:
    """Return the text with personnummer, phone numbers and e-mail addresses masked.

    The second value is True when anything was masked.
    """
    out = _EMAIL.sub(MASK_EMAIL, text)
    out = _MOBILE.sub(MASK_PHONE, out)
    out = _PERSONNUMMER.sub(MASK_PERSONNUMMER, out)

    def phone(m: re.Match[str]) -> str:
        digits = sum(ch.isdigit() for ch in m.group(0))
        return MASK_PHONE if 7 <= digits <= 15 else m.group(0)

    out = _PHONE.sub(phone, out)
    return out, out != text


def clean_text(raw: str, max_length: int = MAX_TEXT_LENGTH) -> CleanText:
    """Return the raw text normalised, masked and cut to `max_length` characters."""
    text = unicodedata.normalize("NFC", raw)
    text = _CONTROL.sub("", text).strip()
    text, masked = mask_personal_data(text)
    truncated = len(text) > max_length
    if truncated:
        text = text[: max_length - 1].rstrip() + "…"
    return CleanText(text=text, masked=masked, truncated=truncated)
