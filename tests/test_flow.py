"""The participant's journey as a pure state machine: every stage meets every event.

The table says, for each (stage, event) pair — the impossible ones too — what the person ends
up seeing and what is stored. It runs in milliseconds and needs no Telegram and no database.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import event as reached
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import InlineKeyboardMarkup

from bot import participant
from bot.texts import deltagare
from bot.texts import terminal as terminal_texts
from questionnaires import engine
from questionnaires import flow as f
from questionnaires.flow import Note, Stage
from questionnaires.model import get

pytestmark = pytest.mark.pure

Q = get("deltagare-avslut")
SHOWN_AT = 1_000
MSG = 50  # the message id showing the current step
OLD_MSG = 40  # a message shown earlier


def _answered(answers: dict[str, str | None], current: str | None) -> engine.SurveyState:
    return engine.resume(Q, answers, current)


def _shown(state: f.FlowState) -> f.FlowState:
    after, effects = f.step(state, f.WasShown(at=SHOWN_AT, message_id=MSG))
    assert after is not None and effects == ()
    return after


SCALE_ANSWERS: dict[str, str | None] = {"avslut-kon": "kvinna", "avslut-1": "alltid"}
ALL_SCALE: dict[str, str | None] = {
    "avslut-kon": "kvinna", **{f"avslut-{n}": "ofta" for n in range(1, 8)}, "avslut-8": "nej",
}
ALL_ANSWERS: dict[str, str | None] = {
    **ALL_SCALE, "avslut-fritext-1": "Bra stöd", "avslut-fritext-2": None,
    "avslut-fritext-3": "Tack",
}


def states() -> dict[str, f.FlowState | None]:
    """One representative state per stage (a question with options and a free-text one)."""
    greeting = _shown(f.begin_state(Q))
    question = _shown(f.FlowState(Q, _answered(SCALE_ANSWERS, None), Stage.QUESTION))
    free = _shown(f.FlowState(Q, _answered(ALL_SCALE, None), Stage.QUESTION))
    overview = _shown(f.FlowState(Q, _answered(ALL_ANSWERS, None), Stage.OVERVIEW))
    choosing = _shown(replace(overview, stage=Stage.CHOOSING))
    confirm = _shown(replace(question, stage=Stage.CONFIRM_DELETE, resume_to=Stage.QUESTION))
    paused = replace(question, stage=Stage.PAUSED, resume_to=Stage.QUESTION, shown=None)
    ended = replace(overview, stage=Stage.ENDED, shown=None)
    return {
        "none": None, "greeting": greeting, "question": question, "free_text": free,
        "overview": overview, "choosing": choosing, "confirm_delete": confirm,
        "paused": paused, "ended": ended,
    }


EVENTS: dict[str, f.Event] = {
    "open_same_link": f.OpenLink(problem="used", q=Q, same_link=True),
    "open_other_link": f.OpenLink(problem=None, q=Q),
    "open_used_link": f.OpenLink(problem="used", q=Q),
    "restart": f.Restart(),
    "begin": f.Begin(MSG),
    "tap_current": f.Tap("avslut-2", "ofta", MSG),
    "tap_other_item": f.Tap("avslut-5", "ofta", MSG),
    "tap_bad_value": f.Tap("avslut-2", "superbra", MSG),
    "text": f.Text("Mitt svar", written_at=SHOWN_AT + 5),
    "text_before_shown": f.Text("Hallå? Fungerar det här?", written_at=SHOWN_AT - 30),
    "text_reply_to_old": f.Text("Mitt svar", written_at=SHOWN_AT + 5, reply_to=OLD_MSG),
    "skip_current": f.Skip("avslut-2", MSG),
    "skip_free_text": f.Skip("avslut-fritext-1", MSG),
    "back_current": f.Back("avslut-2", MSG),
    "back_from_overview": f.Back(None, MSG),
    "ask_change": f.AskChange(MSG),
    "change_answer": f.ChangeAnswer("avslut-3", MSG),
    "change_unasked": f.ChangeAnswer("avslut-9", MSG),
    "cancel_change": f.CancelChange(MSG),
    "pause": f.Pause(),
    "ask_delete": f.AskDelete(),
    "confirm_yes": f.Confirm(True, MSG),
    "confirm_no": f.Confirm(False, MSG),
    "submit": f.Submit(MSG),
    "forged": f.Forged(OLD_MSG),
    "other": f.Other(),
    "unknown_command": f.UnknownCommand(),
    "edited": f.Edited(),
    "was_shown": f.WasShown(at=SHOWN_AT + 9, message_id=MSG + 1),
}


def describe(result: f.Result) -> str:
    """Return what happened as one short line: the stage reached | the effects in order."""
    state, effects = result
    parts = []
    for e in effects:
        match e:
            case f.StartSession():
                parts.append("start")
            case f.StoreAnswer(item=item, value=value):
                parts.append(f"store {item}={value}")
            case f.EndSession(reason=reason):
                parts.append(f"end {reason}")
            case f.Say(note=note):
                parts.append(f"say {note}")
            case f.MarkAnswered(item=item, message_id=mid):
                parts.append(f"mark {item}@{mid}")
            case f.Retire(message_id=mid, note=note):
                parts.append(f"retire {mid}" + (f" as {note}" if note else ""))
            case f.ShowGreeting():
                parts.append("show greeting")
            case f.ShowQuestion(item=item):
                parts.append(f"show {item}")
            case f.ShowOverview():
                parts.append("show overview")
            case f.ShowChangeList(message_id=mid):
                parts.append(f"show change list@{mid}")
            case f.ShowConfirmDelete():
                parts.append("show confirm delete")
    stage = "none" if state is None else str(state.stage)
    return f"{stage} | " + ", ".join(parts)


# (stage, event): "stage reached | effects in order". Read a row as a sentence: in the overview,
# Skicka in ends the session as submitted, says thanks, then retires the overview's buttons.
TABLE: dict[tuple[str, str], str] = {
    # none
    ("none", "open_same_link"): "none | say link_used",
    ("none", "open_other_link"): "greeting | start, show greeting",
    ("none", "open_used_link"): "none | say link_used",
    ("none", "restart"): "none | say no_survey",
    ("none", "begin"): "none | retire 50, say button_of_ended_survey",
    ("none", "tap_current"): "none | retire 50, say button_of_ended_survey",
    ("none", "tap_other_item"): "none | retire 50, say button_of_ended_survey",
    ("none", "tap_bad_value"): "none | retire 50, say button_of_ended_survey",
    ("none", "text"): "none | say no_survey",
    ("none", "text_before_shown"): "none | say no_survey",
    ("none", "text_reply_to_old"): "none | say no_survey",
    ("none", "skip_current"): "none | retire 50, say button_of_ended_survey",
    ("none", "skip_free_text"): "none | retire 50, say button_of_ended_survey",
    ("none", "back_current"): "none | retire 50, say button_of_ended_survey",
    ("none", "back_from_overview"): "none | retire 50, say button_of_ended_survey",
    ("none", "ask_change"): "none | retire 50, say button_of_ended_survey",
    ("none", "change_answer"): "none | retire 50, say button_of_ended_survey",
    ("none", "change_unasked"): "none | retire 50, say button_of_ended_survey",
    ("none", "cancel_change"): "none | retire 50, say button_of_ended_survey",
    ("none", "pause"): "none | say nothing_to_pause",
    ("none", "ask_delete"): "none | say nothing_to_delete",
    ("none", "confirm_yes"): "none | retire 50, say button_of_ended_survey",
    ("none", "confirm_no"): "none | retire 50, say button_of_ended_survey",
    ("none", "submit"): "none | retire 50, say button_of_ended_survey",
    ("none", "forged"): "none | retire 40, say button_of_ended_survey",
    ("none", "other"): "none | say no_survey",
    ("none", "unknown_command"): "none | say no_survey_help",
    ("none", "edited"): "none | say edited_ignored",
    ("none", "was_shown"): "none | ",
    # greeting
    ("greeting", "open_same_link"): "greeting | say welcome_back, show greeting",
    ("greeting", "open_other_link"): "greeting | say already_started_other, show greeting",
    ("greeting", "open_used_link"): "greeting | say already_started_other, show greeting",
    ("greeting", "restart"): "greeting | say welcome_back, show greeting",
    ("greeting", "begin"): "question | retire 50, show avslut-kon",
    ("greeting", "tap_current"): "greeting | say old_button",
    ("greeting", "tap_other_item"): "greeting | say old_button",
    ("greeting", "tap_bad_value"): "greeting | say old_button",
    ("greeting", "text"): "greeting | say use_buttons, show greeting",
    ("greeting", "text_before_shown"): "greeting | say use_buttons, show greeting",
    ("greeting", "text_reply_to_old"): "greeting | say use_buttons, show greeting",
    ("greeting", "skip_current"): "greeting | say old_button",
    ("greeting", "skip_free_text"): "greeting | say old_button",
    ("greeting", "back_current"): "greeting | say old_button",
    ("greeting", "back_from_overview"): "greeting | say old_button",
    ("greeting", "ask_change"): "greeting | say old_button",
    ("greeting", "change_answer"): "greeting | say old_button",
    ("greeting", "change_unasked"): "greeting | say old_button",
    ("greeting", "cancel_change"): "greeting | say old_button",
    ("greeting", "pause"): "paused | retire 50, say paused",
    ("greeting", "ask_delete"): "confirm_delete | show confirm delete",
    ("greeting", "confirm_yes"): "greeting | say old_button",
    ("greeting", "confirm_no"): "greeting | say old_button",
    ("greeting", "submit"): "greeting | say old_button",
    ("greeting", "forged"): "greeting | retire 40, say old_button",
    ("greeting", "other"): "greeting | say not_understood_media, show greeting",
    ("greeting", "unknown_command"): "greeting | say use_buttons, show greeting",
    ("greeting", "edited"): "greeting | say edited_ignored",
    ("greeting", "was_shown"): "greeting | ",
    # question
    ("question", "open_same_link"): "question | say welcome_back, show avslut-2",
    ("question", "open_other_link"): "question | say already_started_other, show avslut-2",
    ("question", "open_used_link"): "question | say already_started_other, show avslut-2",
    ("question", "restart"): "question | say welcome_back, show avslut-2",
    ("question", "begin"): "question | say old_button",
    ("question", "tap_current"): "question | store avslut-2=ofta, mark avslut-2@50, show avslut-3",
    ("question", "tap_other_item"): "question | say old_button",
    ("question", "tap_bad_value"): "question | say old_button",
    ("question", "text"): "question | say use_buttons, show avslut-2",
    ("question", "text_before_shown"): "question | say use_buttons, show avslut-2",
    ("question", "text_reply_to_old"): "question | say use_buttons, show avslut-2",
    ("question", "skip_current"): (
        "question | "
        "store avslut-2=None, mark avslut-2@50, show avslut-3"
    ),
    ("question", "skip_free_text"): "question | say old_button",
    ("question", "back_current"): "question | retire 50, show avslut-1",
    ("question", "back_from_overview"): "question | say old_button",
    ("question", "ask_change"): "question | say old_button",
    ("question", "change_answer"): "question | say old_button",
    ("question", "change_unasked"): "question | say old_button",
    ("question", "cancel_change"): "question | say old_button",
    ("question", "pause"): "paused | retire 50, say paused",
    ("question", "ask_delete"): "confirm_delete | show confirm delete",
    ("question", "confirm_yes"): "question | say old_button",
    ("question", "confirm_no"): "question | say old_button",
    ("question", "submit"): "question | say old_button",
    ("question", "forged"): "question | retire 40, say old_button",
    ("question", "other"): "question | say not_understood_media, show avslut-2",
    ("question", "unknown_command"): "question | say use_buttons, show avslut-2",
    ("question", "edited"): "question | say edited_ignored",
    ("question", "was_shown"): "question | ",
    # free_text
    ("free_text", "open_same_link"): "question | say welcome_back, show avslut-fritext-1",
    ("free_text", "open_other_link"): (
        "question | "
        "say already_started_other, show avslut-fritext-1"
    ),
    ("free_text", "open_used_link"): "question | say already_started_other, show avslut-fritext-1",
    ("free_text", "restart"): "question | say welcome_back, show avslut-fritext-1",
    ("free_text", "begin"): "question | say old_button",
    ("free_text", "tap_current"): "question | say old_button",
    ("free_text", "tap_other_item"): "question | say old_button",
    ("free_text", "tap_bad_value"): "question | say old_button",
    ("free_text", "text"): (
        "question | "
        "store avslut-fritext-1=Mitt svar, mark avslut-fritext-1@50, "
        "show avslut-fritext-2"
    ),
    ("free_text", "text_before_shown"): (
        "question | "
        "say written_before_question, show avslut-fritext-1"
    ),
    ("free_text", "text_reply_to_old"): (
        "question | "
        "say written_before_question, show avslut-fritext-1"
    ),
    ("free_text", "skip_current"): "question | say old_button",
    ("free_text", "skip_free_text"): (
        "question | "
        "store avslut-fritext-1=None, mark avslut-fritext-1@50, show avslut-fritext-2"
    ),
    ("free_text", "back_current"): "question | say old_button",
    ("free_text", "back_from_overview"): "question | say old_button",
    ("free_text", "ask_change"): "question | say old_button",
    ("free_text", "change_answer"): "question | say old_button",
    ("free_text", "change_unasked"): "question | say old_button",
    ("free_text", "cancel_change"): "question | say old_button",
    ("free_text", "pause"): "paused | retire 50, say paused",
    ("free_text", "ask_delete"): "confirm_delete | show confirm delete",
    ("free_text", "confirm_yes"): "question | say old_button",
    ("free_text", "confirm_no"): "question | say old_button",
    ("free_text", "submit"): "question | say old_button",
    ("free_text", "forged"): "question | retire 40, say old_button",
    ("free_text", "other"): "question | say only_text",
    ("free_text", "unknown_command"): "question | say use_buttons, show avslut-fritext-1",
    ("free_text", "edited"): "question | say edited_ignored",
    ("free_text", "was_shown"): "question | ",
    # overview
    ("overview", "open_same_link"): "overview | say welcome_back, show overview",
    ("overview", "open_other_link"): "overview | say already_started_other, show overview",
    ("overview", "open_used_link"): "overview | say already_started_other, show overview",
    ("overview", "restart"): "overview | say welcome_back, show overview",
    ("overview", "begin"): "overview | say old_button",
    ("overview", "tap_current"): "overview | say old_button",
    ("overview", "tap_other_item"): "overview | say old_button",
    ("overview", "tap_bad_value"): "overview | say old_button",
    ("overview", "text"): "overview | show overview",
    ("overview", "text_before_shown"): "overview | show overview",
    ("overview", "text_reply_to_old"): "overview | show overview",
    ("overview", "skip_current"): "overview | say old_button",
    ("overview", "skip_free_text"): "overview | say old_button",
    ("overview", "back_current"): "overview | say old_button",
    ("overview", "back_from_overview"): "question | retire 50, show avslut-fritext-3",
    ("overview", "ask_change"): "choosing | show change list@50",
    ("overview", "change_answer"): "overview | say old_button",
    ("overview", "change_unasked"): "overview | say old_button",
    ("overview", "cancel_change"): "overview | say old_button",
    ("overview", "pause"): "paused | retire 50, say paused",
    ("overview", "ask_delete"): "confirm_delete | show confirm delete",
    ("overview", "confirm_yes"): "overview | say old_button",
    ("overview", "confirm_no"): "overview | say old_button",
    ("overview", "submit"): "ended | end submitted, say thanks, retire 50",
    ("overview", "forged"): "overview | retire 40, say old_button",
    ("overview", "other"): "overview | say not_understood_media, show overview",
    ("overview", "unknown_command"): "overview | show overview",
    ("overview", "edited"): "overview | say edited_ignored",
    ("overview", "was_shown"): "overview | ",
    # choosing
    ("choosing", "open_same_link"): "choosing | say welcome_back, show change list@None",
    ("choosing", "open_other_link"): "choosing | say already_started_other, show change list@None",
    ("choosing", "open_used_link"): "choosing | say already_started_other, show change list@None",
    ("choosing", "restart"): "choosing | say welcome_back, show change list@None",
    ("choosing", "begin"): "choosing | say old_button",
    ("choosing", "tap_current"): "choosing | say old_button",
    ("choosing", "tap_other_item"): "choosing | say old_button",
    ("choosing", "tap_bad_value"): "choosing | say old_button",
    ("choosing", "text"): "choosing | say use_buttons, show change list@None",
    ("choosing", "text_before_shown"): "choosing | say use_buttons, show change list@None",
    ("choosing", "text_reply_to_old"): "choosing | say use_buttons, show change list@None",
    ("choosing", "skip_current"): "choosing | say old_button",
    ("choosing", "skip_free_text"): "choosing | say old_button",
    ("choosing", "back_current"): "choosing | say old_button",
    ("choosing", "back_from_overview"): "choosing | say old_button",
    ("choosing", "ask_change"): "choosing | say old_button",
    ("choosing", "change_answer"): "question | retire 50, show avslut-3",
    ("choosing", "change_unasked"): "choosing | say old_button",
    ("choosing", "cancel_change"): "overview | retire 50, show overview",
    ("choosing", "pause"): "paused | retire 50, say paused",
    ("choosing", "ask_delete"): "confirm_delete | show confirm delete",
    ("choosing", "confirm_yes"): "choosing | say old_button",
    ("choosing", "confirm_no"): "choosing | say old_button",
    ("choosing", "submit"): "choosing | say old_button",
    ("choosing", "forged"): "choosing | retire 40, say old_button",
    ("choosing", "other"): "choosing | say not_understood_media, show change list@None",
    ("choosing", "unknown_command"): "choosing | show change list@None",
    ("choosing", "edited"): "choosing | say edited_ignored",
    ("choosing", "was_shown"): "choosing | ",
    # confirm_delete
    ("confirm_delete", "open_same_link"): "confirm_delete | say welcome_back, show confirm delete",
    ("confirm_delete", "open_other_link"): (
        "confirm_delete | "
        "say already_started_other, show confirm delete"
    ),
    ("confirm_delete", "open_used_link"): (
        "confirm_delete | "
        "say already_started_other, show confirm delete"
    ),
    ("confirm_delete", "restart"): "confirm_delete | say welcome_back, show confirm delete",
    ("confirm_delete", "begin"): "confirm_delete | say old_button",
    ("confirm_delete", "tap_current"): "confirm_delete | say old_button",
    ("confirm_delete", "tap_other_item"): "confirm_delete | say old_button",
    ("confirm_delete", "tap_bad_value"): "confirm_delete | say old_button",
    ("confirm_delete", "text"): "confirm_delete | say use_buttons, show confirm delete",
    ("confirm_delete", "text_before_shown"): (
        "confirm_delete | "
        "say use_buttons, show confirm delete"
    ),
    ("confirm_delete", "text_reply_to_old"): (
        "confirm_delete | "
        "say use_buttons, show confirm delete"
    ),
    ("confirm_delete", "skip_current"): "confirm_delete | say old_button",
    ("confirm_delete", "skip_free_text"): "confirm_delete | say old_button",
    ("confirm_delete", "back_current"): "confirm_delete | say old_button",
    ("confirm_delete", "back_from_overview"): "confirm_delete | say old_button",
    ("confirm_delete", "ask_change"): "confirm_delete | say old_button",
    ("confirm_delete", "change_answer"): "confirm_delete | say old_button",
    ("confirm_delete", "change_unasked"): "confirm_delete | say old_button",
    ("confirm_delete", "cancel_change"): "confirm_delete | say old_button",
    ("confirm_delete", "pause"): "paused | retire 50, say paused",
    ("confirm_delete", "ask_delete"): "confirm_delete | show confirm delete",
    ("confirm_delete", "confirm_yes"): "ended | end deleted, retire 50 as deleted",
    ("confirm_delete", "confirm_no"): "question | retire 50 as not_deleted, show avslut-2",
    ("confirm_delete", "submit"): "confirm_delete | say old_button",
    ("confirm_delete", "forged"): "confirm_delete | retire 40, say old_button",
    ("confirm_delete", "other"): "confirm_delete | say not_understood_media, show confirm delete",
    ("confirm_delete", "unknown_command"): "confirm_delete | say use_buttons, show confirm delete",
    ("confirm_delete", "edited"): "confirm_delete | say edited_ignored",
    ("confirm_delete", "was_shown"): "confirm_delete | ",
    # paused
    ("paused", "open_same_link"): "question | say welcome_back, show avslut-2",
    ("paused", "open_other_link"): "question | say already_started_other, show avslut-2",
    ("paused", "open_used_link"): "question | say already_started_other, show avslut-2",
    ("paused", "restart"): "question | say welcome_back, show avslut-2",
    ("paused", "begin"): "question | retire 50, say stale_button, show avslut-2",
    ("paused", "tap_current"): "question | store avslut-2=ofta, mark avslut-2@50, show avslut-3",
    ("paused", "tap_other_item"): "question | retire 50, say stale_button, show avslut-2",
    ("paused", "tap_bad_value"): "question | retire 50, say stale_button, show avslut-2",
    ("paused", "text"): "question | say welcome_back, show avslut-2",
    ("paused", "text_before_shown"): "question | say welcome_back, show avslut-2",
    ("paused", "text_reply_to_old"): "question | say welcome_back, show avslut-2",
    ("paused", "skip_current"): "question | store avslut-2=None, mark avslut-2@50, show avslut-3",
    ("paused", "skip_free_text"): "question | retire 50, say stale_button, show avslut-2",
    ("paused", "back_current"): "question | retire 50, show avslut-1",
    ("paused", "back_from_overview"): "question | retire 50, say stale_button, show avslut-2",
    ("paused", "ask_change"): "question | retire 50, say stale_button, show avslut-2",
    ("paused", "change_answer"): "question | retire 50, say stale_button, show avslut-2",
    ("paused", "change_unasked"): "question | retire 50, say stale_button, show avslut-2",
    ("paused", "cancel_change"): "question | retire 50, say stale_button, show avslut-2",
    ("paused", "pause"): "paused | say paused",
    ("paused", "ask_delete"): "confirm_delete | show confirm delete",
    ("paused", "confirm_yes"): "question | retire 50, say stale_button, show avslut-2",
    ("paused", "confirm_no"): "question | retire 50, say stale_button, show avslut-2",
    ("paused", "submit"): "question | retire 50, say stale_button, show avslut-2",
    ("paused", "forged"): "question | retire 40, say stale_button, show avslut-2",
    ("paused", "other"): "question | say welcome_back, show avslut-2",
    ("paused", "unknown_command"): "question | say welcome_back, show avslut-2",
    ("paused", "edited"): "paused | say edited_ignored",
    ("paused", "was_shown"): "paused | ",
    # ended
    ("ended", "open_same_link"): "none | say link_used",
    ("ended", "open_other_link"): "greeting | start, show greeting",
    ("ended", "open_used_link"): "none | say link_used",
    ("ended", "restart"): "none | say no_survey",
    ("ended", "begin"): "none | retire 50, say button_of_ended_survey",
    ("ended", "tap_current"): "none | retire 50, say button_of_ended_survey",
    ("ended", "tap_other_item"): "none | retire 50, say button_of_ended_survey",
    ("ended", "tap_bad_value"): "none | retire 50, say button_of_ended_survey",
    ("ended", "text"): "none | say no_survey",
    ("ended", "text_before_shown"): "none | say no_survey",
    ("ended", "text_reply_to_old"): "none | say no_survey",
    ("ended", "skip_current"): "none | retire 50, say button_of_ended_survey",
    ("ended", "skip_free_text"): "none | retire 50, say button_of_ended_survey",
    ("ended", "back_current"): "none | retire 50, say button_of_ended_survey",
    ("ended", "back_from_overview"): "none | retire 50, say button_of_ended_survey",
    ("ended", "ask_change"): "none | retire 50, say button_of_ended_survey",
    ("ended", "change_answer"): "none | retire 50, say button_of_ended_survey",
    ("ended", "change_unasked"): "none | retire 50, say button_of_ended_survey",
    ("ended", "cancel_change"): "none | retire 50, say button_of_ended_survey",
    ("ended", "pause"): "none | say nothing_to_pause",
    ("ended", "ask_delete"): "none | say nothing_to_delete",
    ("ended", "confirm_yes"): "none | retire 50, say button_of_ended_survey",
    ("ended", "confirm_no"): "none | retire 50, say button_of_ended_survey",
    ("ended", "submit"): "none | retire 50, say button_of_ended_survey",
    ("ended", "forged"): "none | retire 40, say button_of_ended_survey",
    ("ended", "other"): "none | say no_survey",
    ("ended", "unknown_command"): "none | say no_survey_help",
    ("ended", "edited"): "none | say edited_ignored",
    ("ended", "was_shown"): "none | ",
}


def test_the_table_covers_every_stage_and_every_event() -> None:
    assert {s for s, _ in TABLE} == set(states()) and {e for _, e in TABLE} == set(EVENTS)
    assert len(TABLE) == len(states()) * len(EVENTS)
    assert {str(s) for s in Stage} <= set(states())


@pytest.mark.parametrize(("stage", "event"), sorted(TABLE))
def test_every_stage_meets_every_event(stage: str, event: str) -> None:
    assert describe(f.step(states()[stage], EVENTS[event])) == TABLE[(stage, event)]


# -- the rules behind the table, one at a time ------------------------------------------------


@pytest.mark.parametrize("stage", ["greeting", "question", "overview", "choosing"])
def test_no_to_radera_returns_to_the_stage_the_person_was_in(stage: str) -> None:
    before = states()[stage]
    assert before is not None
    asking, effects = f.step(before, f.AskDelete())
    assert asking is not None and asking.stage is Stage.CONFIRM_DELETE
    assert effects == (f.ShowConfirmDelete(),)
    back, effects = f.step(_shown(asking), f.Confirm(False, MSG))
    assert back is not None and back.stage is before.stage and back.survey == before.survey
    _, shown_again = f.step(before, f.Restart())  # the step as it was on the screen
    assert effects == (f.Retire(MSG, Note.NOT_DELETED), shown_again[-1])


def test_no_to_radera_asked_while_paused_returns_to_where_the_pause_was() -> None:
    overview = states()["overview"]
    assert overview is not None
    paused, _ = f.step(overview, f.Pause())
    asking, _ = f.step(paused, f.AskDelete())
    back, effects = f.step(asking, f.Confirm(False, MSG))
    assert back is not None and back.stage is Stage.OVERVIEW
    assert effects == (f.Retire(MSG, Note.NOT_DELETED), f.ShowOverview())


def test_text_written_before_the_question_was_shown_is_not_the_answer() -> None:
    free = states()["free_text"]
    assert free is not None
    for written in (SHOWN_AT - 1, SHOWN_AT - 3600):
        after, effects = f.step(free, f.Text("Hallå? Fungerar det här?", written_at=written))
        assert after is not None and after.survey == free.survey
        assert effects == (f.Say(Note.WRITTEN_BEFORE_QUESTION),
                           f.ShowQuestion("avslut-fritext-1"))
    # Written in the same second the question appeared: taken (dates are whole seconds).
    after, effects = f.step(free, f.Text("Snabbt svar", written_at=SHOWN_AT))
    assert after is not None and after.survey.answers["avslut-fritext-1"] == "Snabbt svar"


def test_a_question_not_yet_reported_shown_takes_no_text() -> None:
    free = states()["free_text"]
    assert free is not None
    unseen = replace(free, shown=None)
    after, effects = f.step(unseen, f.Text("Svar", written_at=SHOWN_AT + 100))
    assert after is not None and "avslut-fritext-1" not in after.survey.answers
    assert f.Say(Note.WRITTEN_BEFORE_QUESTION) in effects


def test_a_reply_to_the_current_question_counts_and_to_another_does_not() -> None:
    free = states()["free_text"]
    assert free is not None
    after, _ = f.step(free, f.Text("Svar", written_at=SHOWN_AT - 5, reply_to=MSG))
    assert after is not None and after.survey.answers["avslut-fritext-1"] == "Svar"
    after, _ = f.step(free, f.Text("Svar", written_at=SHOWN_AT + 5, reply_to=OLD_MSG))
    assert after is not None and "avslut-fritext-1" not in after.survey.answers


def test_a_repeat_of_the_text_just_stored_is_not_the_next_answer_unless_said_again() -> None:
    free = states()["free_text"]
    assert free is not None
    first, effects = f.step(free, f.Text("Bra stöd", written_at=SHOWN_AT + 5))
    assert first is not None and first.survey.current == "avslut-fritext-2"
    assert effects[-1] == f.ShowQuestion("avslut-fritext-2")
    first = _shown(first)
    again, effects = f.step(first, f.Text("  Bra   stöd ", written_at=SHOWN_AT + 5))
    assert again is not None and "avslut-fritext-2" not in again.survey.answers
    assert effects == (f.Say(Note.REPEATED_TEXT), f.ShowQuestion("avslut-fritext-2"))
    # Told once and shown the question again, the same words typed once more are meant.
    third, _ = f.step(_shown(again), f.Text("Bra stöd", written_at=SHOWN_AT + 5))
    assert third is not None and third.survey.answers["avslut-fritext-2"] == "Bra stöd"


def test_a_tapped_answer_after_text_clears_the_repeat_rule() -> None:
    state = states()["free_text"]
    assert state is not None
    state, _ = f.run(state, [f.Text("Svar ett", written_at=SHOWN_AT), f.WasShown(SHOWN_AT, 51),
                             f.Skip("avslut-fritext-2", 51)])
    assert state is not None and state.last_text_item is None


def test_free_text_is_cleaned_and_the_person_told() -> None:
    free = states()["free_text"]
    assert free is not None
    after, effects = f.step(free, f.Text("Ring 070-123 45 67 " + "x" * 3000,
                                         written_at=SHOWN_AT))
    assert after is not None
    stored = after.survey.answers["avslut-fritext-1"]
    assert stored is not None and "070" not in stored and len(stored) == engine.MAX_TEXT_LENGTH
    assert [e for e in effects if isinstance(e, f.Say)] == [
        f.Say(Note.TEXT_MASKED), f.Say(Note.TEXT_CUT)]
    assert isinstance(effects[0], f.StoreAnswer) and effects[0].value == stored


def test_a_web_post_for_another_question_is_stale() -> None:
    free = states()["free_text"]
    assert free is not None
    after, effects = f.step(free, f.Text("Svar", item="avslut-fritext-2"))
    assert after is not None and after.survey == free.survey
    assert f.Say(Note.STALE_BUTTON) in effects
    after, _ = f.step(free, f.Text("Svar", item="avslut-fritext-1"))
    assert after is not None and after.survey.answers["avslut-fritext-1"] == "Svar"


def test_changing_8_to_nej_drops_9_and_10_and_says_so_in_the_store_effect() -> None:
    answers = {**ALL_ANSWERS, "avslut-8": "ja", "avslut-9": "ofta", "avslut-10": "ofta"}
    state: f.FlowState | None = _shown(
        f.FlowState(Q, _answered(answers, None), Stage.OVERVIEW))
    state, _ = f.run(state, [f.AskChange(MSG), f.ChangeAnswer("avslut-8", MSG),
                             f.WasShown(SHOWN_AT, 60)])
    state, effects = f.step(state, f.Tap("avslut-8", "nej", 60))
    assert effects[0] == f.StoreAnswer("avslut-8", "nej", ("avslut-9", "avslut-10"))
    assert state is not None and state.stage is Stage.OVERVIEW


def test_restore_repairs_old_and_broken_stored_stages() -> None:
    assert f.restore(Q, SCALE_ANSWERS, "avslut-2", "active").stage is Stage.QUESTION
    assert f.restore(Q, ALL_ANSWERS, None, "active").stage is Stage.OVERVIEW
    assert f.restore(Q, ALL_ANSWERS, None, "nonsense").stage is Stage.OVERVIEW
    assert f.restore(Q, SCALE_ANSWERS, "avslut-2", "choosing").stage is Stage.QUESTION
    paused = f.restore(Q, ALL_ANSWERS, None, "paused", resume_to="question")
    assert paused.stage is Stage.PAUSED and paused.resume_to is Stage.OVERVIEW
    confirm = f.restore(Q, {}, None, "confirm_delete", resume_to="greeting")
    assert confirm.resume_to is Stage.GREETING
    assert f.restore(Q, SCALE_ANSWERS, "avslut-2", "question",
                     last_text_item="avslut-fritext-1").last_text_item is None


# -- random journeys ----------------------------------------------------------------------------

ITEM_IDS = [it.id for it in Q.items] + ["avslut-99"]
VALUES = [*sorted({o.value for it in Q.items if it.scale for o in it.scale.options}), "", "x:y"]
TEXTS = ["Bra", "Bra", "  ", "Hallå?", "070-123 45 67", "Tack för allt"]
MESSAGE_IDS = st.none() | st.integers(1, 6)

events = st.one_of(
    st.builds(f.OpenLink, problem=st.sampled_from([None, None, "used", "unknown", "expired"]),
              q=st.just(Q), same_link=st.booleans()),
    st.builds(f.Restart),
    st.builds(f.Begin, message_id=MESSAGE_IDS),
    st.builds(f.Tap, item=st.sampled_from(ITEM_IDS), value=st.sampled_from(VALUES),
              message_id=MESSAGE_IDS),
    st.builds(f.Text, text=st.sampled_from(TEXTS), written_at=st.none() | st.integers(-3, 3),
              reply_to=MESSAGE_IDS, item=st.none() | st.sampled_from(ITEM_IDS)),
    st.builds(f.Skip, item=st.sampled_from(ITEM_IDS), message_id=MESSAGE_IDS),
    st.builds(f.Back, item=st.none() | st.sampled_from(ITEM_IDS), message_id=MESSAGE_IDS),
    st.builds(f.AskChange, message_id=MESSAGE_IDS),
    st.builds(f.ChangeAnswer, item=st.sampled_from(ITEM_IDS), message_id=MESSAGE_IDS),
    st.builds(f.CancelChange, message_id=MESSAGE_IDS),
    st.builds(f.Pause),
    st.builds(f.AskDelete),
    st.builds(f.Confirm, yes=st.booleans(), message_id=MESSAGE_IDS),
    st.builds(f.Submit, message_id=MESSAGE_IDS),
    st.builds(f.Forged, message_id=MESSAGE_IDS),
    st.builds(f.Other),
    st.builds(f.UnknownCommand),
    st.builds(f.Edited),
)


def _sensible(state: f.FlowState | None, shown_msg: int) -> f.Event:
    # A person who does what the screen asks: mixed 8 to 2 with random events, so journeys
    # get past the first questions to the overview and Skicka in, and are interrupted.
    if state is None or state.stage is Stage.ENDED:
        return f.OpenLink(problem=None, q=Q)
    if state.stage is Stage.GREETING:
        return f.Begin(shown_msg)
    if state.stage is Stage.QUESTION and state.survey.current is not None:
        item = Q.item(state.survey.current)
        if item.scale is None:
            return f.Text(f"Svar på {item.id}", written_at=None)
        return f.Tap(item.id, item.scale.options[0].value, shown_msg)
    if state.stage is Stage.CONFIRM_DELETE:
        return f.Confirm(False, shown_msg)
    if state.stage is Stage.CHOOSING:
        return f.CancelChange(shown_msg)
    if state.stage is Stage.PAUSED:
        return f.Restart()
    return f.Submit(shown_msg)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), events), min_size=20, max_size=150))
def test_random_journeys_keep_the_invariants(script: list[tuple[int, f.Event]]) -> None:
    state: f.FlowState | None = None
    session = False  # what storage would hold: one session per chat, at most
    stored: dict[str, str | None] = {}
    clock, shown_msg = 1_000, 0
    for dice, random_event in script:
        event = _sensible(state, shown_msg) if dice < 8 else random_event
        if isinstance(event, f.Text) and event.written_at is not None:
            event = replace(event, written_at=clock + event.written_at)
        before = state
        state, effects = f.step(state, event)
        ended = False
        for effect in effects:
            # After the end only words: the thanks, and buttons taken off.
            assert not ended or isinstance(effect, f.Say | f.Retire), effect
            if isinstance(effect, f.StartSession):
                assert not session, "never two sessions for one chat"
                session, stored = True, {}
            elif isinstance(effect, f.StoreAnswer):
                assert session and before is not None
                asked = f._resumed(before)
                assert asked.stage is Stage.QUESTION and asked.survey.current == effect.item
                item = Q.item(effect.item)
                assert engine.condition_holds(item, before.survey.answers)
                assert engine.validate(item, effect.value) == effect.value
            elif isinstance(effect, f.EndSession):
                assert session and before is not None
                if effect.reason is f.EndReason.SUBMITTED:
                    assert f._resumed(before).stage is Stage.OVERVIEW
                    assert engine.is_complete(Q, before.survey)
                session, ended = False, True
                reached(f"ended {effect.reason}")
        if state is not None and state.stage is not Stage.ENDED:
            assert session
            stored = dict(state.survey.answers)
            assert engine._prune(stored, Q) == stored
            if state.stage is Stage.QUESTION:
                assert state.survey.current is not None
            if state.stage in (Stage.OVERVIEW, Stage.CHOOSING):
                assert state.survey.current is None and engine.is_complete(Q, state.survey)
            if state.stage in (Stage.PAUSED, Stage.CONFIRM_DELETE):
                assert state.resume_to in (Stage.GREETING, Stage.QUESTION, Stage.OVERVIEW,
                                           Stage.CHOOSING)
        else:
            assert not session
        if any(isinstance(e, f.ShowEffect) for e in effects):
            clock, shown_msg = clock + 2, shown_msg + 1
            state, more = f.step(state, f.WasShown(at=clock, message_id=shown_msg))
            assert more == ()


def test_every_note_has_a_sentence_in_telegram_and_in_the_terminal() -> None:
    assert set(deltagare.NOTES) == set(Note) and set(terminal_texts.NOTES) == set(Note)
    assert all(text.strip() and "{" not in text for text in deltagare.NOTES.values())
    assert all(text.strip() and "{" not in text for text in terminal_texts.NOTES.values())


def test_after_a_crash_between_sending_and_recording_no_answer_lands_on_an_older_message() -> None:
    # 10 was answered on message 50 and 11 sent, but the process died before recording it:
    # the state still says message 50 (question 10) is on the screen.
    free = states()["free_text"]
    assert free is not None
    answered, _ = f.step(free, f.Text("Svar tio", written_at=SHOWN_AT))
    assert answered is not None
    crashed = replace(answered, shown=free.shown)
    after, effects = f.step(crashed, f.Text("Svar elva", written_at=SHOWN_AT + 60))
    assert not [e for e in effects if isinstance(e, f.MarkAnswered | f.StoreAnswer)]
    assert effects == (f.Say(Note.WRITTEN_BEFORE_QUESTION), f.ShowQuestion("avslut-fritext-2"))
    assert after is not None and after.shown is None


# -- the Telegram front end's parsing: every button it draws is an event the machine takes ----


def _buttons(markup: InlineKeyboardMarkup) -> list[str]:
    return [str(b.callback_data) for row in markup.inline_keyboard for b in row]


@pytest.mark.parametrize("stage", ["greeting", "question", "overview", "choosing",
                                   "confirm_delete"])
def test_every_button_telegram_draws_is_taken_by_the_machine(stage: str) -> None:
    state = states()[stage]
    assert state is not None
    _, effects = f.step(state, f.Restart())
    show = effects[-1]
    assert isinstance(show, f.ShowEffect)
    _, markup, _ = participant.step_message(state, show)
    for data in _buttons(markup):
        event = participant.parse_callback(data, MSG)
        assert not isinstance(event, f.Forged), data
        _, taken = f.step(state, event)
        assert f.Say(Note.STALE_BUTTON) not in taken, (data, taken)


@pytest.mark.parametrize("data", ["", "a", "a:avslut-2", "a:avslut-2:", "a:avslut-2:ofta:x",
                                  "skip", "back", "goto", "del:kanske", "submit:now",
                                  "begin:1", "change:1", "review:x", "x:y", "L:1"])
def test_garbage_callback_data_is_a_forged_tap(data: str) -> None:
    assert participant.parse_callback(data, MSG) == f.Forged(MSG)


def test_text_typed_under_an_older_copy_of_the_same_question_is_its_answer() -> None:
    # The person answers the question the moment it appears, while the bot is still showing
    # it again for an earlier message (a welcome back, a kind refusal): each copy is newer
    # than the text, but the text was written for this very question.
    free = states()["free_text"]
    assert free is not None
    again, _ = f.step(free, f.Restart())
    assert again is not None and again.shown is None
    while_sent, _ = f.step(again, f.Text("Svar ett", written_at=SHOWN_AT + 1))
    assert while_sent is not None
    assert while_sent.survey.answers["avslut-fritext-1"] == "Svar ett"
    copy, _ = f.step(again, f.WasShown(at=SHOWN_AT + 4, message_id=MSG + 2))
    assert copy is not None and copy.shown is not None and copy.shown.at == SHOWN_AT
    after, _ = f.step(copy, f.Text("Svar två", written_at=SHOWN_AT + 2))
    assert after is not None and after.survey.answers["avslut-fritext-1"] == "Svar två"
    # Before the first copy appeared it was still not written for this question.
    before, effects = f.step(copy, f.Text("Hallå?", written_at=SHOWN_AT - 1))
    assert before is not None and "avslut-fritext-1" not in before.survey.answers
    assert f.Say(Note.WRITTEN_BEFORE_QUESTION) in effects


def test_a_new_question_carries_no_time_from_the_one_before() -> None:
    free = states()["free_text"]
    assert free is not None
    answered, _ = f.step(free, f.Text("Bra stöd", written_at=SHOWN_AT + 5))
    assert answered is not None and answered.asked is None
    shown, _ = f.step(answered, f.WasShown(at=SHOWN_AT + 9, message_id=MSG + 1))
    assert shown is not None and shown.shown is not None and shown.shown.at == SHOWN_AT + 9
    early, effects = f.step(shown, f.Text("Annat svar", written_at=SHOWN_AT + 6))
    assert early is not None and "avslut-fritext-2" not in early.survey.answers
    assert f.Say(Note.WRITTEN_BEFORE_QUESTION) in effects


def test_copies_of_a_repeated_text_sent_before_the_question_came_again_stay_unanswered() -> None:
    # After a slow reply the person sent the same answer three times. The second copy is
    # told it repeats the answer just stored; the third, sent before that reply arrived, was
    # meant for the previous question too and is not the answer to this one.
    free = states()["free_text"]
    assert free is not None
    first, _ = f.step(free, f.Text("Bra stöd", written_at=SHOWN_AT + 1))
    assert first is not None
    first, _ = f.step(first, f.WasShown(at=SHOWN_AT + 2, message_id=MSG + 1))
    assert first is not None
    told, effects = f.step(first, f.Text("Bra stöd", written_at=SHOWN_AT + 3))
    assert told is not None and f.Say(Note.REPEATED_TEXT) in effects
    told, _ = f.step(told, f.WasShown(at=SHOWN_AT + 6, message_id=MSG + 2))
    assert told is not None
    queued, effects = f.step(told, f.Text("Bra stöd", written_at=SHOWN_AT + 4))
    assert queued is not None and "avslut-fritext-2" not in queued.survey.answers
    meant, _ = f.step(told, f.Text("Bra stöd", written_at=SHOWN_AT + 7))
    assert meant is not None and meant.survey.answers["avslut-fritext-2"] == "Bra stöd"


def test_in_the_same_second_the_message_order_tells_what_was_written_first() -> None:
    # Dates are whole seconds; a chat's messages share one numbering. Text sent just before
    # the question arrived (a lower id) was not written for it, even in the same second.
    free = states()["free_text"]
    assert free is not None
    answered, _ = f.step(free, f.Text("Bra stöd", written_at=SHOWN_AT))
    assert answered is not None
    asked, _ = f.step(answered, f.WasShown(at=SHOWN_AT + 2, message_id=60, sent=True))
    assert asked is not None
    early, effects = f.step(asked, f.Text("Annat", written_at=SHOWN_AT + 2, message_id=59))
    assert early is not None and "avslut-fritext-2" not in early.survey.answers
    assert f.Say(Note.WRITTEN_BEFORE_QUESTION) in effects
    late, _ = f.step(asked, f.Text("Annat", written_at=SHOWN_AT + 2, message_id=61))
    assert late is not None and late.survey.answers["avslut-fritext-2"] == "Annat"
    # A question edited into an older message: its id says nothing, the dates decide.
    edited, _ = f.step(answered, f.WasShown(at=SHOWN_AT + 2, message_id=40))
    assert edited is not None
    same, _ = f.step(edited, f.Text("Annat", written_at=SHOWN_AT + 2, message_id=59))
    assert same is not None and same.survey.answers["avslut-fritext-2"] == "Annat"
