"""Free-text masking against a corpus of real-world writings of personal data.

The corpus (`tests/data/masking_corpus.toml`) holds personnummer, phone numbers, e-mail
addresses, self-given names and street addresses in the forms participants actually type —
spaces, dashes of every kind, zero-width characters, fullwidth digits, "(at)" — and ordinary
answers full of dates, times, amounts and capitalised words that must be left alone.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from questionnaires.textclean import MASKS, clean_text

pytestmark = pytest.mark.pure

CORPUS = tomllib.loads((Path(__file__).parent / "data" / "masking_corpus.toml").read_text("utf-8"))
LABELS = ("personnummer", "telefonnummer", "e-post", "namn", "adress")
# [senare] was written after the detectors were tuned on the rest, and measured before any change
# (41 of 42 masked right, 2 of 30 ordinary answers changed; both were then fixed).
CASES = [
    (label, pii, text)
    for part in (CORPUS, CORPUS["senare"])
    for label in LABELS
    for pii, text in part[label]
]
ORDINARY = CORPUS["vanliga"] + CORPUS["senare"]["vanliga"]
_LABEL = re.compile("|".join(re.escape(m) for m in MASKS))


def _masked_right(label: str, pii: str, text: str) -> tuple[bool, str]:
    """Return whether `pii` is gone from the cleaned text with only `label` put in, and the text."""
    out = clean_text(text).text
    found = set(_LABEL.findall(out))
    if found != {f"[{label}]"}:
        return False, out
    digits = re.sub(r"\D", "", pii)
    if digits and re.sub(r"\D", "", out).find(digits[-4:]) >= 0:
        return False, out
    words = [w for w in re.findall(r"[^\W\d_]{2,}", pii) if label in ("namn", "adress")]
    plain = pii.replace("\u200b", "")
    return plain not in out and not any(re.search(rf"\b{w}\b", out) for w in words), out


def test_the_corpus_is_large_and_covers_every_kind():
    assert len(CASES) >= 150
    assert {label for label, _, _ in CASES} == set(LABELS)
    assert len(ORDINARY) >= 100


def test_at_least_95_percent_of_the_corpus_is_masked_with_the_right_label():
    misses = []
    for label, pii, text in CASES:
        ok, out = _masked_right(label, pii, text)
        if not ok:
            misses.append(f"{label}: {text!r} -> {out!r}")
    rate = 1 - len(misses) / len(CASES)
    print(f"masked with the right label: {rate:.1%} of {len(CASES)}")
    assert rate >= 0.95, "\n".join(misses)


@pytest.mark.parametrize("label", LABELS)
def test_each_kind_is_masked_at_least_90_percent(label):
    cases = [(pii, text) for lab, pii, text in CASES if lab == label]
    masked = sum(_masked_right(label, pii, text)[0] for pii, text in cases)
    assert masked / len(cases) >= 0.9, f"{label}: {masked} of {len(cases)}"


@pytest.mark.parametrize("text", ORDINARY)
def test_an_ordinary_answer_is_kept_exactly_as_written(text):
    cleaned = clean_text(text)
    assert cleaned.text == text.strip()
    assert not cleaned.masked


def test_text_around_a_mask_is_kept_as_written():
    text = "Tack\u2026 ring 070\u2013123 45 67 👨‍👩‍👧 ＡＢＣ"
    assert clean_text(text).text == "Tack\u2026 ring [telefonnummer] 👨‍👩‍👧 ＡＢＣ"


def test_several_kinds_in_one_answer_each_get_their_label():
    out = clean_text(
        "Jag heter Anna Svensson, pnr 850709-1234, bor på Storgatan 12, 123 45 Lidköping. "
        "Ring 070-123 45 67 eller mejla anna (at) exempel.se. Mvh Anna"
    ).text
    assert out == (
        "Jag heter [namn], pnr [personnummer], bor på [adress]. "
        "Ring [telefonnummer] eller mejla [e-post]. Mvh [namn]"
    )


def test_1985_01_01_1234_is_one_personnummer_not_a_year_and_a_phone_number():
    assert clean_text("född 1985 01 01-1234").text == "född [personnummer]"


def test_a_date_range_is_not_a_personnummer():
    for text in ("2021-01-01 – 2021-12-31", "1985-07-09 - 2023", "2021-01-01 - 2021"):
        assert clean_text(text).text == text


def test_a_samordningsnummer_is_a_personnummer():
    assert clean_text("850161-1234").text == "[personnummer]"


_DATES = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2030, 12, 31))
_ORDINARY_PART = st.one_of(
    _DATES.map(lambda d: d.isoformat()),
    _DATES.map(lambda d: f"{d.day}/{d.month} {d.year}"),
    _DATES.map(lambda d: f"{d.day:02}.{d.month:02}.{d.year}"),
    st.tuples(_DATES, _DATES).map(lambda p: f"{p[0].isoformat()} – {p[1].isoformat()}"),
    st.integers(1, 999_999).map(lambda n: f"{n:,} kr".replace(",", " ")),
    st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: f"kl {t[0]:02}.{t[1]:02}"),
    st.tuples(st.integers(6, 12), st.integers(13, 20)).map(lambda t: f"{t[0]:02}.00-{t[1]}.30"),
    st.integers(1, 7).map(lambda n: f"{n} dagar i veckan"),
    st.integers(0, 100).map(lambda n: f"{n} %"),
    st.integers(1900, 2030).map(str),
)


@given(st.lists(_ORDINARY_PART, min_size=1, max_size=4))
def test_dates_times_and_amounts_in_any_mix_are_never_masked(parts):
    text = "Jag var med " + ", ".join(parts) + "."
    assert clean_text(text).text == text


@given(st.text(max_size=60))
def test_any_text_is_cleaned_without_error_and_keeps_only_known_labels(text):
    out = clean_text(text).text
    for label in _LABEL.findall(out):
        assert label in MASKS
