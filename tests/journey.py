"""A participant's journey driven through the one survey flow, as a front end drives it.

Storage and anonymity tests seed sessions with this instead of calling the store directly,
so they exercise the same path (`SurveyService.handle` / `open_with_link`, then `mark_shown`)
that Telegram, the terminal and the web take. Every step checks that it moved: a refused step
fails the test at once instead of leaving a loop to spin.
"""

from __future__ import annotations

import itertools
from datetime import date

from bot.survey import Step, SurveyService
from questionnaires import flow
from questionnaires.model import Questionnaire
from storage import ChatRef

OpenKind = str
"""How opening a link went: started, resumed, other_in_progress, or the link's problem."""


def opened_kind(step: Step) -> OpenKind:
    """Return how opening a link went, read from the effects the machine gave."""
    for effect in step.effects:
        if isinstance(effect, flow.StartSession):
            return "started"
        if isinstance(effect, flow.Say):
            if effect.note is flow.Note.WELCOME_BACK:
                return "resumed"
            if effect.note is flow.Note.ALREADY_STARTED_OTHER:
                return "other_in_progress"
            for problem, note in flow.LINK_NOTES.items():
                if note is effect.note:
                    return problem
    raise AssertionError(f"opening a link gave no answer: {step.effects}")


class Journey:
    """One participant (one chat) going through a survey, step by step."""

    def __init__(self, service: SurveyService, chat: ChatRef) -> None:
        """Drive `chat`'s survey through `service`; the state is read back from storage."""
        self.service = service
        self.chat = chat
        self._clock = itertools.count(1)

    @property
    def state(self) -> flow.FlowState | None:
        """Return the chat's unfinished survey as stored, or None."""
        return self.service.load_flow(self.chat)

    @property
    def q(self) -> Questionnaire:
        """Return the questionnaire being answered (fails when there is no survey)."""
        state = self.state
        assert state is not None, "no unfinished survey"
        return state.q

    @property
    def item(self) -> str | None:
        """Return the id of the question on the screen, or None (greeting, overview, …)."""
        state = self.state
        if state is None or state.stage is not flow.Stage.QUESTION:
            return None
        return state.survey.current

    def do(self, event: flow.Event, *, today: date | None = None) -> Step:
        """Handle `event` and show its step as a front end would; return the step."""
        step = self.service.handle(self.chat, event, today=today)
        self._shown(step)
        return step

    def _shown(self, step: Step) -> None:
        shows = any(isinstance(e, flow.ShowEffect) for e in step.effects)
        if shows and step.after is not None and step.after.stage is not flow.Stage.ENDED:
            self.service.mark_shown(self.chat, step.after, at=next(self._clock))

    def open(self, token: str, *, today: date | None = None) -> OpenKind:
        """Open a survey link; return how it went (see `opened_kind`)."""
        step = self.service.open_with_link(self.chat, token, today=today)
        self._shown(step)
        return opened_kind(step)

    def begin(self) -> None:
        """Leave the greeting for the first question."""
        self._moved(self.do(flow.Begin()), "begin")

    def answer(self, value: str | None) -> None:
        """Answer the question on the screen: a tap, typed text, or None to skip it."""
        item = self.item
        assert item is not None, f"no question on the screen: {self.state}"
        if value is None:
            event: flow.Event = flow.Skip(item)
        elif self.q.item(item).scale is None:
            event = flow.Text(value)
        else:
            event = flow.Tap(item, value)
        step = self.do(event)
        assert any(isinstance(e, flow.StoreAnswer) for e in step.effects), (
            f"{value!r} for {item} was not taken: {step.effects}")

    def back(self) -> None:
        """Go back one question (from the overview: to the last one)."""
        self._moved(self.do(flow.Back(self.item)), "back")

    def submit(self, *, today: date | None = None) -> bool:
        """Press Skicka in; return True when the survey ended as submitted."""
        step = self.do(flow.Submit(), today=today)
        return flow.EndSession(flow.EndReason.SUBMITTED) in step.effects

    def delete(self) -> bool:
        """Say /radera and Ja; return True when unfinished answers were deleted."""
        asked = self.do(flow.AskDelete())
        if not any(isinstance(e, flow.ShowConfirmDelete) for e in asked.effects):
            return False
        step = self.do(flow.Confirm(yes=True))
        return flow.EndSession(flow.EndReason.DELETED) in step.effects

    def _moved(self, step: Step, what: str) -> None:
        assert step.after != step.before, f"{what} changed nothing: {step.effects}"
