"""The figures' definitions, periods, small-group suppression and year comparisons."""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal
from itertools import count

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.figures import (
    Counts,
    Dataset,
    UnknownInsatsError,
    build_report,
    is_small,
    suppressed_groups,
)
from analysis.formatting import percent, percent_text
from analysis.periods import (
    PeriodError,
    measurement_year,
    measurement_year_of,
    month_range,
    single_month,
    year_to_date,
)
from questionnaires import model

pytestmark = pytest.mark.pure

NBSP = "\xa0"
_ids = count()


class Frames:
    """Builds the storage contract's two frames one respondent at a time."""

    def __init__(self) -> None:
        self.responses: list[dict] = []
        self.answers: list[dict] = []

    def add(
        self,
        enkat: str,
        answers: dict,
        *,
        month: str = "2023-03",
        insats: str = "Steget",
        status: str = "complete",
        version: int = 1,
        times: int = 1,
    ) -> None:
        for _ in range(times):
            rid = f"r{next(_ids)}"
            self.responses.append(
                {
                    "response_id": rid,
                    "enkat": enkat,
                    "version": version,
                    "insats": insats,
                    "month": month,
                    "status": status,
                }
            )
            for item_id, value in answers.items():
                self.answers.append({"response_id": rid, "item_id": item_id, "value": value})

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        return (
            pd.DataFrame(
                self.responses,
                columns=["response_id", "enkat", "version", "insats", "month", "status"],
            ),
            pd.DataFrame(self.answers, columns=["response_id", "item_id", "value"]),
        )

    def report(self, period=None, **kw):
        return build_report(*self.frames(), period or measurement_year(2023), **kw)


def woman(**answers) -> dict:
    return {"avslut-kon": "kvinna", **{k.replace("_", "-"): v for k, v in answers.items()}}


def man(**answers) -> dict:
    return {"avslut-kon": "man", **{k.replace("_", "-"): v for k, v in answers.items()}}


def other(kon, **answers) -> dict:
    base = {} if kon is False else {"avslut-kon": kon}
    return {**base, **{k.replace("_", "-"): v for k, v in answers.items()}}


# --- rounding and formatting -------------------------------------------------------------


def test_percentages_round_half_up_like_a_spreadsheet():
    assert percent(7, 8) == 88  # 87.5
    assert percent(1, 8) == 13  # 12.5
    assert percent(5, 8) == 63  # 62.5
    assert percent(1, 200) == 1  # 0.5
    assert percent(0, 3) == 0
    assert percent(3, 0) is None


@given(st.integers(0, 5000), st.integers(1, 5000))
def test_percent_matches_decimal_half_up(part, whole):
    expected = (Decimal(100 * part) / whole).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert percent(part, whole) == int(expected)


def test_percent_text_is_swedish():
    assert percent_text(95) == f"95{NBSP}%"
    assert percent_text(None) == "–"


# --- periods ----------------------------------------------------------------------------


def test_measurement_year_runs_november_to_october_and_is_named_by_its_end():
    year = measurement_year(2023)
    months = year.months()
    assert months[0] == "2022-11" and months[-1] == "2023-10" and len(months) == 12
    assert year.label == "mätåret 2023 (nov 2022–okt 2023)"
    assert measurement_year_of("2022-11") == 2023
    assert measurement_year_of("2023-10") == 2023
    assert measurement_year_of("2023-11") == 2024


def test_month_and_range_labels():
    assert single_month("2023-11").label == "november 2023"
    # Babel's Swedish abbreviations leave the short month names whole.
    assert month_range("2023-03", "2023-06").label == "mars 2023–juni 2023"
    assert month_range("2023-01", "2023-02").label == "jan 2023–feb 2023"
    assert year_to_date("2024-02").months() == ["2023-11", "2023-12", "2024-01", "2024-02"]


@pytest.mark.parametrize("bad", ["2023-13", "2023-1", "23-01", "maj", ""])
def test_bad_months_are_refused_in_swedish(bad):
    with pytest.raises(PeriodError, match="ÅÅÅÅ-MM"):
        single_month(bad)


def test_range_that_ends_before_it_starts_is_refused():
    with pytest.raises(PeriodError, match="slutar"):
        month_range("2023-06", "2023-03")


# --- the definitions ------------------------------------------------------------------


def test_vet_inte_and_skipped_reduce_n_but_not_tillfragade():
    f = Frames()
    f.add("personal", {"personal-1": "mycket_hog"}, times=4)
    f.add("personal", {"personal-1": "inte_alls"}, times=2)
    f.add("personal", {"personal-1": "vet_inte"}, times=1)
    f.add("personal", {"personal-1": None}, times=1)
    fig = f.report().question("personal", 1).group("samtliga")
    assert (fig.tillfragade, fig.n) == (8, 6)
    assert (fig.negativt, fig.varken_eller, fig.positivt, fig.klart_positivt) == (33, 0, 67, 67)
    assert fig.svarsfrekvens == 75


def test_partial_responses_count_and_unreached_questions_lower_svarsfrekvens():
    f = Frames()
    f.add("personal", {"personal-1": "hog", "personal-2": "hog"}, times=5)
    # Expired after question 1: question 2 was never reached (no row) yet they were asked.
    f.add("personal", {"personal-1": "hog"}, status="partial", times=3)
    f.add("personal", {"personal-1": "lag", "personal-2": "lag"}, status="in_progress", times=4)
    report = f.report()
    q1 = report.question("personal", 1).group("samtliga")
    q2 = report.question("personal", 2).group("samtliga")
    assert (q1.tillfragade, q1.n, q1.positivt) == (8, 8, 100)
    assert (q2.tillfragade, q2.n, q2.svarsfrekvens) == (8, 5, 63)
    assert report.info("personal").respondents == 8
    assert (report.info("personal").complete, report.info("personal").partial) == (5, 3)


def test_only_kvinna_and_man_make_the_gender_groups():
    f = Frames()
    f.add("deltagare-avslut", woman(avslut_1="alltid"), times=6)
    f.add("deltagare-avslut", man(avslut_1="aldrig"), times=6)
    for kon in ("annat", "vill_inte_svara", None, False):
        f.add("deltagare-avslut", other(kon, avslut_1="ibland"), times=2)
    q = f.report().question("deltagare-avslut", 1)
    assert [(g.group, g.n) for g in q.groups] == [("samtliga", 20), ("kvinnor", 6), ("män", 6)]
    assert q.group("samtliga").varken_eller == 40
    assert q.group("kvinnor").positivt == 100 and q.group("män").negativt == 100


def test_yes_no_question_reports_ja_and_nej_and_conditions_the_followups():
    f = Frames()
    f.add("deltagare-avslut", woman(avslut_8="ja", avslut_9="alltid", avslut_10=None), times=6)
    f.add("deltagare-avslut", woman(avslut_8="nej"), times=2)
    f.add("deltagare-avslut", man(avslut_8="ja", avslut_9="sallan", avslut_10="ofta"), times=5)
    f.add("deltagare-avslut", man(avslut_8=None), times=1)
    report = f.report()
    q8 = report.question("deltagare-avslut", 8)
    assert (q8.group("samtliga").ja, q8.group("samtliga").nej) == (85, 15)
    assert q8.group("samtliga").svarsfrekvens == 93
    q10 = report.question("deltagare-avslut", 10)
    assert [(g.group, g.tillfragade, g.n) for g in q10.groups] == [
        ("samtliga", 11, 5),
        ("kvinnor", 6, 0),
        ("män", 5, 5),
    ]
    assert q10.group("kvinnor").status == "inga_svar"
    assert q10.group("kvinnor").svarsfrekvens == 0


def test_period_and_insats_select_the_responses():
    f = Frames()
    f.add("personal", {"personal-1": "hog"}, month="2023-10", times=5)
    f.add("personal", {"personal-1": "lag"}, month="2023-11", times=5)
    f.add("personal", {"personal-1": "viss"}, month="2023-10", insats="Annan", times=5)
    assert f.report().question("personal", 1).group("samtliga").n == 10
    assert f.report(insats="steget").question("personal", 1).group("samtliga").positivt == 100
    nov = f.report(single_month("2023-11")).question("personal", 1).group("samtliga")
    assert nov.negativt == 100


def test_unknown_insats_lists_the_valid_ones():
    f = Frames()
    f.add("personal", {"personal-1": "hog"}, insats="Steget")
    f.add("personal", {"personal-1": "hog"}, insats="Arbetslivsverkstan")
    with pytest.raises(UnknownInsatsError) as err:
        f.report(insats="Finns inte")
    assert "Arbetslivsverkstan, Steget" in str(err.value)


def test_a_respondent_on_a_version_without_the_item_was_not_asked_it():
    base = model.load_all()
    personal = base["personal"]
    new_item = dataclasses.replace(personal.items[0], id="personal-12", number=12)
    v2 = dataclasses.replace(
        personal,
        version=2,
        items=(*personal.items, new_item),
        _by_id={**{it.id: it for it in personal.items}, "personal-12": new_item},
    )
    questionnaires = {**base, "personal": v2}
    f = Frames()
    f.add("personal", {"personal-1": "hog"}, month="2022-10", version=1, times=6)
    f.add("personal", {"personal-1": "hog"}, month="2023-03", version=1, times=6)
    f.add(
        "personal", {"personal-1": "lag", "personal-12": "hog"}, month="2023-09", version=2, times=6
    )
    data = Dataset(*f.frames(), questionnaires)
    report = build_report(data, period=measurement_year(2023))
    assert report.question("personal", 12).group("samtliga").tillfragade == 6
    assert report.question("personal", 1).group("samtliga").tillfragade == 12
    # In 2022 only version 1 was answered: the new question has nothing to compare with.
    [old12] = report.question("personal", 12).earlier()
    assert (old12.year, old12.status) == (2022, "jamforelse_saknas")
    [old1] = report.question("personal", 1).earlier()
    assert (old1.year, old1.status, old1.value) == (2022, "ok", 100)


def test_comparison_covers_earlier_years_and_says_when_a_questionnaire_was_unused():
    f = Frames()
    for month, value in (("2021-05", "lag"), ("2022-05", "viss"), ("2023-05", "hog")):
        f.add("personal", {"personal-1": value}, month=month, times=5)
    f.add("styrelse", {"styrelse-1": "hog"}, month="2023-05", times=5)
    report = f.report()
    assert report.comparison_years == (2021, 2022)
    earlier = report.question("personal", 1).earlier()
    assert [(y.year, y.value) for y in earlier] == [(2021, 0), (2022, 0)]
    assert [y.status for y in report.question("styrelse", 1).earlier()] == ["inga_svar"] * 2


def test_register_study_indicator_has_no_questions():
    section = next(s for s in Frames().report().indicators if s.number == 11)
    assert section.registerstudie and section.questions == ()


# --- small groups -------------------------------------------------------------------------


def test_a_group_under_the_threshold_is_hidden_entirely():
    f = Frames()
    f.add("personal", {"personal-1": "hog"}, times=4)
    fig = f.report().question("personal", 1).group("samtliga")
    assert fig.undertryckt and fig.status == "undertryckt"
    assert (fig.tillfragade, fig.n, fig.positivt, fig.svarsfrekvens) == (None, None, None, None)
    assert f.report(threshold=3).question("personal", 1).group("samtliga").positivt == 100


def test_three_women_hidden_and_then_men_too_because_samtliga_minus_men_gives_them_away():
    f = Frames()
    f.add("deltagare-avslut", woman(avslut_1="aldrig"), times=3)
    f.add("deltagare-avslut", man(avslut_1="alltid"), times=10)
    q = f.report().question("deltagare-avslut", 1)
    assert q.group("kvinnor").undertryckt
    assert q.group("män").undertryckt
    assert q.group("samtliga").n == 13


def test_a_small_remainder_hides_the_smaller_gender_group():
    f = Frames()
    f.add("deltagare-avslut", woman(avslut_1="alltid"), times=12)
    f.add("deltagare-avslut", man(avslut_1="ofta"), times=8)
    f.add("deltagare-avslut", other("annat", avslut_1="aldrig"), times=2)
    q = f.report().question("deltagare-avslut", 1)
    assert not q.group("samtliga").undertryckt and not q.group("kvinnor").undertryckt
    assert q.group("män").undertryckt
    # Shown: samtliga and kvinnor. Their difference is män + the two others = 10 people.


def test_remainder_that_only_skipped_is_still_protected():
    f = Frames()
    f.add("deltagare-avslut", woman(avslut_1="alltid"), times=12)
    f.add("deltagare-avslut", man(avslut_1="ofta"), times=8)
    f.add("deltagare-avslut", other(None, avslut_1="vet_inte"), times=2)
    q = f.report().question("deltagare-avslut", 1)
    assert q.group("män").undertryckt


def test_followup_questions_hide_what_their_condition_question_hides():
    f = Frames()
    f.add("deltagare-avslut", woman(avslut_8="ja", avslut_9="alltid"), times=10)
    f.add("deltagare-avslut", man(avslut_8="ja", avslut_9="alltid"), times=8)
    f.add("deltagare-avslut", other("annat", avslut_8="nej"), times=2)
    report = f.report()
    assert report.question("deltagare-avslut", 8).group("män").undertryckt
    # On 9 the remainder is empty (nobody else said Ja), yet showing män's tillfrågade there
    # would reveal how many of the others said Ja on 8.
    assert report.question("deltagare-avslut", 9).group("män").undertryckt


def test_free_texts_are_sorted_masked_and_hidden_for_small_groups():
    f = Frames()
    f.add("deltagare-avslut", woman(**{"avslut-fritext-1": "Ring mig på 070-123 45 67"}))
    f.add("deltagare-avslut", woman(**{"avslut-fritext-1": "Arbete"}), times=2)
    f.add("deltagare-avslut", man(**{"avslut-fritext-1": None}), times=2)
    [ft] = [t for t in f.report().free_texts if t.item_id == "avslut-fritext-1"]
    assert ft.tillfragade == 5 and not ft.undertryckt
    assert ft.answers == ("Arbete", "Arbete", "Ring mig på [telefonnummer]")
    [hidden] = [t for t in f.report(threshold=6).free_texts if t.item_id == "avslut-fritext-1"]
    assert hidden.undertryckt and hidden.answers == ()


# The property behind complementary suppression: from what is shown (samtliga, kvinnor, män
# and any difference of them) no group of 1..threshold-1 people can be worked out.

people = st.builds(
    lambda t, n: Counts(tillfragade=t, n=min(n, t)), st.integers(0, 12), st.integers(0, 12)
)


@given(people, people, people, st.integers(2, 6), st.sets(st.sampled_from(["kvinnor", "män"])))
def test_no_small_group_can_be_derived_from_what_is_shown(women, men, rest, threshold, inherited):
    counts = {"samtliga": women + men + rest, "kvinnor": women, "män": men}
    hidden = suppressed_groups(counts, threshold, inherited=inherited)
    assert set(inherited) <= hidden
    for g, c in counts.items():
        if is_small(c, threshold):
            assert g in hidden
    shown = {g for g in counts if g not in hidden}
    derivable = []
    if {"samtliga", "kvinnor", "män"} <= shown:
        derivable.append(rest)
    if shown == {"samtliga", "kvinnor"}:
        derivable.append(men + rest)
    if shown == {"samtliga", "män"}:
        derivable.append(women + rest)
    if "samtliga" not in shown:
        assert shown == set()
    for c in derivable:
        assert not is_small(c, threshold)


@given(people, st.integers(1, 6))
def test_questionnaires_without_gender_only_hide_small_samtliga(total, threshold):
    hidden = suppressed_groups({"samtliga": total}, threshold)
    assert hidden == ({"samtliga"} if is_small(total, threshold) else set())


def test_an_item_that_moved_to_the_degree_scale_counts_answers_from_both_versions():
    # avslut-6 took the frequency scale in version 1 and the degree scale from version 2: the
    # id and the bands stayed, so one report (and a year comparison) pools both.
    f = Frames()
    f.add("deltagare-avslut", woman(avslut_6="for_det_mesta"), version=1, times=3)
    f.add("deltagare-avslut", woman(avslut_6="ibland"), version=1, times=1)
    f.add("deltagare-avslut", woman(avslut_6="hog"), version=2, times=3)
    f.add("deltagare-avslut", woman(avslut_6="lag"), version=2, times=2)
    f.add("deltagare-avslut", woman(avslut_6="vet_inte"), version=2, times=1)
    q = f.report().question("deltagare-avslut", 6).group("samtliga")
    assert (q.tillfragade, q.n) == (10, 9)
    assert (q.positivt, q.klart_positivt, q.varken_eller, q.negativt) == (67, 67, 11, 22)


def test_version_1_respondents_were_asked_every_item_version_2_has():
    # Version 2 changed only scales (items_since = 1): a version-1 respondent who skipped a
    # question was still asked it, even when no version-1 respondent answered it.
    f = Frames()
    f.add("deltagare-avslut", woman(avslut_1="alltid"), version=1, times=6)
    report = f.report()
    assert report.question("deltagare-avslut", 6).group("samtliga").tillfragade == 6
    texts = [ft for ft in report.free_texts if ft.enkat == "deltagare-avslut"]
    assert all(ft.tillfragade == 6 for ft in texts)
