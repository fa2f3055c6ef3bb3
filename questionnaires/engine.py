"""The survey engine: what to ask next, whether an answer is valid, going back, completion.

Pure functions over immutable state; no Telegram, no database. Every front end (the Telegram
bot, the terminal `enkatbot chat`) drives a questionnaire only through these functions, so the
branching rules live in one place.

An answer is the stored value of an option (``"alltid"``, ``"ja"``), a cleaned free text, or
``None`` for a question the respondent skipped. "Vet inte" is an ordinary option whose
``counts`` flag is false: it is an answer, but reports leave it out of n.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

from questionnaires.model import Item, Questionnaire
from questionnaires.textclean import MAX_TEXT_LENGTH as MAX_TEXT_LENGTH
from questionnaires.textclean import clean_text

Answer = str | None
"""An option's value, a free text, or None for a skipped question."""

AnswerState = Literal["unanswered", "skipped", "answered"]


class InvalidAnswer(ValueError):
    """An answer that does not fit the question being asked.

    `reason` is a stable code that front ends turn into a kind sentence:
    ``"not_an_option"``, ``"empty_text"``, ``"not_asked"``, ``"finished"``.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        """Create the error with a stable reason code and a detail for logs."""
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class SurveyState:
    """Where one respondent is: the answers so far and the question being asked now.

    `current` is None when every question the respondent will be asked has an answer (or was
    skipped): the front end then shows the overview with Skicka in.
    """

    answers: Mapping[str, Answer] = field(default_factory=lambda: MappingProxyType({}))
    current: str | None = None

    def __post_init__(self) -> None:
        """Freeze the answers so a state can never change behind the engine's back."""
        if not isinstance(self.answers, MappingProxyType):
            object.__setattr__(self, "answers", MappingProxyType(dict(self.answers)))


@dataclass(frozen=True)
class Progress:
    """'Fråga `position` av `total`', counting only questions this respondent will be asked."""

    position: int
    total: int


def condition_holds(item: Item, answers: Mapping[str, Answer]) -> bool:
    """Return True when the item's condition is met by the answers given (or it has none)."""
    if item.condition is None:
        return True
    return answers.get(item.condition.item) == item.condition.answer


def _may_be_asked(item: Item, answers: Mapping[str, Answer]) -> bool:
    # For counting the total only: a question whose condition is not answered yet is counted,
    # so the total can shrink (Nej on 8) but never jumps up under the respondent's feet.
    if item.condition is None or item.condition.item not in answers:
        return True
    return condition_holds(item, answers)


def asked_items(q: Questionnaire, answers: Mapping[str, Answer]) -> list[Item]:
    """Return the items this respondent is or will be asked, given the answers so far."""
    return [it for it in q.items if _may_be_asked(it, answers)]


def applicable_items(q: Questionnaire, answers: Mapping[str, Answer]) -> list[Item]:
    """Return the items whose conditions hold now (a conditional item needs its answer given)."""
    return [it for it in q.items if condition_holds(it, answers)]


def _first_unanswered(
    q: Questionnaire, answers: Mapping[str, Answer], after: int = -1
) -> str | None:
    todo = [
        (i, it)
        for i, it in enumerate(q.items)
        if it.id not in answers and condition_holds(it, answers)
    ]
    for i, it in todo:
        if i > after:
            return it.id
    return todo[0][1].id if todo else None


def start(q: Questionnaire) -> SurveyState:
    """Return the state of a respondent who has answered nothing: the first question is asked."""
    return SurveyState(answers={}, current=_first_unanswered(q, {}))


def resume(q: Questionnaire, answers: Mapping[str, Answer], current: str | None) -> SurveyState:
    """Rebuild a state from stored answers, dropping anything the rules no longer allow.

    A stored `current` that is unknown or not applicable (for instance after the questionnaire
    file changed) is replaced by the first unanswered question.
    """
    kept = _prune({k: v for k, v in answers.items() if q.has_item(k)}, q)
    if current is not None and (
        not q.has_item(current) or not condition_holds(q.item(current), kept)
    ):
        current = None
    if current is None:
        current = _first_unanswered(q, kept)
    return SurveyState(answers=kept, current=current)


def current_item(q: Questionnaire, state: SurveyState) -> Item | None:
    """Return the item being asked now, or None when only the overview is left."""
    return q.item(state.current) if state.current is not None else None


def progress(q: Questionnaire, state: SurveyState) -> Progress | None:
    """Return the position of the current question among those this respondent is asked."""
    if state.current is None:
        return None
    asked = asked_items(q, state.answers)
    ids = [it.id for it in asked]
    return Progress(position=ids.index(state.current) + 1, total=len(ids))


def validate(item: Item, value: Answer) -> Answer:
    """Return the answer to store for `item`, or raise InvalidAnswer.

    None (skip) is valid for every question. Options must be one of the item's scale values;
    free text is cleaned here, so no front end can store it unmasked: personnummer, phone
    numbers and e-mail addresses masked, cut to MAX_TEXT_LENGTH; it must not be empty.
    """
    if value is None:
        return None
    if item.scale is not None:
        if item.scale.option(value) is None:
            raise InvalidAnswer("not_an_option", f"{item.id}: {value!r}")
        return value
    text = clean_text(value).text
    if not text:
        raise InvalidAnswer("empty_text", item.id)
    return text


def _prune(answers: dict[str, Answer], q: Questionnaire) -> dict[str, Answer]:
    # Conditions point only to earlier items (the loader checks), so one pass in order
    # also drops chains: answers whose condition depended on an answer just dropped.
    kept: dict[str, Answer] = {}
    for it in q.items:
        if it.id in answers and condition_holds(it, kept):
            kept[it.id] = answers[it.id]
    return kept


def answer(q: Questionnaire, state: SurveyState, value: Answer) -> SurveyState:
    """Record `value` (None = skip) for the current question; return the next state.

    Answers that depended on a changed answer are dropped (8 from Ja to Nej drops 9 and 10).
    The next question is the first unanswered one after this; after a change made by going
    back, that is where the respondent left off; when none is left, `current` is None.
    """
    item = current_item(q, state)
    if item is None:
        raise InvalidAnswer("finished")
    stored = validate(item, value)
    answers = dict(state.answers)
    answers[item.id] = stored
    answers = _prune(answers, q)
    return SurveyState(answers=answers, current=_first_unanswered(q, answers, q.index(item.id)))


def skip(q: Questionnaire, state: SurveyState) -> SurveyState:
    """Skip the current question; return the next state."""
    return answer(q, state, None)


def back(q: Questionnaire, state: SurveyState) -> SurveyState:
    """Return the state asking the previous question again (from the overview: the last one).

    At the first question the state is returned unchanged.
    """
    applicable = [it.id for it in applicable_items(q, state.answers)]
    if state.current is None:
        return replace(state, current=applicable[-1]) if applicable else state
    pos = applicable.index(state.current)
    return replace(state, current=applicable[pos - 1]) if pos > 0 else state


def goto(q: Questionnaire, state: SurveyState, item_id: str) -> SurveyState:
    """Return the state asking `item_id` again, to change its answer.

    Raises InvalidAnswer("not_asked") when that question is not one this respondent is asked.
    """
    if not q.has_item(item_id) or not condition_holds(q.item(item_id), state.answers):
        raise InvalidAnswer("not_asked", item_id)
    return replace(state, current=item_id)


def is_complete(q: Questionnaire, state: SurveyState) -> bool:
    """Return True when every question this respondent is asked has an answer or was skipped."""
    return all(it.id in state.answers for it in applicable_items(q, state.answers))


@dataclass(frozen=True)
class OverviewLine:
    """One line of the overview shown before Skicka in."""

    item: Item
    answer: Answer
    answered: bool

    @property
    def state(self) -> AnswerState:
        """Return whether the question was answered, skipped, or not reached yet."""
        if not self.answered:
            return "unanswered"
        return "skipped" if self.answer is None else "answered"

    @property
    def label(self) -> str | None:
        """Return the answer as given: the option's label, or the text; None if none was given.

        Front ends word "skipped" and "not answered" from their own texts (see `state`).
        """
        if self.answer is None:
            return None
        if self.item.scale is not None:
            opt = self.item.scale.option(self.answer)
            return opt.label if opt else self.answer
        return self.answer


def overview(q: Questionnaire, state: SurveyState) -> list[OverviewLine]:
    """Return one line per question this respondent was asked, with the answer given."""
    return [
        OverviewLine(item=it, answer=state.answers.get(it.id), answered=it.id in state.answers)
        for it in applicable_items(q, state.answers)
    ]
