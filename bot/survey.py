"""The survey as a participant's front end uses it: the journey's machine plus storage.

A front end turns what a person did into a `questionnaires.flow` event and calls `handle` (or
`open_with_link`): the machine decides, this applies the storage effects and saves the new
state, committed before the call returns, and hands back the effects to render in order.
After rendering a step the front end reports it with `mark_shown`. No front end decides a
transition itself.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from questionnaires import flow
from questionnaires.flow import Effect, Event, FlowState
from questionnaires.model import QuestionnaireError, get
from storage import Channel, ChatRef, LinkCheck, LinkTaken, Session, Store, WriteFailed


@dataclass(frozen=True)
class Step:
    """One step of the journey as stored: the state before and after, and what to render."""

    before: FlowState | None
    after: FlowState | None
    effects: tuple[Effect, ...]


SUBMIT_TAG_BYTES = 9
"""Randomness of the overview's Skicka in tag (12 characters in the button's data)."""
APPLIED_KEPT = 16
"""How many applied update ids an unfinished survey remembers: more than one chat has in
flight when the process dies, so each replayed one is known."""


def flow_extras(state: FlowState, applied: Sequence[int] = ()) -> str:
    """Return what `storage` keeps of a state beyond answers, position and stage (JSON).

    `applied` are the ids of the last updates whose step was committed (a replay of one of
    them after a crash is not applied twice).
    """
    data = _flow_fields(state)
    data["applied"] = list(applied)[-APPLIED_KEPT:]
    return json.dumps(data, separators=(",", ":"))


def _flow_fields(state: FlowState) -> dict[str, Any]:
    shown, asked = state.shown, state.asked
    return {
        "resume_to": state.resume_to.value if state.resume_to else None,
        "shown": None if shown is None else [shown.stage.value, shown.item, shown.at,
                                              shown.message_id, shown.sent_id],
        "last_text_item": state.last_text_item,
        "asked": None if asked is None else [asked.item, asked.at, asked.sent_id],
        "submit_tag": state.submit_tag,
    }


def _extras(session: Session) -> dict[str, Any]:
    if not session.flow:
        return {}
    try:
        extras = json.loads(session.flow)
    except ValueError:
        return {}  # a damaged note only forgets what is on the screen: shown again
    return extras if isinstance(extras, dict) else {}


def _applied(extras: dict[str, Any]) -> list[int]:
    raw = extras.get("applied")
    return [n for n in raw if isinstance(n, int)] if isinstance(raw, list) else []


def _int_or_none(rest: list[Any]) -> int | None:
    return rest[0] if rest and isinstance(rest[0], int) else None


def _restore(session: Session) -> FlowState:
    q = get(session.enkat)
    extras = _extras(session)
    shown = None
    raw = extras.get("shown")
    if isinstance(raw, list) and len(raw) in (4, 5):  # 4: written before sent_id was kept
        try:
            shown = flow.Shown(flow.Stage(raw[0]), raw[1], raw[2], raw[3], _int_or_none(raw[4:]))
        except ValueError:
            shown = None
    asked = None
    raw = extras.get("asked")
    if isinstance(raw, list) and len(raw) in (2, 3) and isinstance(raw[0], str) and isinstance(
            raw[1], int):  # 2: written before sent_id was kept
        asked = flow.Asked(raw[0], raw[1], _int_or_none(raw[2:]))
    return flow.restore(
        q, dict(session.answers), session.current_item, session.stage,
        resume_to=extras.get("resume_to"), shown=shown,
        last_text_item=extras.get("last_text_item"), asked=asked,
        submit_tag=tag if isinstance(tag := extras.get("submit_tag"), str) else None,
    )


class SurveyService:
    """Participant steps over the engine and the store; each step is committed on return."""

    def __init__(self, store: Store, *, remind: bool = True) -> None:
        """Serve surveys from `store`; `remind=False` keeps chats out of the reminder list."""
        self.store = store
        self.remind = remind

    def load_flow(self, chat_id: ChatRef) -> FlowState | None:
        """Return the chat's unfinished survey as the machine's state, or None.

        With none, the chat's storage key is forgotten (see `handle`).
        """
        state = self._flow_of(self.store.get_session(chat_id))
        if state is None:
            self.store.forget_chat_key(chat_id)
        return state

    @staticmethod
    def _flow_of(session: Session | None) -> FlowState | None:
        if session is None:
            return None
        try:
            return _restore(session)
        except QuestionnaireError:
            return None

    def handle(self, chat_id: ChatRef, event: Event, *, link: LinkCheck | None = None,
               channel: Channel = "telegram", today: date | None = None,
               update_id: int | None = None) -> Step:
        """Step the chat's journey with `event`; apply and commit what it stores; return it.

        A chat left without an unfinished survey has its storage key forgotten: a message
        after the survey (or from someone who never had one) must not keep it in memory.
        (The rest is `_handle`'s.)
        """
        step = self._handle(chat_id, event, link=link, channel=channel, today=today,
                            update_id=update_id)
        if step.after is None:
            self.store.forget_chat_key(chat_id)
        return step

    def _handle(self, chat_id: ChatRef, event: Event, *, link: LinkCheck | None,
                channel: Channel, today: date | None, update_id: int | None) -> Step:
        """Step the chat's journey with `event`; apply and commit what it stores; return it.

        `link` is the checked link of an `OpenLink` event (the session claims one of its
        uses). `update_id` identifies the Telegram update the event came in: an update whose
        step was already committed (delivered again after a crash) changes nothing and only
        shows the step again if it may not have reached the screen. Raises StorageError when a
        write fails: nothing is then shown as accepted.
        """
        session = self.store.get_session(chat_id)
        before = self._flow_of(session)
        applied = _applied(_extras(session)) if session is not None else []
        if before is not None and update_id is not None and update_id in applied:
            if before.shown is not None:
                return Step(before, before, ())
            again, shows = flow.reshow(before)
            return Step(before, again, shows)
        if (before is None and isinstance(event, flow.Submit) and update_id is not None
                and self._owes_thanks(event, update_id)):
            # Submitted by this very update or this very button, and stopped before its thanks
            # went out (only a Skicka in submits, so no other event need look for the note).
            again, thanks = flow.thank_again(event)
            return Step(None, again, thanks)
        if update_id is not None:
            applied.append(update_id)
        after, effects = flow.step(before, event)
        if (after is not None and after.stage is flow.Stage.OVERVIEW
                and after.submit_tag is None):
            after = replace(after, submit_tag=secrets.token_urlsafe(SUBMIT_TAG_BYTES))
        for effect in effects:
            if isinstance(effect, flow.StartSession):
                if link is None:
                    raise ValueError("OpenLink needs the checked link")
                self.store.start_session(chat_id, link, effect.q.version, today=today,
                                         channel=channel, stage=flow.Stage.GREETING.value)
            elif isinstance(effect, flow.EndSession):
                if effect.reason is flow.EndReason.SUBMITTED:
                    self.store.finish_session(
                        chat_id, today=today, update_id=update_id,
                        tag=before.submit_tag if before is not None else None,
                    )
                else:
                    self.store.discard_session(chat_id)
        if after is not None and after.stage is not flow.Stage.ENDED and after != before:
            self._save_flow(chat_id, after, today, applied)
        return Step(before, after, effects)

    def _owes_thanks(self, event: flow.Submit, update_id: int) -> bool:
        if self.store.thanks_owed_for(update_id):
            return True
        # The submitting update was confirmed before its thanks (settled late) and the
        # process died: the same button tapped again finds the note by its tag.
        return event.tag is not None and self.store.claim_owed_thanks(event.tag, update_id)

    def open_with_link(self, chat_id: ChatRef, token: str, *, channel: Channel = "telegram",
                       today: date | None = None, update_id: int | None = None) -> Step:
        """Handle a person opening a survey link: start, resume, or say what is wrong."""
        existing = self.store.get_session(chat_id)
        check = self.store.check_link(token)
        problem: flow.LinkProblem | None = check.problem
        if existing is None and check.problem == "used" and check.held_by not in (None,
                                                                                   channel):
            problem = "elsewhere"
        try:
            q = get(check.enkat) if check.enkat else None
        except QuestionnaireError:
            q, problem = None, problem or "unknown"
        same = existing is not None and self.store.session_opened_with(chat_id, check.token_hash)
        event = flow.OpenLink(problem=problem, q=q, same_link=same)
        try:
            return self.handle(chat_id, event, link=check, channel=channel, today=today,
                               update_id=update_id)
        except LinkTaken:
            # Used up a moment ago by another chat or process: said as any used link is.
            used = flow.OpenLink(problem="used", q=q, same_link=False)
            return self.handle(chat_id, used, channel=channel, today=today)

    def thanked(self, update_id: int | None) -> None:
        """Note that the thanks for the survey `update_id` submitted has been sent.

        A note that cannot be removed now (the disk is full) is harmless: at worst the same
        update, delivered again, is thanked twice, and old notes are dropped as new ones come.
        """
        if update_id is not None:
            with contextlib.suppress(WriteFailed):
                self.store.thanks_sent(update_id)

    def mark_shown(self, chat_id: ChatRef, state: FlowState, *, at: int | None,
                   message_id: int | None = None, sent: bool = False) -> FlowState:
        """Record that the front end has shown `state`'s step (when, as which message).

        `sent`: the message is a new one, not an older one edited into the step.
        Saved only after the message exists: a crash before this leaves the step unshown,
        so typed text is not taken for it and nothing is edited onto an older message.
        """
        after, _ = flow.step(state, flow.WasShown(at=at, message_id=message_id, sent=sent))
        if after is None or after.stage is flow.Stage.ENDED:
            return state
        # Merged into the stored note in SQL: the applied update ids stay as the step left
        # them, and the session is not read a second time for every answer.
        patch = json.dumps(_flow_fields(after), separators=(",", ":"))
        self.store.note_shown(chat_id, flow_patch=patch, message_id=message_id)
        return after

    def _save_flow(self, chat_id: ChatRef, state: FlowState, today: date | None,
                   applied: Sequence[int] = ()) -> None:
        self.store.save_progress(
            chat_id, state.survey.answers, state.survey.current, stage=state.stage.value,
            flow=flow_extras(state, applied), today=today, remind=self.remind,
        )
