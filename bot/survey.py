"""The survey as a participant's front end uses it: engine rules plus storage, one call a step.

Both front ends (Telegram and the terminal) call this and only render what comes back, so a
step means the same everywhere: the answer is validated by the engine and committed to the
database before the call returns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from questionnaires import engine
from questionnaires.engine import SurveyState
from questionnaires.model import Item, Questionnaire, QuestionnaireError, get
from storage import Channel, ChatRef, Session, Store

Stage = Literal["greeting", "active", "paused", "confirm_delete"]


@dataclass(frozen=True)
class Current:
    """One chat's survey as it stands: the questionnaire, engine state and stage."""

    q: Questionnaire
    state: SurveyState
    stage: str
    message_id: int | None

    @property
    def item(self) -> Item | None:
        """Return the question being asked, or None when the overview is next."""
        return engine.current_item(self.q, self.state)

    @property
    def progress(self) -> engine.Progress | None:
        """Return 'Fråga N av M' for the current question."""
        return engine.progress(self.q, self.state)


OpenKind = Literal["started", "resumed", "other_in_progress", "unknown", "used", "expired",
                   "withdrawn", "elsewhere"]
"""How opening a link went; "elsewhere": the survey is under way in the other channel."""


@dataclass(frozen=True)
class Opened:
    """What happened when a link was opened, and the survey to show (if any)."""

    kind: OpenKind
    current: Current | None


class SurveyService:
    """Participant steps over the engine and the store; each step is committed on return."""

    def __init__(self, store: Store, *, remind: bool = True) -> None:
        """Serve surveys from `store`; `remind=False` keeps chats out of the reminder list."""
        self.store = store
        self.remind = remind

    def _current(self, session: Session) -> Current:
        q = get(session.enkat)
        state = engine.resume(q, session.answers, session.current_item)
        return Current(q=q, state=state, stage=session.stage, message_id=session.message_id)

    def load(self, chat_id: ChatRef) -> Current | None:
        """Return the chat's unfinished survey, or None."""
        session = self.store.get_session(chat_id)
        if session is None:
            return None
        try:
            return self._current(session)
        except QuestionnaireError:
            return None

    def open_link(
        self, chat_id: ChatRef, token: str, today: date | None = None,
        channel: Channel = "telegram",
    ) -> Opened:
        """Open a survey link for a chat: start, resume, or say what is wrong with it.

        A link used up by an unfinished survey of the other channel gives "elsewhere": that
        channel owns the survey until it is submitted.
        """
        existing = self.store.get_session(chat_id)
        check = self.store.check_link(token)
        if existing is not None:
            same_link = check.token_hash is not None and check.token_hash == existing.link_hash
            kind: OpenKind = "resumed" if same_link else "other_in_progress"
            return Opened(kind=kind, current=self._current(existing))
        if check.problem == "used" and check.held_by not in (None, channel):
            return Opened(kind="elsewhere", current=None)
        if check.problem is not None:
            return Opened(kind=check.problem, current=None)
        q = get(check.enkat or "")
        session = self.store.start_session(
            chat_id, check, q.version, today=today, channel=channel
        )
        return Opened(kind="started", current=self._current(session))

    def _save(self, chat_id: ChatRef, cur: Current, state: SurveyState, stage: str) -> Current:
        self.store.save_progress(
            chat_id, state.answers, state.current, stage=stage, remind=self.remind
        )
        return replace(cur, state=state, stage=stage)

    def begin(self, chat_id: ChatRef, cur: Current) -> Current:
        """Leave the greeting: the first question (or where the chat left off) is asked."""
        return self._save(chat_id, cur, cur.state, "active")

    def answer(self, chat_id: ChatRef, cur: Current, value: str | None) -> Current:
        """Record an answer (None = skip) to the current question; return the next step.

        Raises engine.InvalidAnswer when the value does not fit the question.
        """
        return self._save(chat_id, cur, engine.answer(cur.q, cur.state, value), "active")

    def back(self, chat_id: ChatRef, cur: Current) -> Current:
        """Go to the previous question (from the overview: the last one)."""
        return self._save(chat_id, cur, engine.back(cur.q, cur.state), "active")

    def goto(self, chat_id: ChatRef, cur: Current, item_id: str) -> Current:
        """Ask `item_id` again to change its answer. Raises engine.InvalidAnswer if not asked."""
        return self._save(chat_id, cur, engine.goto(cur.q, cur.state, item_id), "active")

    def set_stage(self, chat_id: ChatRef, cur: Current, stage: Stage) -> Current:
        """Move to another stage (e.g. confirming /radera) without touching the answers."""
        self.store.update_session(chat_id, stage=stage)
        return replace(cur, stage=stage)

    def remember_message(self, chat_id: ChatRef, message_id: int) -> None:
        """Record which message shows the current question, so it can be edited later."""
        self.store.update_session(chat_id, message_id=message_id)

    def submit(self, chat_id: ChatRef, today: date | None = None) -> bool:
        """Submit the survey; return False when there was nothing unfinished to submit."""
        return self.store.finish_session(chat_id, today=today)

    def discard(self, chat_id: ChatRef) -> bool:
        """Delete the unfinished answers; return False when there were none."""
        return self.store.discard_session(chat_id)

