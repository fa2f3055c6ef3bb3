"""/rapport's choices: this month so far, last month, the year so far, earlier whole years, each
a distinct period whose label states it exactly."""

from __future__ import annotations

from datetime import date

import pytest

from analysis.periods import PeriodError
from bot.reports import period_choices, period_of

pytestmark = pytest.mark.pure


def test_in_march_every_choice_is_its_own_period():
    today = date(2026, 3, 15)
    choices = period_choices(today, {2024, 2025, 2026})
    assert choices == [
        ("m2026-03", "Den här månaden hittills (mars 2026)"),
        ("m2026-02", "Förra månaden (februari 2026)"),
        ("y2026-03", "Mätåret 2026 hittills"),
        ("a2025", "Hela mätåret 2025"),
        ("a2024", "Hela mätåret 2024"),
    ]
    labels = [period_of(key, today).label for key, _ in choices]
    assert labels == [
        "mars 2026 (hittills)",
        "februari 2026",
        "mätåret 2026 hittills (nov 2025–mars 2026)",
        "mätåret 2025 (nov 2024–okt 2025)",
        "mätåret 2024 (nov 2023–okt 2024)",
    ]
    assert len({(p.start, p.end) for p in (period_of(k, today) for k, _ in choices)}) == 5


def test_in_november_the_year_so_far_is_this_month_and_not_offered_twice():
    today = date(2026, 11, 2)
    choices = period_choices(today, {2026})
    assert [k for k, _ in choices] == ["m2026-11", "m2026-10", "a2026"]
    assert period_of("m2026-10", today).label == "oktober 2026"
    assert period_of("a2026", today).label == "mätåret 2026 (nov 2025–okt 2026)"


def test_a_first_month_with_answers_is_offered_and_no_year_without_answers():
    today = date(2026, 5, 3)
    assert [k for k, _ in period_choices(today, set())] == ["m2026-05", "m2026-04", "y2026-05"]


def test_a_month_chosen_before_it_ended_is_whole_when_the_button_is_tapped_later():
    assert period_of("m2026-03", date(2026, 3, 31)).label == "mars 2026 (hittills)"
    assert period_of("m2026-03", date(2026, 4, 1)).label == "mars 2026"


@pytest.mark.parametrize("key", ["2025-01", "x2025", "a20x5", "m2025-13", "y", "a1990"])
def test_a_forged_or_old_key_is_refused(key):
    with pytest.raises(PeriodError):
        period_of(key, date(2026, 3, 1))
