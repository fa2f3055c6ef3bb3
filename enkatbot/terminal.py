"""`enkatbot chat`: answer a questionnaire in the terminal, through the same journey and storage.

A front end to `questionnaires.flow` for trying the bot without Telegram: buttons become
numbered choices and letters. Like the bot it only parses a line into an event, lets
`SurveyService` step and store it, and prints the effects; every answer is committed before
the next question is printed, so a killed process resumes where it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from bot.survey import Step, SurveyService
from bot.texts import deltagare as t
from bot.texts import terminal as tt
from questionnaires import engine
from questionnaires import flow as f
from questionnaires.flow import FlowState, Stage
from storage import Store

TERMINAL_CHAT_ID = -1
"""The terminal's stand-in for a chat id: never a private Telegram chat (those are positive)."""

PROVINSATS = "Provkörning i terminalen"


def _ask(read: Callable[[], str], out: TextIO) -> str | None:
    out.write("> ")
    out.flush()
    try:
        return read().strip()
    except EOFError:
        return None


# -- parsing ------------------------------------------------------------------------------------


def parse(state: FlowState, line: str) -> f.Event | str:
    """Return the event a typed line stands for in the step on the screen, or a nudge to print.

    Only the keys the screen offers are events; the machine decides what they do.
    """
    key = line.lower()
    if key == tt.KEY_PAUSE:
        return f.Pause()
    if state.stage is Stage.GREETING:
        return f.Begin()
    if state.stage is Stage.OVERVIEW:
        if key == tt.KEY_SUBMIT:
            return f.Submit()
        if key in tt.KEY_CHANGE:
            return f.AskChange()
        if key == tt.KEY_BACK:
            return f.Back(None)
        return f.UnknownCommand()
    if state.stage is Stage.CHOOSING:
        lines = engine.overview(state.q, state.survey)
        if line.isdigit() and 1 <= int(line) <= len(lines):
            return f.ChangeAnswer(lines[int(line) - 1].item.id)
        return f.CancelChange()
    if state.stage is Stage.CONFIRM_DELETE:
        return f.Confirm(key == "j") if key in ("j", "n") else f.UnknownCommand()
    item_id = state.survey.current
    if state.stage is not Stage.QUESTION or item_id is None:
        return f.Restart()
    if key == tt.KEY_SKIP:
        return f.Skip(item_id)
    if key == tt.KEY_BACK:
        return f.Back(item_id)
    scale = state.q.item(item_id).scale
    if scale is None:
        return f.Text(line)
    if line.isdigit() and 1 <= int(line) <= len(scale.options):
        return f.Tap(item_id, scale.options[int(line) - 1].value)
    return tt.choose_a_number(len(scale.options))


# -- rendering ----------------------------------------------------------------------------------


def _question(state: FlowState, item_id: str) -> str:
    item = state.q.item(item_id)
    prog = engine.progress(state.q, state.survey)
    lines = [""]
    if prog is not None:
        lines.append(t.question_header(prog.position, prog.total))
    lines.append(item.text)
    if item.scale is not None:
        lines += [f"  {i}. {opt.label}" for i, opt in enumerate(item.scale.options, 1)]
    else:
        lines.append(tt.FREE_TEXT_HINT)
    first = f.is_first_question(state, item_id)
    lines.append(tt.FIRST_QUESTION_KEYS if first else tt.QUESTION_KEYS)
    return "\n".join(lines)


def _overview(state: FlowState) -> str:
    lines = ["", t.OVERVIEW_TITLE]
    for i, line in enumerate(engine.overview(state.q, state.survey), 1):
        lines.append(f"  {i}. {line.item.text}\n     → {t.overview_answer(line)}")
    lines += ["", t.OVERVIEW_FOOTER, tt.OVERVIEW_KEYS]
    return "\n".join(lines)


def step_text(state: FlowState, show: f.ShowEffect) -> str:
    """Return what the terminal prints for the step `show` asks for."""
    if isinstance(show, f.ShowGreeting):
        total = len(engine.asked_items(state.q, state.survey.answers))
        return "\n" + tt.greeting(state.q, total)
    if isinstance(show, f.ShowQuestion):
        return _question(state, show.item)
    if isinstance(show, f.ShowOverview):
        return _overview(state)
    if isinstance(show, f.ShowChangeList):
        return tt.CHOOSE_CHANGE
    return f"{t.CONFIRM_DELETE}\n{tt.CONFIRM_DELETE_KEYS}"


def render(service: SurveyService, step: Step, out: TextIO) -> FlowState | None:
    """Print a step's effects in order; return the state with its step recorded as shown."""
    state = step.after
    for effect in step.effects:
        note = effect.note if isinstance(effect, f.Say | f.Retire) else None
        if note is not None:
            out.write(tt.note_text(note) + "\n")
        elif isinstance(effect, f.ShowEffect) and state is not None:
            out.write(step_text(state, effect) + "\n")
            state = service.mark_shown(TERMINAL_CHAT_ID, state, at=None)
    return state


def _open(store: Store, service: SurveyService, enkat: str, insats: str | None) -> Step:
    if insats is None:
        existing = store.list_insatser()
        if len(existing) == 1:
            insats = existing[0].name
        else:
            insats = PROVINSATS
            if store.get_insats(PROVINSATS) is None:
                store.add_insats(PROVINSATS)
    token = store.create_links(insats, enkat, count=1, valid_days=1)[0]
    return service.open_with_link(TERMINAL_CHAT_ID, token)


def run_chat(
    store: Store,
    enkat: str,
    insats: str | None,
    *,
    read: Callable[[], str] = input,
    out: TextIO,
) -> int:
    """Run the questionnaire in the terminal until it is sent in or paused; return 0."""
    service = SurveyService(store, remind=False)
    unfinished = service.load_flow(TERMINAL_CHAT_ID)
    if unfinished is not None and unfinished.q.id != enkat:
        out.write(tt.other_survey_first(unfinished.q.name) + "\n")
    step = (service.handle(TERMINAL_CHAT_ID, f.Restart()) if unfinished is not None
            else _open(store, service, enkat, insats))
    state = render(service, step, out)
    while state is not None and state.stage not in (Stage.ENDED, Stage.PAUSED):
        line = _ask(read, out)
        event = f.Pause() if line is None else parse(state, line)
        if isinstance(event, str):
            out.write(event + "\n")
            continue
        state = render(service, service.handle(TERMINAL_CHAT_ID, event), out)
    return 0
