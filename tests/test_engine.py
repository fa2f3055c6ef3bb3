"""The survey engine: branching, progress, going back, validation; and free-text cleaning."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from questionnaires import engine
from questionnaires.engine import InvalidAnswer, SurveyState
from questionnaires.model import QUESTIONNAIRE_IDS, Item, Questionnaire, get
from questionnaires.textclean import (
    MASK_EMAIL,
    MASK_PERSONNUMMER,
    MASK_PHONE,
    clean_text,
)

pytestmark = pytest.mark.pure


def answer_up_to(q: Questionnaire, stop_at: str, value: str | None = None) -> SurveyState:
    """Answer every question before `stop_at` with `value` where it fits, else a first option."""
    state = engine.start(q)
    while state.current != stop_at:
        item = engine.current_item(q, state)
        assert item is not None, f"never reached {stop_at}"
        fits = item.scale is not None and value is not None and item.scale.option(value)
        state = engine.answer(q, state, value if fits else _some_answer(item))
    return state


def _some_answer(item: Item) -> str:
    return item.scale.options[0].value if item.scale is not None else "Ett svar."


def _finish(q: Questionnaire, state: SurveyState) -> SurveyState:
    for _ in range(len(q.items) + 1):
        item = engine.current_item(q, state)
        if item is None:
            return state
        state = engine.answer(q, state, _some_answer(item))
    raise AssertionError("did not reach the overview")


def _header(q: Questionnaire, state: SurveyState) -> tuple[int, int]:
    p = engine.progress(q, state)
    assert p is not None
    return p.position, p.total


# -- avslut: 9 and 10 only after Ja on 8 ------------------------------------------------------


def test_nej_on_8_skips_9_and_10(avslut):
    state = answer_up_to(avslut, "avslut-8")
    state = engine.answer(avslut, state, "nej")
    assert state.current == "avslut-fritext-1"
    state = _finish(avslut, state)
    asked = [line.item.id for line in engine.overview(avslut, state)]
    assert "avslut-9" not in asked and "avslut-10" not in asked
    assert engine.is_complete(avslut, state)


def test_ja_on_8_asks_9_and_10(avslut):
    state = answer_up_to(avslut, "avslut-8")
    state = engine.answer(avslut, state, "ja")
    assert state.current == "avslut-9"
    state = engine.answer(avslut, state, "ganska_hog")
    assert state.current == "avslut-10"
    state = engine.answer(avslut, state, "viss")
    assert state.current == "avslut-fritext-1"


def test_changing_8_from_ja_to_nej_drops_9_and_10(avslut):
    state = _finish(avslut, engine.answer(avslut, answer_up_to(avslut, "avslut-8"), "ja"))
    assert state.answers["avslut-9"] is not None and "avslut-10" in state.answers
    state = engine.goto(avslut, state, "avslut-8")
    state = engine.answer(avslut, state, "nej")
    assert "avslut-9" not in state.answers
    assert "avslut-10" not in state.answers
    assert state.answers["avslut-8"] == "nej"
    assert state.current is None  # everything else was answered: back to the overview
    assert [line.item.id for line in engine.overview(avslut, state)].count("avslut-9") == 0
    with pytest.raises(InvalidAnswer) as err:
        engine.goto(avslut, state, "avslut-9")
    assert err.value.reason == "not_asked"


def test_changing_8_from_nej_to_ja_asks_9_and_10_next(avslut):
    state = _finish(avslut, engine.answer(avslut, answer_up_to(avslut, "avslut-8"), "nej"))
    state = engine.answer(avslut, engine.goto(avslut, state, "avslut-8"), "ja")
    assert state.current == "avslut-9"
    assert not engine.is_complete(avslut, state)


# -- progress ----------------------------------------------------------------------------------


def test_progress_counts_only_questions_this_respondent_is_asked(avslut):
    state = engine.start(avslut)
    assert state.current == "avslut-kon"
    assert _header(avslut, state) == (1, 14)  # kön + 10 + 3 free texts
    state = answer_up_to(avslut, "avslut-8")
    assert _header(avslut, state) == (9, 14)
    after_nej = engine.answer(avslut, state, "nej")
    assert _header(avslut, after_nej) == (10, 12)
    after_ja = engine.answer(avslut, state, "ja")
    assert _header(avslut, after_ja) == (10, 14)


def test_progress_is_none_on_the_overview(avslut):
    assert engine.progress(avslut, _finish(avslut, engine.start(avslut))) is None


# -- back, skip, validation --------------------------------------------------------------------


def test_back_from_the_first_question_stays(avslut):
    state = engine.start(avslut)
    assert engine.back(avslut, state) == state


def test_back_goes_to_the_previous_question_and_keeps_its_answer(avslut):
    state = answer_up_to(avslut, "avslut-3", value="alltid")
    state = engine.back(avslut, state)
    assert state.current == "avslut-2"
    assert state.answers["avslut-2"] == "alltid"
    assert _header(avslut, state) == (3, 14)


def test_back_after_nej_on_8_jumps_over_9_and_10(avslut):
    state = engine.answer(avslut, answer_up_to(avslut, "avslut-8"), "nej")
    assert engine.back(avslut, state).current == "avslut-8"


def test_back_from_the_overview_goes_to_the_last_question(avslut):
    state = _finish(avslut, engine.start(avslut))
    assert state.current is None
    assert engine.back(avslut, state).current == "avslut-fritext-3"


@pytest.mark.parametrize("qid", QUESTIONNAIRE_IDS)
def test_every_question_can_be_skipped(qid):
    q = get(qid)
    state = engine.start(q)
    seen = []
    while state.current is not None:
        seen.append(state.current)
        state = engine.skip(q, state)
    assert engine.is_complete(q, state)
    assert all(v is None for v in state.answers.values())
    lines = engine.overview(q, state)
    assert lines and all(line.state == "skipped" and line.label is None for line in lines)
    # Skipping 8 is not Ja: 9 and 10 are not asked.
    assert seen == [it.id for it in q.items if it.condition is None]


def test_vet_inte_is_an_accepted_answer(avslut):
    state = engine.answer(avslut, engine.start(avslut), "annat")
    state = engine.answer(avslut, state, "vet_inte")
    assert state.answers["avslut-1"] == "vet_inte"
    assert state.current == "avslut-2"
    line = next(ln for ln in engine.overview(avslut, state) if ln.item.id == "avslut-1")
    assert line.state == "answered" and line.label == "Vet inte"


def test_an_invalid_option_is_rejected(avslut):
    state = engine.start(avslut)
    with pytest.raises(InvalidAnswer) as err:
        engine.answer(avslut, state, "alltid")  # a scale value, but kön's question
    assert err.value.reason == "not_an_option"
    state = engine.answer(avslut, state, "man")
    with pytest.raises(InvalidAnswer) as err:
        engine.answer(avslut, state, "ja")
    assert err.value.reason == "not_an_option"


def test_an_empty_text_is_rejected(avslut):
    state = answer_up_to(avslut, "avslut-fritext-1")
    for empty in ("", "   ", "\n\t"):
        with pytest.raises(InvalidAnswer) as err:
            engine.answer(avslut, state, empty)
        assert err.value.reason == "empty_text"
    state = engine.answer(avslut, state, "  Att någon lyssnar.  ")
    assert state.answers["avslut-fritext-1"] == "Att någon lyssnar."


def test_goto_a_question_not_asked_is_rejected(avslut):
    state = engine.answer(avslut, answer_up_to(avslut, "avslut-8"), "nej")
    for item_id in ("avslut-9", "avslut-10", "finns-inte"):
        with pytest.raises(InvalidAnswer) as err:
            engine.goto(avslut, state, item_id)
        assert err.value.reason == "not_asked"


def test_answering_after_the_overview_is_rejected(avslut):
    state = _finish(avslut, engine.start(avslut))
    with pytest.raises(InvalidAnswer) as err:
        engine.answer(avslut, state, "alltid")
    assert err.value.reason == "finished"


def test_resume_drops_answers_the_rules_no_longer_allow(avslut):
    stored = {"avslut-kon": "man", "avslut-8": "nej", "avslut-9": "alltid", "gammal": "x"}
    state = engine.resume(avslut, stored, "avslut-9")
    assert "avslut-9" not in state.answers and "gammal" not in state.answers
    assert state.current == "avslut-1"


# -- properties over random action sequences ---------------------------------------------------

QUESTIONNAIRES = [get(qid) for qid in QUESTIONNAIRE_IDS]
# Texts the engine accepts: something is left after cleaning (control characters go).
TEXTS = st.text(min_size=1, max_size=30).filter(lambda s: clean_text(s).text)


def _value(draw, item: Item):
    if item.scale is not None:
        return draw(st.sampled_from(item.scale.values))
    return draw(TEXTS)


def _check_invariants(q: Questionnaire, state: SurveyState) -> None:
    item = engine.current_item(q, state)
    if item is not None:
        assert engine.condition_holds(item, state.answers), f"asked {item.id} against its rule"
        p = engine.progress(q, state)
        assert p is not None and 1 <= p.position <= p.total
    else:
        assert engine.is_complete(q, state)
    for item_id in state.answers:
        assert engine.condition_holds(q.item(item_id), state.answers), (
            f"kept an answer to {item_id} whose condition is false"
        )


def _random_step(data, q: Questionnaire, state: SurveyState) -> SurveyState:
    # Weighted towards answering, and goto favours questions that others depend on (avslut 8),
    # so walks often change a branching answer after its follow-ups were answered.
    kind = data.draw(st.sampled_from(["answer"] * 4 + ["skip", "back", "goto", "goto"]))
    item = engine.current_item(q, state)
    applicable = [it.id for it in engine.applicable_items(q, state.answers)]
    if kind == "back":
        new = engine.back(q, state)
        if item is None:
            assert new.current == applicable[-1]
        else:
            pos = applicable.index(item.id)
            assert new.current == applicable[max(pos - 1, 0)]
        assert new.answers == state.answers
        return new
    if kind == "goto":
        pivots = [i for i in applicable if any(
            it.condition is not None and it.condition.item == i for it in q.items)]
        choices = st.sampled_from(applicable)
        if pivots:
            choices = st.one_of(st.sampled_from(pivots), choices)
        target = data.draw(choices)
        new = engine.goto(q, state, target)
        assert new.current == target and new.answers == state.answers
        return new
    if item is None:
        return state  # on the overview only back, goto or submit make sense
    if kind == "skip":
        return engine.skip(q, state)
    return engine.answer(q, state, _value(data.draw, item))


PROPERTY = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY
@given(q=st.sampled_from(QUESTIONNAIRES), data=st.data())
def test_random_walks_never_break_the_rules_and_can_always_be_finished(q, data):
    state = engine.start(q)
    _check_invariants(q, state)
    for _ in range(data.draw(st.integers(0, 60))):
        state = _random_step(data, q, state)
        _check_invariants(q, state)
    # Whatever happened, answering forward reaches the overview.
    for _ in range(len(q.items)):
        item = engine.current_item(q, state)
        if item is None:
            break
        skip = data.draw(st.booleans())
        state = engine.skip(q, state) if skip else engine.answer(q, state, _value(data.draw, item))
        _check_invariants(q, state)
    assert state.current is None
    assert engine.is_complete(q, state)


@PROPERTY
@given(q=st.sampled_from(QUESTIONNAIRES), data=st.data())
def test_forward_only_asks_each_question_once_and_finishes(q, data):
    state = engine.start(q)
    asked: list[str] = []
    for _ in range(len(q.items)):
        item = engine.current_item(q, state)
        if item is None:
            break
        assert item.id not in asked, f"{item.id} asked twice"
        asked.append(item.id)
        skip = data.draw(st.booleans())
        state = engine.skip(q, state) if skip else engine.answer(q, state, _value(data.draw, item))
        _check_invariants(q, state)
    assert state.current is None, "not finished within len(items) steps"
    assert engine.is_complete(q, state)
    # Asked in the questionnaire's order, and exactly the questions whose rules hold.
    assert asked == [it.id for it in q.items if engine.condition_holds(it, state.answers)]


# -- free-text cleaning ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "personnummer", ["850709-1234", "198507091234", "850709 1234", "19850709-1234"]
)
def test_personnummer_is_masked(personnummer):
    cleaned = clean_text(f"Mitt personnummer är {personnummer}, ring mig.")
    assert cleaned.masked
    assert cleaned.text == f"Mitt personnummer är {MASK_PERSONNUMMER}, ring mig."


@pytest.mark.parametrize("phone", ["070-123 45 67", "+46 70 123 45 67", "08-123 456 78"])
def test_swedish_phone_numbers_are_masked(phone):
    cleaned = clean_text(f"Ring {phone} efter lunch")
    assert cleaned.masked
    assert cleaned.text == f"Ring {MASK_PHONE} efter lunch"


def test_email_is_masked():
    cleaned = clean_text("Mejla anna.svensson+enkat@example.se om ni undrar")
    assert cleaned.masked
    assert cleaned.text == f"Mejla {MASK_EMAIL} om ni undrar"


@pytest.mark.parametrize(
    "text",
    [
        "Jag har träffat min handläggare 3 gånger.",
        "Jag började år 2023 och slutade 2024.",
        "Det tog 20-30 minuter varje gång.",
        "Jag fick 10 000 kr i månaden.",
    ],
)
def test_ordinary_numbers_are_not_masked(text):
    cleaned = clean_text(text)
    assert cleaned.text == text
    assert not cleaned.masked


def test_long_text_is_cut_and_flagged():
    cleaned = clean_text("ord " * 600)
    assert cleaned.truncated
    assert len(cleaned.text) <= engine.MAX_TEXT_LENGTH
    assert cleaned.text.endswith("…")
    engine.validate(get("deltagare-avslut").item("avslut-fritext-1"), cleaned.text)


def test_short_text_is_kept_as_written():
    cleaned = clean_text("  Att någon lyssnade på mig.\x00 ")
    assert cleaned == type(cleaned)(text="Att någon lyssnade på mig.", masked=False,
                                    truncated=False)


def test_the_engine_itself_masks_free_text_so_no_front_end_can_store_it_raw():
    q = get("deltagare-avslut")
    state = engine.resume(q, {}, "avslut-fritext-1")
    state = engine.answer(q, state, "Ring mig på 070-123 45 67 eller anna@example.se")
    stored = state.answers["avslut-fritext-1"]
    assert "070" not in stored and "anna@" not in stored
    assert "[telefonnummer]" in stored and "[e-post]" in stored


@pytest.mark.parametrize(
    "text", ["den 2023-05-12", "1 000 000 kr", "åren 2019 2020 2021", "10 000 kr"]
)
def test_dates_years_and_amounts_are_kept_as_written(text):
    assert clean_text(text).text == text


def test_a_mobile_number_is_called_a_phone_number_not_a_personnummer():
    assert clean_text("ring 0701234567").text == "ring [telefonnummer]"
