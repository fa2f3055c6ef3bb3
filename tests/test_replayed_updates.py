"""Exactly-once effects of updates delivered more than once, against a real SQLite file.

Telegram sends again every update the bot had not confirmed when it died (bot.delivery), so
the same tap or text can reach `SurveyService.handle` twice. The second time it changes
nothing and, at most, shows the current step again. The chats whose step is not known to be
on the screen are found again after a restart (`Store.unshown_chats`).
"""

from __future__ import annotations

import json

import pytest

from bot.survey import APPLIED_KEPT, SurveyService
from questionnaires import flow
from storage import Store

pytestmark = pytest.mark.storage

CHAT = 730_010_001
INSATS = "Steg framåt"


def opened(store: Store, chat: int = CHAT) -> SurveyService:
    """Open a deltagare-pagaende link for `chat`, through Börja, with question 1 shown."""
    store.add_insats(INSATS)
    service = SurveyService(store)
    token = store.create_links(INSATS, "deltagare-pagaende")[0]
    step = service.open_with_link(chat, token, update_id=1)
    assert step.after is not None
    service.mark_shown(chat, step.after, at=10, message_id=100)
    step = service.handle(chat, flow.Begin(100), update_id=2)
    assert step.after is not None and step.after.item == "pagaende-kon"
    service.mark_shown(chat, step.after, at=11, message_id=101)
    return service


def test_a_replayed_tap_changes_nothing_and_says_nothing_when_its_step_is_shown(store):
    service = opened(store)
    first = service.handle(CHAT, flow.Tap("pagaende-kon", "man", 101), update_id=3)
    assert first.after is not None
    service.mark_shown(CHAT, first.after, at=12, message_id=102)
    before = store.get_session(CHAT)

    again = service.handle(CHAT, flow.Tap("pagaende-kon", "man", 101), update_id=3)
    assert again.effects == ()
    assert store.get_session(CHAT) == before
    # The same tap as a new update is one on an older message: a word on that button, and
    # the step on the screen (message 102) is left as it is.
    fresh = service.handle(CHAT, flow.Tap("pagaende-kon", "man", 101), update_id=4)
    assert fresh.effects == (flow.Retire(101), flow.Say(flow.Note.OLD_BUTTON))


def test_a_replayed_text_whose_next_step_never_reached_the_screen_shows_it_again(store):
    service = opened(store)
    state = service.load_flow(CHAT)
    assert state is not None
    # Walk to the first free-text question, each step shown.
    update = 10
    while state.item is not None and state.q.item(state.item).scale is not None:
        item = state.q.item(state.item)
        assert item.scale is not None
        tap = flow.Tap(item.id, item.scale.options[0].value)
        step = service.handle(CHAT, tap, update_id=update)
        assert step.after is not None
        state = service.mark_shown(CHAT, step.after, at=20 + update, message_id=200 + update)
        update += 1
    text_item = state.item
    text = flow.Text("Ett jobb att gå till", written_at=10_000)
    stored = service.handle(CHAT, text, update_id=99)
    assert any(isinstance(e, flow.StoreAnswer) for e in stored.effects)
    assert store.unshown_chats() == [CHAT]  # the process died before the next question showed

    again = service.handle(CHAT, text, update_id=99)
    assert [type(e) for e in again.effects] == [flow.ShowQuestion]
    session = store.get_session(CHAT)
    assert session is not None and session.answers[text_item] == "Ett jobb att gå till"
    assert again.after is not None
    service.mark_shown(CHAT, again.after, at=30_000, message_id=999)
    assert store.unshown_chats() == []


def test_only_the_last_applied_updates_are_remembered_and_paused_surveys_are_not_owed(store):
    service = opened(store)
    for n in range(100, 100 + APPLIED_KEPT + 4):
        service.handle(CHAT, flow.Pause(), update_id=n)
        service.handle(CHAT, flow.Restart(), update_id=n + 1000)
    session = store.get_session(CHAT)
    assert session is not None and session.flow is not None
    applied = json.loads(session.flow)["applied"]
    assert len(applied) == APPLIED_KEPT and 100 not in applied  # the oldest are forgotten
    service.handle(CHAT, flow.Pause(), update_id=5000)
    assert store.unshown_chats() == []  # paused: nothing to show until the person is back


def test_noting_a_step_shown_keeps_the_replay_memory_and_mends_a_damaged_note(store):
    service = opened(store)
    tapped = service.handle(CHAT, flow.Tap("pagaende-kon", "man", 101), update_id=3)
    assert tapped.after is not None
    shown = service.mark_shown(CHAT, tapped.after, at=12, message_id=102)
    # What is on the screen survives a restart, and so does which updates were applied: the
    # same tap delivered again changes nothing.
    restored = SurveyService(store).load_flow(CHAT)
    assert restored is not None and restored.shown == shown.shown
    assert store.get_session(CHAT).message_id == 102
    assert SurveyService(store).handle(
        CHAT, flow.Tap("pagaende-kon", "man", 101), update_id=3).effects == ()

    store.update_session(CHAT, flow="{not json")
    damaged = SurveyService(store).load_flow(CHAT)
    assert damaged is not None and damaged.shown is None  # shown again, nothing else lost
    again = service.mark_shown(CHAT, damaged, at=13, message_id=103)
    mended = SurveyService(store).load_flow(CHAT)
    assert mended is not None and mended.shown == again.shown is not None
    assert mended.survey.answers == tapped.after.survey.answers


def test_noting_a_step_shown_for_a_chat_without_a_survey_writes_nothing(store):
    service = opened(store)
    state = service.load_flow(CHAT)
    assert state is not None
    store.discard_session(CHAT)
    service.mark_shown(CHAT, state, at=14, message_id=104)
    assert store.get_session(CHAT) is None
    assert store.note_shown(CHAT, flow_patch="{}") is False


def test_a_note_written_before_message_ids_were_kept_is_still_read(store):
    # Sessions begun under the previous release keep `asked` and `shown` without `sent_id`.
    opened(store)
    store.update_session(CHAT, flow=json.dumps({
        "shown": None, "asked": ["pagaende-kon", 11], "applied": [1, 2]}))
    state = SurveyService(store).load_flow(CHAT)
    assert state is not None and state.asked == flow.Asked("pagaende-kon", 11, None)
    store.update_session(CHAT, flow=json.dumps({
        "shown": ["question", "pagaende-kon", 11, 101], "asked": None, "applied": [1, 2]}))
    state = SurveyService(store).load_flow(CHAT)
    assert state is not None and state.shown == flow.Shown(
        flow.Stage.QUESTION, "pagaende-kon", 11, 101, None)


def test_only_the_note_of_what_is_shown_skips_the_wait_for_the_disk(store):
    # What is on the screen is committed without an fsync (a power cut only has the step
    # shown again); every answer after it is still written through to the disk.
    service = opened(store)
    synchronous = "PRAGMA synchronous"
    assert store.db.execute(synchronous).fetchone() == (2,)  # FULL
    tapped = service.handle(CHAT, flow.Tap("pagaende-kon", "man", 101), update_id=3)
    assert tapped.after is not None
    service.mark_shown(CHAT, tapped.after, at=12, message_id=102)
    assert store.db.execute(synchronous).fetchone() == (2,)
    store.close()
    reopened = Store(store.path)
    try:
        restored = SurveyService(reopened).load_flow(CHAT)
        assert restored is not None and restored.shown is not None
        assert restored.shown.message_id == 102
        assert dict(reopened.get_session(CHAT).answers) == {"pagaende-kon": "man"}
    finally:
        reopened.close()
