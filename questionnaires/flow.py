"""The participant's journey as one pure state machine: every front end drives it the same way.

A front end (Telegram, the terminal, the web pages) does four things per thing a person does:
parse it into an `Event`, call `step(state, event)`, apply the storage effects
(`StartSession`, `StoreAnswer`, `EndSession` and saving the new state), then render the other
effects in the order given. Every transition lives here; no front end decides what happens
next. Kind sentences are `Note` codes; each front end maps a code to its own text.

`step` never raises for anything a person can do: an input that does not fit the stage is a
stale event, answered by showing the current step again with a kind sentence.

Which question an answer belongs to is decided from the state, never from the input: a tap or a
posted form names the question it was shown with, and counts only when that is the current
question; typed text counts only when it was written after the current question was shown
and is not a repeat of the text just stored for the previous question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Literal

from questionnaires import engine
from questionnaires.engine import Answer, InvalidAnswer, SurveyState
from questionnaires.model import Questionnaire
from questionnaires.textclean import clean_text

LinkProblem = Literal["unknown", "used", "expired", "withdrawn", "elsewhere"]
"""What is wrong with an opened link; "elsewhere": its survey is under way in another front
end (Telegram or the web), which owns it until it is submitted."""


class Stage(StrEnum):
    """Where a participant is in the journey. The values are stored; never rename one."""

    GREETING = "greeting"
    """The link was opened; the greeting with Börja is shown."""
    QUESTION = "question"
    """A question is asked (`SurveyState.current`)."""
    OVERVIEW = "overview"
    """Every question is answered or skipped; the overview with Skicka in is shown."""
    CHOOSING = "choosing"
    """Ändra ett svar was chosen: the list of questions to change is shown."""
    CONFIRM_DELETE = "confirm_delete"
    """/radera was asked; Ja/Nej is shown. `resume_to` is the stage to go back to."""
    PAUSED = "paused"
    """/avbryt: nothing is shown; `resume_to` is the stage to go back to."""
    ENDED = "ended"
    """Submitted or deleted: the session no longer exists. Nothing is stored after this."""


SHOWING_STAGES = (Stage.GREETING, Stage.QUESTION, Stage.OVERVIEW, Stage.CHOOSING,
                  Stage.CONFIRM_DELETE)
"""The stages that put something on the participant's screen."""


class Note(StrEnum):
    """A kind sentence to say, as a code: each front end has its own text for it."""

    WELCOME_BACK = "welcome_back"
    ALREADY_STARTED_OTHER = "already_started_other"
    LINK_UNKNOWN = "link_unknown"
    LINK_USED = "link_used"
    LINK_EXPIRED = "link_expired"
    LINK_WITHDRAWN = "link_withdrawn"
    LINK_ELSEWHERE = "link_elsewhere"
    NO_SURVEY = "no_survey"
    """Somebody without an unfinished survey wrote something: they need a link."""
    NO_SURVEY_HELP = "no_survey_help"
    """An unknown /command without a survey: how the bot works."""
    USE_BUTTONS = "use_buttons"
    STALE_BUTTON = "stale_button"
    OLD_BUTTON = "old_button"
    """A tap on an older message while the current step is on the screen below it: a word on
    the button is enough (no copy of the step, which would make a tap on its way stale too)."""
    BUTTON_OF_ENDED_SURVEY = "button_of_ended_survey"
    FIRST_QUESTION = "first_question"
    EMPTY_TEXT = "empty_text"
    TEXT_MASKED = "text_masked"
    TEXT_CUT = "text_cut"
    ONLY_TEXT = "only_text"
    NOT_UNDERSTOOD_MEDIA = "not_understood_media"
    EDITED_IGNORED = "edited_ignored"
    WRITTEN_BEFORE_QUESTION = "written_before_question"
    """Text written before the current question was shown (or as a reply to another one)."""
    REPEATED_TEXT = "repeated_text"
    """The same text as the answer just stored for the previous question."""
    PAUSED = "paused"
    NOTHING_TO_PAUSE = "nothing_to_pause"
    NOTHING_TO_DELETE = "nothing_to_delete"
    NOT_DELETED = "not_deleted"
    DELETED = "deleted"
    THANKS = "thanks"


LINK_NOTES: dict[LinkProblem, Note] = {
    "unknown": Note.LINK_UNKNOWN,
    "used": Note.LINK_USED,
    "expired": Note.LINK_EXPIRED,
    "withdrawn": Note.LINK_WITHDRAWN,
    "elsewhere": Note.LINK_ELSEWHERE,
}


class EndReason(StrEnum):
    """Why a session ended."""

    SUBMITTED = "submitted"
    DELETED = "deleted"


# -- state ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """What the participant's screen shows now, as far as the front end has told us.

    `item` is the question shown (None for the greeting, overview and the other stages); `at`
    is when it was shown, in whole seconds on the clock that dates the participant's messages
    (for Telegram: the date of the bot's message), and for a question shown again with no
    other step between (a kind refusal, a welcome back) when its first copy was shown: text
    typed under an older copy was typed for the same question. `message_id` identifies it
    where the front end has message ids (Telegram), so typed text can be edited onto the
    right message. `sent_id` is the id of the first copy when it was sent as a new message
    (not edited into an older one): in a Telegram chat the person's and the bot's messages
    share one numbering, so a message with a higher id was written after it, which whole
    seconds cannot tell within the same second.
    """

    stage: Stage
    item: str | None
    at: int | None = None
    message_id: int | None = None
    sent_id: int | None = None


@dataclass(frozen=True)
class Asked:
    """A question that was on the screen and is being shown again: since when it was."""

    item: str
    at: int
    sent_id: int | None = None


@dataclass(frozen=True)
class FlowState:
    """One participant's unfinished survey: the engine state plus where the journey stands.

    `resume_to` is the stage to return to from PAUSED and CONFIRM_DELETE. `shown` is None
    between deciding to show a step and the front end reporting it shown (`Shown` event).
    `last_text_item` is the question whose answer was the last thing stored, when that was
    typed text: a repeat of that text is not taken as the next answer. `asked` is set while
    the question on the screen is being shown again (`shown` is None): when it was first
    shown, carried into the new `Shown`. `submit_tag` is a random tag the front end gives
    the overview's Skicka in (it comes back with the tap, `Submit.tag`), so that a tap sent
    again after the submission can still be thanked; the flow only carries it.
    """

    q: Questionnaire
    survey: SurveyState
    stage: Stage
    resume_to: Stage | None = None
    shown: Shown | None = None
    last_text_item: str | None = None
    asked: Asked | None = None
    submit_tag: str | None = None

    @property
    def item(self) -> str | None:
        """Return the id of the question being asked now, or None (overview or not asking)."""
        return self.survey.current if self.stage is Stage.QUESTION else None


def begin_state(q: Questionnaire) -> FlowState:
    """Return the state of a participant who just opened a link: the greeting is shown."""
    return FlowState(q=q, survey=engine.start(q), stage=Stage.GREETING)


def restore(
    q: Questionnaire,
    answers: dict[str, Answer],
    current: str | None,
    stage: str,
    *,
    resume_to: str | None = None,
    shown: Shown | None = None,
    last_text_item: str | None = None,
    asked: Asked | None = None,
    submit_tag: str | None = None,
) -> FlowState:
    """Rebuild a state from what storage holds, repairing anything the rules no longer allow.

    Unknown stage names (an older file) become the stage the answers imply: the question
    being asked, or the overview when every question has an answer.
    """
    survey = engine.resume(q, answers, current)
    asking = _asking(survey)
    st = _stage_or(stage, asking)
    if st in (Stage.QUESTION, Stage.OVERVIEW, Stage.ENDED) or (
        st is Stage.CHOOSING and asking is Stage.QUESTION
    ):
        st = asking
    back_to: Stage | None = None
    if st in (Stage.PAUSED, Stage.CONFIRM_DELETE):
        back_to = _stage_or(resume_to, asking)
        if back_to not in (Stage.GREETING, Stage.CHOOSING) or (
            back_to is Stage.CHOOSING and asking is Stage.QUESTION
        ):
            back_to = asking
    kept_text = last_text_item if last_text_item in survey.answers else None
    kept_asked = asked if asked is not None and asked.item == survey.current else None
    return FlowState(q=q, survey=survey, stage=st, resume_to=back_to, shown=shown,
                     last_text_item=kept_text, asked=kept_asked, submit_tag=submit_tag)


def _stage_or(name: str | None, default: Stage) -> Stage:
    try:
        return Stage(name or "")
    except ValueError:
        return default


# -- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenLink:
    """The person opened a survey link.

    `problem` is what the link check said (None = fine); `q` is the link's questionnaire;
    `same_link` is True when it is the link of the unfinished survey this person already has.
    """

    problem: LinkProblem | None
    q: Questionnaire | None = None
    same_link: bool = False


@dataclass(frozen=True)
class Restart:
    """/start without a link: continue the unfinished survey."""


@dataclass(frozen=True)
class Begin:
    """Börja, on the greeting."""

    message_id: int | None = None


@dataclass(frozen=True)
class Tap:
    """An option tapped (or posted) for question `item`: `value` is the option's value."""

    item: str
    value: str
    message_id: int | None = None


@dataclass(frozen=True)
class Text:
    """Typed text.

    `written_at`: when it was written (whole seconds, the clock of `Shown.at`), None when the
    front end cannot tell; `reply_to`: the message it replies to, if any; `item`: the question
    it was posted for, when the front end knows (a web form: another question is stale);
    `message_id`: the text's own message id, where messages have ids (see `Shown.sent_id`).
    """

    text: str
    written_at: int | None = None
    reply_to: int | None = None
    item: str | None = None
    message_id: int | None = None


@dataclass(frozen=True)
class Skip:
    """Hoppa över, for question `item`."""

    item: str
    message_id: int | None = None


@dataclass(frozen=True)
class Back:
    """Föregående, shown with question `item` (None: shown with the overview)."""

    item: str | None
    message_id: int | None = None


@dataclass(frozen=True)
class AskChange:
    """Ändra ett svar, on the overview."""

    message_id: int | None = None


@dataclass(frozen=True)
class ChangeAnswer:
    """A question picked from the change list, to answer it again."""

    item: str
    message_id: int | None = None


@dataclass(frozen=True)
class CancelChange:
    """Back to the overview from the change list."""

    message_id: int | None = None


@dataclass(frozen=True)
class Pause:
    """/avbryt."""


@dataclass(frozen=True)
class AskDelete:
    """/radera."""


@dataclass(frozen=True)
class Confirm:
    """Ja or Nej to /radera."""

    yes: bool
    message_id: int | None = None


@dataclass(frozen=True)
class Submit:
    """Skicka in, on the overview; `tag` is the overview's `FlowState.submit_tag`, if any."""

    message_id: int | None = None
    tag: str | None = None


@dataclass(frozen=True)
class Forged:
    """A tap or a post the front end could not parse: garbage, or from another program."""

    message_id: int | None = None


@dataclass(frozen=True)
class Other:
    """Something that is not text: a sticker, photo, voice message, file."""


@dataclass(frozen=True)
class UnknownCommand:
    """A /command the bot does not know."""


@dataclass(frozen=True)
class Edited:
    """The person edited a message they had sent."""


@dataclass(frozen=True)
class WasShown:
    """The front end has shown the current step: when (`Shown.at`) and as which message.

    `sent`: the message is a new one (not an older one edited into the step).
    """

    at: int | None = None
    message_id: int | None = None
    sent: bool = False


Event = (
    OpenLink | Restart | Begin | Tap | Text | Skip | Back | AskChange | ChangeAnswer
    | CancelChange | Pause | AskDelete | Confirm | Submit | Forged | Other | UnknownCommand
    | Edited | WasShown
)

TapEvent = Begin | Tap | Skip | Back | AskChange | ChangeAnswer | CancelChange | Confirm | Submit \
    | Forged
TAP_EVENTS = (Begin, Tap, Skip, Back, AskChange, ChangeAnswer, CancelChange, Confirm, Submit,
              Forged)


# -- effects --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartSession:
    """Storage: claim one use of the link and start the session for `q` (before rendering)."""

    q: Questionnaire


@dataclass(frozen=True)
class StoreAnswer:
    """Storage: `value` (None = skipped) is the answer to `item`.

    `dropped` are answers the engine removed because their condition no longer holds. The new
    state holds all answers: saving it stores this.
    """

    item: str
    value: Answer
    dropped: tuple[str, ...] = ()


@dataclass(frozen=True)
class EndSession:
    """Storage: end the session (submitted: the response is complete; deleted: it is gone)."""

    reason: EndReason


@dataclass(frozen=True)
class Say:
    """Render: say the kind sentence `note`."""

    note: Note


@dataclass(frozen=True)
class MarkAnswered:
    """Render: the message `message_id` that showed `item` now shows the answer given."""

    item: str
    value: Answer
    message_id: int


@dataclass(frozen=True)
class Retire:
    """Render: message `message_id` no longer takes taps (remove its buttons).

    With a `note` the message is replaced by that sentence (front ends without messages just
    say it).
    """

    message_id: int | None
    note: Note | None = None


@dataclass(frozen=True)
class ShowGreeting:
    """Render: the greeting with Börja."""


@dataclass(frozen=True)
class ShowQuestion:
    """Render: question `item`, with its options, Hoppa över and (unless first) Föregående."""

    item: str


@dataclass(frozen=True)
class ShowOverview:
    """Render: every answer, with Skicka in, Ändra ett svar and Föregående."""


@dataclass(frozen=True)
class ShowChangeList:
    """Render: one choice per question asked, and back to the overview.

    With `message_id` the front end may turn that message (the overview) into the list.
    """

    message_id: int | None = None


@dataclass(frozen=True)
class ShowConfirmDelete:
    """Render: the /radera question with Ja and Nej."""


Effect = (
    StartSession | StoreAnswer | EndSession | Say | MarkAnswered | Retire | ShowGreeting
    | ShowQuestion | ShowOverview | ShowChangeList | ShowConfirmDelete
)
ShowEffect = ShowGreeting | ShowQuestion | ShowOverview | ShowChangeList | ShowConfirmDelete

Result = tuple[FlowState | None, tuple[Effect, ...]]


# -- the machine ----------------------------------------------------------------------------


def step(state: FlowState | None, event: Event) -> Result:
    """Return the state after `event` and the effects, in the order they must happen.

    `state` is None (or ENDED) when the person has no unfinished survey. The returned state is
    None only when there still is none. Storage effects come first; the rest render in order.
    """
    if state is None or state.stage is Stage.ENDED:
        return _no_survey(event)
    if isinstance(event, Edited):
        return state, (Say(Note.EDITED_IGNORED),)
    if isinstance(event, WasShown):
        return _was_shown(state, event), ()
    if isinstance(event, OpenLink):
        note = Note.WELCOME_BACK if event.same_link else Note.ALREADY_STARTED_OTHER
        return _show(_resumed(state), note)
    if isinstance(event, Restart):
        return _show(_resumed(state), Note.WELCOME_BACK)
    if isinstance(event, Pause):
        return _pause(state)
    if isinstance(event, AskDelete):
        return _ask_delete(state)
    if state.stage is Stage.PAUSED:
        if isinstance(event, TAP_EVENTS):
            # A tap on a message still on the screen counts: it is handled as in the stage
            # the person paused in (a stale one is still stale there).
            return step(_resumed(state), event)
        return _show(_resumed(state), Note.WELCOME_BACK)
    if isinstance(event, Text):
        return _text(state, event)
    if isinstance(event, Other):
        if state.stage is Stage.QUESTION and _is_free_text(state):
            return state, (Say(Note.ONLY_TEXT),)
        return _show(state, Note.NOT_UNDERSTOOD_MEDIA)
    if isinstance(event, UnknownCommand):
        asking = state.survey.current is not None and state.stage not in (
            Stage.OVERVIEW, Stage.CHOOSING)
        return _show(state, Note.USE_BUTTONS if asking else None)
    return _tap(state, event)


def _no_survey(event: Event) -> Result:
    if isinstance(event, OpenLink):
        if event.problem is not None or event.q is None:
            return None, (Say(LINK_NOTES[event.problem or "unknown"]),)
        fresh = begin_state(event.q)
        return fresh, (StartSession(event.q), ShowGreeting())
    if isinstance(event, TAP_EVENTS):
        return None, (Retire(event.message_id), Say(Note.BUTTON_OF_ENDED_SURVEY))
    if isinstance(event, Pause):
        return None, (Say(Note.NOTHING_TO_PAUSE),)
    if isinstance(event, AskDelete):
        return None, (Say(Note.NOTHING_TO_DELETE),)
    if isinstance(event, Edited):
        return None, (Say(Note.EDITED_IGNORED),)
    if isinstance(event, UnknownCommand):
        return None, (Say(Note.NO_SURVEY_HELP),)
    if isinstance(event, WasShown):
        return None, ()
    return None, (Say(Note.NO_SURVEY),)


def _resumed(state: FlowState) -> FlowState:
    if state.stage is not Stage.PAUSED:
        return state
    return replace(state, stage=state.resume_to or _asking(state.survey), resume_to=None)


def _asking(survey: SurveyState) -> Stage:
    return Stage.QUESTION if survey.current is not None else Stage.OVERVIEW


def _is_free_text(state: FlowState) -> bool:
    item = state.item
    return item is not None and state.q.item(item).scale is None


def _show_effect(state: FlowState, message_id: int | None = None) -> ShowEffect | None:
    if state.stage is Stage.GREETING:
        return ShowGreeting()
    if state.stage is Stage.QUESTION and state.survey.current is not None:
        return ShowQuestion(state.survey.current)
    if state.stage is Stage.OVERVIEW:
        return ShowOverview()
    if state.stage is Stage.CHOOSING:
        return ShowChangeList(message_id)
    if state.stage is Stage.CONFIRM_DELETE:
        return ShowConfirmDelete()
    return None


def _show(state: FlowState, note: Note | None = None, *before: Effect) -> Result:
    """Show the state's step again (or anew): the effects before it, the note, the step."""
    shown = _show_effect(state)
    effects: list[Effect] = list(before)
    if note is not None:
        effects.append(Say(note))
    if shown is not None:
        effects.append(shown)
    return replace(state, shown=None, asked=_still_asked(state)), tuple(effects)


def _still_asked(state: FlowState) -> Asked | None:
    """Return since when the state's question has been on the screen, if it is shown again."""
    item = state.item
    if item is None:
        return None
    shown = state.shown
    if shown is None:
        # Shown again before the last copy was reported shown (a failed send, a crash).
        asked = state.asked
        return asked if asked is not None and asked.item == item else None
    if shown.stage is Stage.QUESTION and shown.item == item and shown.at is not None:
        return Asked(item, shown.at, shown.sent_id)
    return None


def reshow(state: FlowState) -> Result:
    """Return the effects that show the state's step again, without a word (none if paused).

    For a front end whose last attempt to show the step failed (a send that never arrived),
    or that handles an event it already applied once (a replayed update).
    """
    if state.stage in (Stage.PAUSED, Stage.ENDED):
        return state, ()
    return _show(state)


def thank_again(event: Submit) -> Result:
    """Return the effects for a Skicka in that already submitted its survey, thanks unsent.

    For a front end that was stopped between the submission and its thanks and is handed the
    same event again (Telegram delivers an unconfirmed update again after a restart): the
    thanks, as at the submission, and the overview's buttons go.
    """
    return None, (Say(Note.THANKS), Retire(event.message_id))


def _stale(state: FlowState, tapped: int | None) -> Result:
    shown = state.shown
    if tapped is not None and shown is not None and shown.message_id is not None:
        # (Only an older message, or the one now showing the step: a newer one than the step
        # noted as shown means the note has not caught up with the screen, and the step is
        # shown again to be sure.)
        if tapped == shown.message_id:
            # The tapped message was since edited into the current step (one message per
            # survey): a tap that was on its way, or sent again. The step is right there.
            return state, (Say(Note.OLD_BUTTON),)
        if tapped < shown.message_id:
            return state, (Retire(tapped), Say(Note.OLD_BUTTON))
    before: list[Effect] = []
    if tapped is not None and (state.shown is None or tapped != state.shown.message_id):
        before.append(Retire(tapped))
    return _show(state, Note.STALE_BUTTON, *before)


def _was_shown(state: FlowState, event: WasShown) -> FlowState:
    item = state.survey.current if state.stage is Stage.QUESTION else None
    at, asked = event.at, state.asked
    sent_id = event.message_id if event.sent else None
    if item is not None and asked is not None and asked.item == item and at is not None:
        at, sent_id = min(at, asked.at), asked.sent_id  # the first copy is what counts
    return replace(state, shown=Shown(state.stage, item, at, event.message_id, sent_id),
                   asked=None)


def _pause(state: FlowState) -> Result:
    if state.stage is Stage.PAUSED:
        return state, (Say(Note.PAUSED),)
    back_to = state.resume_to if state.stage is Stage.CONFIRM_DELETE else state.stage
    if back_to is Stage.CHOOSING:
        back_to = Stage.OVERVIEW
    paused = replace(state, stage=Stage.PAUSED, resume_to=back_to, shown=None)
    effects: list[Effect] = []
    if state.shown is not None and state.shown.message_id is not None:
        effects.append(Retire(state.shown.message_id))
    effects.append(Say(Note.PAUSED))
    return paused, tuple(effects)


def _ask_delete(state: FlowState) -> Result:
    if state.stage is Stage.CONFIRM_DELETE:
        return _show(state)
    back_to = state.resume_to if state.stage is Stage.PAUSED else state.stage
    return _show(replace(state, stage=Stage.CONFIRM_DELETE, resume_to=back_to))


def _text(state: FlowState, event: Text) -> Result:
    if state.stage is Stage.OVERVIEW:
        return _show(state)
    if state.stage is not Stage.QUESTION or not _is_free_text(state):
        return _show(state, Note.USE_BUTTONS)
    item = state.survey.current
    assert item is not None
    if event.item is not None and event.item != item:
        return _stale(state, None)
    if not _written_for_current(state, event):
        return _show(state, Note.WRITTEN_BEFORE_QUESTION)
    cleaned = clean_text(event.text)
    if not cleaned.text:
        return state, (Say(Note.EMPTY_TEXT),)
    last = state.last_text_item
    if last is not None and last != item and _same_words(state.survey.answers.get(last),
                                                          cleaned.text):
        # Said once: a third copy, typed after this question was shown again, is an answer.
        # Only after: copies queued from before were sent for the previous question.
        return _show(replace(state, last_text_item=None, shown=None, asked=None),
                     Note.REPEATED_TEXT)
    notes = []
    if cleaned.masked:
        notes.append(Say(Note.TEXT_MASKED))
    if cleaned.truncated:
        notes.append(Say(Note.TEXT_CUT))
    return _answer(state, item, cleaned.text, _shown_message(state, item), *notes)


def _same_words(stored: Answer, typed: str) -> bool:
    return stored is not None and stored.split() == typed.split()


def _written_for_current(state: FlowState, event: Text) -> bool:
    shown = state.shown
    asked = state.asked
    if shown is None and asked is not None and asked.item == state.survey.current:
        # A new copy is on its way, an older one is on the screen since `asked.at`.
        return _written_after(event, asked.at, asked.sent_id)
    if shown is None or shown.stage is not Stage.QUESTION or shown.item != state.survey.current:
        return False  # the current question may never have reached the screen
    if event.reply_to is not None and shown.message_id is not None:
        return event.reply_to == shown.message_id
    return _written_after(event, shown.at, shown.sent_id)


def _written_after(event: Text, at: int | None, sent_id: int | None) -> bool:
    if event.message_id is not None and sent_id is not None:
        return event.message_id > sent_id
    if event.written_at is not None and at is not None:
        return event.written_at >= at
    return True


def _shown_message(state: FlowState, item: str) -> int | None:
    shown = state.shown
    if shown is not None and shown.item == item and shown.stage is Stage.QUESTION:
        return shown.message_id
    return None


def _answer(state: FlowState, item: str, value: Answer, message_id: int | None,
            *notes: Effect) -> Result:
    try:
        survey = engine.answer(state.q, state.survey, value)
    except InvalidAnswer:
        return _stale(state, message_id)
    dropped = tuple(k for k in state.survey.answers if k not in survey.answers)
    typed = value is not None and state.q.item(item).scale is None
    new = replace(state, survey=survey, stage=_asking(survey),
                  last_text_item=item if typed else None)
    effects: list[Effect] = [StoreAnswer(item, survey.answers[item], dropped)]
    if message_id is not None:
        effects.append(MarkAnswered(item, survey.answers[item], message_id))
    effects += notes
    return _show(new, None, *effects)


def _tap(state: FlowState, event: TapEvent) -> Result:
    tapped = event.message_id
    stage = state.stage
    current = state.survey.current
    if isinstance(event, Begin) and stage is Stage.GREETING:
        return _show(replace(state, stage=_asking(state.survey)), None, Retire(tapped))
    if isinstance(event, Tap) and stage is Stage.QUESTION and event.item == current:
        scale = state.q.item(event.item).scale
        if scale is None or scale.option(event.value) is None:
            return _stale(state, tapped)
        return _answer(state, event.item, event.value, tapped)
    if isinstance(event, Skip) and stage is Stage.QUESTION and event.item == current:
        return _answer(state, event.item, None, tapped)
    if isinstance(event, Back) and _back_fits(state, event):
        survey = engine.back(state.q, state.survey)
        if survey.current == current and stage is Stage.QUESTION:
            return state, (Say(Note.FIRST_QUESTION),)
        return _show(replace(state, survey=survey, stage=_asking(survey)), None, Retire(tapped))
    if isinstance(event, AskChange) and stage is Stage.OVERVIEW:
        return replace(state, stage=Stage.CHOOSING, shown=None), (ShowChangeList(tapped),)
    if isinstance(event, ChangeAnswer) and stage is Stage.CHOOSING:
        try:
            survey = engine.goto(state.q, state.survey, event.item)
        except InvalidAnswer:
            return _stale(state, tapped)
        return _show(replace(state, survey=survey, stage=Stage.QUESTION), None, Retire(tapped))
    if isinstance(event, CancelChange) and stage is Stage.CHOOSING:
        return _show(replace(state, stage=Stage.OVERVIEW), None, Retire(tapped))
    if isinstance(event, Confirm) and stage is Stage.CONFIRM_DELETE:
        if event.yes:
            ended = replace(state, stage=Stage.ENDED, resume_to=None, shown=None)
            return ended, (EndSession(EndReason.DELETED), Retire(tapped, Note.DELETED))
        back_to = replace(state, stage=state.resume_to or _asking(state.survey), resume_to=None)
        return _show(back_to, None, Retire(tapped, Note.NOT_DELETED))
    if isinstance(event, Submit) and stage is Stage.OVERVIEW and engine.is_complete(
        state.q, state.survey
    ):
        ended = replace(state, stage=Stage.ENDED, resume_to=None, shown=None)
        # Thanks first: nothing may hide the end from the participant if a later call fails.
        return ended, (EndSession(EndReason.SUBMITTED), Say(Note.THANKS), Retire(tapped))
    return _stale(state, tapped)


def _back_fits(state: FlowState, event: Back) -> bool:
    if state.stage is Stage.QUESTION:
        return event.item is not None and event.item == state.survey.current
    return state.stage is Stage.OVERVIEW and event.item is None


def is_first_question(state: FlowState, item: str) -> bool:
    """Return True when `item` is the first question this participant is asked (no Föregående)."""
    applicable = engine.applicable_items(state.q, state.survey.answers)
    return bool(applicable) and applicable[0].id == item


def run(state: FlowState | None, events: Sequence[Event]) -> tuple[FlowState | None,
                                                                   list[Effect]]:
    """Apply `events` in order; return the last state and every effect (for tests and tools)."""
    effects: list[Effect] = []
    for event in events:
        state, more = step(state, event)
        effects += more
    return state, effects
