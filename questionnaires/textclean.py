"""Free-text answers made safe to store: personal data masked, length bounded.

Participants sometimes write their personnummer, phone number, e-mail address, name or street
address in a free-text answer. Those would tie an anonymous response to a person, so they are
masked before the text is stored or shown anywhere.

How: the text is first read through a *matching view* in which every character is normalised
with NFKC (fullwidth digits and ＠ become ASCII, odd spaces become spaces), format characters
such as zero-width spaces are dropped and every kind of dash becomes ``-``. The detectors below
run on that view in a fixed order (e-mail, address, personnummer, phone number, name); a later
detector never takes text an earlier one claimed. Each hit is mapped back to the characters the
participant wrote and replaced there by its label, so text that holds nothing personal is kept
exactly as written.

Masking is a heuristic, tuned against `tests/data/masking_corpus.toml`: it prefers leaving an
ordinary date, time or amount alone over masking it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MAX_TEXT_LENGTH = 1000
"""Longest free-text answer kept; longer texts are cut and the front end says so."""

MASK_PERSONNUMMER = "[personnummer]"
MASK_PHONE = "[telefonnummer]"
MASK_EMAIL = "[e-post]"
MASK_NAME = "[namn]"
MASK_ADDRESS = "[adress]"

MASKS = (MASK_PERSONNUMMER, MASK_PHONE, MASK_EMAIL, MASK_NAME, MASK_ADDRESS)
"""Every label a masked part of a text can be replaced by."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")

# --- e-mail ----------------------------------------------------------------------------------

_AT_WORD = r"(?:at|a|snabel-?a)"
_DOT_WORD = r"(?:dot|punkt)"
_TLD = r"(?:se|nu|com|net|org|eu|info|io|me|dk|no|fi|de|uk|biz)"
# anna@exempel.se, anna @ exempel.se, anna(at)exempel.se, anna [at] exempel [dot] se …
_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]*\w"
    rf"(?:\s?@\s?|\s?\(\s?{_AT_WORD}\s?\)\s?|\s?\[\s?{_AT_WORD}\s?\]\s?|\s?\{{\s?{_AT_WORD}\s?\}}\s?)"
    r"[\w-]+"
    rf"(?:(?:\.|\s\.\s(?={_TLD}\b)|\s?\(\s?{_DOT_WORD}\s?\)\s?|\s?\[\s?{_DOT_WORD}\s?\]\s?"
    rf"|\s{_DOT_WORD}\s)[\w-]+)+",
    re.IGNORECASE,
)
# Spelled out in words: "anna at exempel punkt se", "anna snabel-a exempel.se". Only with a
# known top-level domain at the end, since "at" and "punkt" also occur in ordinary text.
_EMAIL_WORDS = re.compile(
    r"(?<![\w.+-])[\w.+-]*\w\s(?:at|snabel-?a)\s[\w-]+"
    rf"(?:(?:\.|\s{_DOT_WORD}\s)[\w-]+)*(?:\.|\s{_DOT_WORD}\s){_TLD}\b",
    re.IGNORECASE,
)

# --- street address --------------------------------------------------------------------------

_STREET_END = (
    r"(?:gatan|gata|vägen|väg|gränden|gränd|stigen|stig|backen|backe|torget|torg|allén|allé"
    r"|platsen|plan|leden|stråket|slingan|gången|liden|udden|kajen|parken|esplanaden)"
)
_STREET_PREFIXES = frozenset(
    {"Lilla", "Stora", "Norra", "Södra", "Östra", "Västra", "Sankt", "S:t", "Gamla", "Nya", "Övre",
     "Nedre"}
)
_STREET_PREFIX = rf"(?:(?:{'|'.join(sorted(_STREET_PREFIXES))})\s)?"
_UNIT_AFTER = (
    r"(?!\s?(?:gånger|gång|ggr|dagar|dag|år|kr|kronor|st|stycken|%|procent|timmar|timme|tim"
    r"|minuter|min|veckor|vecka|månader|månad|personer|pers|meter|m|km|mil)\b)"
)
_POSTNUMMER_ORT = r"[1-9]\d{2}\s?\d{2}(?:\s[A-ZÅÄÖ][\wåäöé-]+)?"
_ADDRESS = re.compile(
    rf"(?<!\w){_STREET_PREFIX}"
    rf"(?:[A-Za-zÅÄÖåäöÉé][A-Za-zÅÄÖåäöÉé-]*[a-zåäöé]{_STREET_END}"
    rf"|(?:[A-ZÅÄÖ][a-zåäöé]+\s)?[A-ZÅÄÖ][a-zåäöé]+s?\s(?:väg|gata|gränd|torg|plats|allé|backe|stig))"
    rf"\s\d{{1,4}}(?:\s?[A-Ha-h](?!\w))?(?!\d){_UNIT_AFTER}"
    r"(?:,?\s(?:lgh|lägenhet)\s?\d{3,4})?"
    rf"(?:\s?,?\s{_POSTNUMMER_ORT})?"
)
# A postnummer with its ort on its own ("123 45 Lidköping") places a person almost as well.
_POSTAL = re.compile(r"(?<![\w,.])[1-9]\d{2}\s\d{2}\s[A-ZÅÄÖ][a-zåäöé]+(?:-[A-ZÅÄÖ]?[a-zåäö]+)?")
# Compounds of -vägen/-gatan that are ordinary words, not street names.
_NOT_STREETS = frozenset(
    {"halvvägen", "omvägen", "genvägen", "hemvägen", "utvägen", "livsvägen", "mellanvägen",
     "medvägen", "motvägen", "bortvägen", "vägen", "gatan", "stigen", "backen", "torget", "leden",
     "parken", "gången", "platsen", "slingan", "kajen"}
)

# --- personnummer and samordningsnummer ------------------------------------------------------

# YYMMDD or YYYYMMDD, then the four last digits; single spaces, dots, dashes or slashes may
# sit between the parts ("1985 01 01-1234", "85-01-01/1234"). The day may be a
# samordningsnummer's (day + 60).
_PERSONNUMMER = re.compile(
    r"(?<!\d)(?<!\d[-./:,])(?<!\d\s)"
    r"(?:(?:19|20)\d{2}|\d{2})[\s./-]?"
    r"(?:0[1-9]|1[0-2])[\s./-]?"
    r"(?:0[1-9]|[12]\d|3[01]|6[1-9]|[78]\d|9[01])"
    r"(?P<sep>\s?[-+/.]?\s?)(?P<last>\d{4})(?!\d)(?![-./]\d)"
)

# --- phone numbers ---------------------------------------------------------------------------

# Not in the middle of a longer number or date ("2024-03-01", "1 500 000").
_NUMBER_START = r"(?<![\w+])(?<!\d[-./:,])(?<!\d\s)"
_PHONE_INTL = re.compile(
    _NUMBER_START
    + r"(?:\+|00)\s?\d{1,3}\s?(?:\(0\)\s?)?\(?\d(?:(?:\s?[-./]\s?|[\s()]{1,2})?\d){5,12}(?!\d)"
)
# 46701234567 or 46 70 123 45 67: the country code without its +.
_PHONE_46 = re.compile(_NUMBER_START + r"46\s?7[02369](?:[\s.-]?\d){7}(?!\d)")
# 070-123 45 67, 070.123.45.67, 08/123 456 78, (08) 123 45 67, 0701234567.
_PHONE_NATIONAL = re.compile(
    _NUMBER_START + r"\(?0[1-9]\d{0,3}\)?(?:\s?[-/]\s?|[\s.])?\d(?:[\s.-]?\d){4,8}(?!\d)"
)
# 70 123 45 67: a mobile number with its leading 0 left out.
_PHONE_MOBILE_NO_ZERO = re.compile(
    _NUMBER_START + r"7[02369](?:[\s./-]?\d){7}(?!\d)(?!\s?(?:kr|kronor|sek|:-|%|procent)\b)"
)
# Dates and times that a phone pattern could otherwise take: 01.03.2024, 05/03/24, 08.00-16.30.
_DATE_OR_TIME = re.compile(
    r"\d{1,2}[./-]\d{1,2}[./-](?:\d{2}|\d{4})"
    r"|\(?\d{1,2}[.:]\d{2}\)?\s?-\s?\(?\d{1,2}[.:]\d{2}\)?"
    r"|(?:[01]\d|2[0-3])[0-5]\d\s?-\s?(?:[01]\d|2[0-3])[0-5]\d"
)
_THOUSANDS = re.compile(r"\d{1,3}(?:\s\d{3})+")

# --- names -----------------------------------------------------------------------------------

# After these a name follows, in any case: "jag heter anna svensson", "Mitt namn är Anna".
_NAME_SAID = re.compile(
    r"(?<!\w)(?:jag\s+heter|heter\s+jag|mitt\s+(?:för|efter)?namn\s+är|namnet\s+är|mitt\s+namn\s*:"
    r"|(?:för|efter)?namn\s*:|skrivet\s+av|skrivit\s+av"
    r"|undertecknad|jag\s+som\s+skriver\s+(?:detta\s+|det\s+här\s+)?(?:är|heter))"
    r"(?:[ \t,:]+|(?<=:))",
    re.IGNORECASE,
)
# After these only capitalised words followed by a pause or a small word are taken as a name:
# "jag är Anna, 34 år" but not "jag är glad" or "jag är Arbetsförmedlingens kund".
_NAME_CAPITALISED = re.compile(
    r"(?<!\w)(?:jag\s+är|jag\s+kallas(?:\s+för)?|kalla\s+mig)\s+", re.IGNORECASE
)
# Sign-offs: "Hälsningar Anna", "Mvh Anna Svensson", "/Anna" at the end.
_SIGN_OFF = re.compile(
    r"(?<!\w)(?:(?:med\s+)?(?:vänlig(?:a|t)?|varma|bästa|många|glada|kärleksfulla)\s+hälsning(?:ar)?"
    r"|hälsningar|hälsning|mvh|m\.v\.h\.?|vh|kram(?:ar)?|hälsar)"
    r"[ \t]*[,:!.\-/]*[\s]*(?:från\s+)?",
    re.IGNORECASE,
)
# "… tack för allt /Anna": a slash before a name at the very end.
_SLASH_SIGN_OFF = re.compile(r"(?:^|(?<=\s))/{1,2}\s?")
# "Jag är Göteborgare", "jag är Svensk": what someone is, not who.
_DEMONYM = re.compile(r"(?:are|bo|ning|isk|sk|ska)$")
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))*\.?")
_NOT_NAMES = frozenset(
    {
        "och", "eller", "men", "att", "som", "är", "var", "har", "hade", "bor",
        "jobbar", "arbetar", "kommer", "i", "på", "från", "till", "med", "för", "av",
        "om", "inte", "ju", "nog", "typ", "bara", "också", "även", "så", "då",
        "nu", "sen", "jag", "du", "han", "hon", "hen", "vi", "ni", "de",
        "den", "det", "mig", "dig", "oss", "er", "min", "mitt", "mina", "din",
        "ditt", "dina", "sin", "sitt", "sina", "en", "ett", "inget", "ingen", "ingenting",
        "något", "nåt", "år", "tack", "hej", "hälsningar", "personalen", "alla", "ert", "era",
        "gruppen", "här", "där", "the", "and",
    }
)
_END = re.compile(r"[\s!.,:;)\-–—?…'\"’”\U0001F000-\U0001FFFF\u2600-\u27BF\uFE0F\u200D]*\Z")


@dataclass(frozen=True)
class CleanText:
    """A free-text answer ready to store: `text`, and whether it was `masked` or `truncated`."""

    text: str
    masked: bool
    truncated: bool


def _matching_view(text: str) -> tuple[str, list[int]]:
    """Return the text as the detectors read it, and each of its characters' index in `text`."""
    view: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ch in _DASHES:
            piece = "-"
        elif unicodedata.category(ch) == "Cf":
            piece = ""
        else:
            piece = unicodedata.normalize("NFKC", ch)
        for c in piece:
            view.append(c)
            origin.append(i)
    return "".join(view), origin


def _digits(s: str) -> int:
    return sum(c.isdigit() for c in s)


def _emails(view: str) -> Iterator[tuple[int, int]]:
    for pattern in (_EMAIL, _EMAIL_WORDS):
        for m in pattern.finditer(view):
            yield m.span()


def _addresses(view: str) -> Iterator[tuple[int, int]]:
    for m in _ADDRESS.finditer(view):
        words = m.group(0).split()
        street = words[1] if words[0] in _STREET_PREFIXES else words[0]
        if street.lower() not in _NOT_STREETS:
            yield m.span()
    for m in _POSTAL.finditer(view):
        yield m.span()


def _personnummer(view: str) -> Iterator[tuple[int, int]]:
    for m in _PERSONNUMMER.finditer(view):
        s = m.group(0)
        # Ten digits in a row starting with 0 is far likelier a phone number (0701234567,
        # 0311234567) than a personnummer of someone born 2000–2009 written without its dash.
        if s.isdigit() and len(s) == 10 and s.startswith("0"):
            continue
        # "2021-01-01 - 2022" is a date and a year, not a personnummer.
        if m["sep"].strip(" -") == "" and " " in m["sep"] and m["last"][:2] in ("19", "20"):
            continue
        yield m.span()


def _phones(view: str) -> Iterator[tuple[int, int]]:
    for m in _PHONE_INTL.finditer(view):
        if 8 <= _digits(m.group(0)) <= 15:
            yield m.span()
    for m in _PHONE_46.finditer(view):
        yield m.span()
    for m in _PHONE_NATIONAL.finditer(view):
        s = m.group(0)
        if 7 <= _digits(s) <= 11 and not _DATE_OR_TIME.fullmatch(s):
            yield m.span()
    for m in _PHONE_MOBILE_NO_ZERO.finditer(view):
        if not _THOUSANDS.fullmatch(m.group(0)):
            yield m.span()


def _name_after(view: str, start: int, *, mode: str) -> tuple[int, int] | None:
    """Return the span of the name written at `start`, or None.

    `mode` says which words count: "any" (after "jag heter", lower case too), "capitalised"
    (after "jag är"), "sign-off" (capitalised, or lower case when nothing follows) or "end"
    (capitalised and nothing follows, as in "… /Anna").
    """
    words: list[tuple[int, int]] = []
    pos = start
    while len(words) < 3:
        m = _WORD.match(view, pos)
        if m is None:
            break
        word = m.group(0).rstrip(".")
        capitalised = word[:1].isupper()
        if word.lower() in _NOT_NAMES:
            break
        first_capitalised = bool(words) and view[words[0][0]].isupper()
        if not capitalised and (mode in ("capitalised", "end") or first_capitalised):
            break
        if mode == "capitalised" and _DEMONYM.search(word):
            break
        words.append((m.start(), m.start() + len(word)))
        pos = m.end()
        if m.group(0).endswith(".") or view[pos : pos + 1] not in (" ", "\t"):
            break
        pos += 1
    if not words:
        return None
    span = (words[0][0], words[-1][1])
    at_end = _END.match(view, span[1]) is not None
    if mode == "end" and not at_end:
        return None
    if mode == "capitalised" and not at_end:
        after = _WORD.match(view, span[1] + 1)
        if view[span[1]] == " " and after and after.group(0).rstrip(".").lower() not in _NOT_NAMES:
            return None
    if mode == "sign-off" and not at_end and not view[span[0]].isupper():
        return None
    return span


def _names(view: str) -> Iterator[tuple[int, int]]:
    rules = ((_NAME_SAID, "any"), (_NAME_CAPITALISED, "capitalised"),
             (_SIGN_OFF, "sign-off"), (_SLASH_SIGN_OFF, "end"))
    for pattern, mode in rules:
        for m in pattern.finditer(view):
            span = _name_after(view, m.end(), mode=mode)
            if span is not None:
                yield span


_DETECTORS: tuple[tuple[Callable[[str], Iterator[tuple[int, int]]], str], ...] = (
    (_emails, MASK_EMAIL),
    (_addresses, MASK_ADDRESS),
    (_personnummer, MASK_PERSONNUMMER),
    (_phones, MASK_PHONE),
    (_names, MASK_NAME),
)


def mask_personal_data(text: str) -> tuple[str, bool]:
    """Return the text with personal data replaced by labels such as `[personnummer]`.

    Masked are personnummer and samordningsnummer, phone numbers, e-mail addresses, names a
    participant gives as their own and street addresses. The second value is True when
    anything was masked.
    """
    view, origin = _matching_view(text)
    taken: list[tuple[int, int, str]] = []
    for detect, label in _DETECTORS:
        for start, end in detect(view):
            if start == end or any(start < e and s < end for s, e, _ in taken):
                continue
            taken.append((start, end, label))
    if not taken:
        return text, False
    out: list[str] = []
    pos = 0
    for start, end, label in sorted(taken):
        first, last = origin[start], origin[end - 1] + 1
        out.append(text[pos:first])
        out.append(label)
        pos = last
    out.append(text[pos:])
    return "".join(out), True


def clean_text(raw: str, max_length: int = MAX_TEXT_LENGTH) -> CleanText:
    """Return the raw text normalised, masked and cut to `max_length` characters."""
    text = unicodedata.normalize("NFC", raw)
    text = _CONTROL.sub("", text).strip()
    text, masked = mask_personal_data(text)
    truncated = len(text) > max_length
    if truncated:
        text = text[: max_length - 1].rstrip() + "…"
    return CleanText(text=text, masked=masked, truncated=truncated)
