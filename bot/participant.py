"""Participant handlers: parse a Telegram update into a journey event, step, render the effects.

Every transition is decided by `questionnaires.flow`; this module only parses updates
(`on_*`), lets `SurveyService` step and store, and renders the effects as Telegram messages
(`render`). Which question an answer belongs to is decided from the stored state, never from
the button: callback data only says what was tapped.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.context import Context, answer_query, deps, prepare_chat_key, tag
from bot.roles import role_help, staff_welcome
from bot.survey import SUBMIT_TAG_BYTES, Step
from bot.texts import deltagare as t
from questionnaires import engine
from questionnaires import flow as f
from questionnaires.engine import Answer
from questionnaires.flow import FlowState
from storage import WriteFailed

log = logging.getLogger("enkatbot.deltagare")

OVERVIEW_TEXT_LIMIT = 200
SUBMIT_TAG = re.compile(rf"[A-Za-z0-9_-]{{{4 * SUBMIT_TAG_BYTES // 3}}}")
"""The tag in a Skicka in button's data: `secrets.token_urlsafe(SUBMIT_TAG_BYTES)`."""


# -- parsing ------------------------------------------------------------------------------------


def parse_callback(data: str, message_id: int | None) -> f.Event:
    """Return the journey event a survey button's callback data stands for (Forged if none)."""
    action, _, rest = data.partition(":")
    if action == "begin" and not rest:
        return f.Begin(message_id)
    if action == "a":
        item, sep, value = rest.partition(":")
        if sep and value and ":" not in value:
            return f.Tap(item, value, message_id)
    if action == "skip" and rest:
        return f.Skip(rest, message_id)
    if action == "back" and rest:
        return f.Back(None if rest == "*" else rest, message_id)
    if action == "change" and not rest:
        return f.AskChange(message_id)
    if action == "goto" and rest:
        return f.ChangeAnswer(rest, message_id)
    if action == "review" and not rest:
        return f.CancelChange(message_id)
    if action == "del" and rest in ("yes", "no"):
        return f.Confirm(rest == "yes", message_id)
    if action == "submit" and (not rest or SUBMIT_TAG.fullmatch(rest)):
        return f.Submit(message_id, rest or None)
    return f.Forged(message_id)


def parse_text(message: Message) -> f.Text:
    """Return typed text as an event, with when it was written and what it replies to."""
    reply = message.reply_to_message
    return f.Text(
        message.text or "",
        written_at=int(message.date.timestamp()),
        reply_to=reply.message_id if reply is not None else None,
        message_id=message.message_id,
    )


# -- rendering ----------------------------------------------------------------------------------


def question_text(state: FlowState, item_id: str) -> str:
    """Return the HTML text of a question message: progress line and the exact question."""
    item = state.q.item(item_id)
    prog = engine.progress(state.q, state.survey)
    head = t.question_header(prog.position, prog.total) if prog else ""
    body = f"<b>{html.escape(head)}</b>\n{html.escape(item.text)}"
    if item.scale is None:
        body += f"\n\n<i>{html.escape(t.FREE_TEXT_HINT)}</i>"
    return body


_KEYBOARDS: dict[tuple[str, int, str, bool], InlineKeyboardMarkup] = {}
"""Question keyboards already built: they depend only on the item and whether Föregående shows
(a few dozen in all), and PTB's markup objects are immutable, so one serves every chat."""


def question_keyboard(state: FlowState, item_id: str) -> InlineKeyboardMarkup:
    """Return the buttons of a question: options one per row, then skip and back."""
    first = f.is_first_question(state, item_id)
    key = (state.q.id, state.q.version, item_id, first)
    markup = _KEYBOARDS.get(key)
    if markup is None:
        markup = _KEYBOARDS[key] = _build_question_keyboard(state, item_id, first)
    return markup


def _build_question_keyboard(state: FlowState, item_id: str, first: bool) -> InlineKeyboardMarkup:
    item = state.q.item(item_id)
    rows: list[list[InlineKeyboardButton]] = []
    if item.scale is not None:
        for opt in item.scale.options:
            rows.append([InlineKeyboardButton(opt.label, callback_data=f"a:{item.id}:{opt.value}")])
    rows.append([InlineKeyboardButton(t.BUTTON_SKIP, callback_data=f"skip:{item.id}")])
    if not first:
        rows.append([InlineKeyboardButton(t.BUTTON_BACK, callback_data=f"back:{item.id}")])
    return InlineKeyboardMarkup(rows)


def answered_text(header_html: str, display: str) -> str:
    """Return a question message after it was answered: the question and the answer."""
    return f"{header_html}\n\n✓ {html.escape(t.ANSWERED_PREFIX)} <b>{html.escape(display)}</b>"


def overview_text(state: FlowState) -> str:
    """Return the HTML overview of all answers, shown before Skicka in."""
    lines = [f"<b>{html.escape(t.OVERVIEW_TITLE)}</b>", ""]
    for n, line in enumerate(engine.overview(state.q, state.survey), 1):
        shown = t.overview_answer(line)
        if len(shown) > OVERVIEW_TEXT_LIMIT:
            shown = shown[: OVERVIEW_TEXT_LIMIT - 1] + "…"
        lines.append(f"{n}. {html.escape(line.item.text)}\n   → <i>{html.escape(shown)}</i>")
    lines += ["", html.escape(t.OVERVIEW_FOOTER)]
    return "\n".join(lines)


def overview_keyboard(submit_tag: str | None = None) -> InlineKeyboardMarkup:
    """Return the overview's buttons: Skicka in (carrying `submit_tag`), Ändra, Föregående."""
    submit = f"submit:{submit_tag}" if submit_tag else "submit"
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t.BUTTON_SUBMIT, callback_data=submit)],
            [InlineKeyboardButton(t.BUTTON_CHANGE, callback_data="change")],
            [InlineKeyboardButton(t.BUTTON_BACK, callback_data="back:*")],
        ]
    )


def change_keyboard(state: FlowState) -> InlineKeyboardMarkup:
    """Return one button per answered question, to pick the answer to change."""
    rows = []
    for n, line in enumerate(engine.overview(state.q, state.survey), 1):
        label = f"{n}. {line.item.text}"
        if len(label) > 60:
            label = label[:59] + "…"
        rows.append([InlineKeyboardButton(label, callback_data=f"goto:{line.item.id}")])
    rows.append([InlineKeyboardButton(t.BUTTON_CANCEL_CHANGE, callback_data="review")])
    return InlineKeyboardMarkup(rows)


def greeting_keyboard() -> InlineKeyboardMarkup:
    """Return the greeting's one button, Börja."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(t.BUTTON_START, callback_data="begin")]])


def confirm_delete_keyboard() -> InlineKeyboardMarkup:
    """Return the /radera question's buttons: yes, delete; no, keep them."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t.BUTTON_DELETE_YES, callback_data="del:yes")],
            [InlineKeyboardButton(t.BUTTON_DELETE_NO, callback_data="del:no")],
        ]
    )


def step_message(
    state: FlowState, show: f.ShowEffect, forbund: str | None = None
) -> tuple[str, InlineKeyboardMarkup, bool]:
    """Return the text, buttons and whether the text is HTML of the step `show` asks for.

    `forbund` (ENKATBOT_FORBUND) is named in the greeting when set.
    """
    if isinstance(show, f.ShowGreeting):
        total = len(engine.asked_items(state.q, state.survey.answers))
        return t.greeting(state.q, total, forbund), greeting_keyboard(), False
    if isinstance(show, f.ShowQuestion):
        return question_text(state, show.item), question_keyboard(state, show.item), True
    if isinstance(show, f.ShowOverview):
        return overview_text(state), overview_keyboard(state.submit_tag), True
    if isinstance(show, f.ShowChangeList):
        return t.CHOOSE_CHANGE, change_keyboard(state), False
    return t.CONFIRM_DELETE, confirm_delete_keyboard(), False


def answer_display(state: FlowState, item_id: str, value: Answer) -> str:
    """Return an answer as the ✓ line shows it: the option's label, a text excerpt, or skipped."""
    item = state.q.item(item_id)
    if value is None:
        return t.SKIPPED
    if item.scale is not None:
        opt = item.scale.option(value)
        return opt.label if opt else value
    return value if len(value) <= OVERVIEW_TEXT_LIMIT else value[: OVERVIEW_TEXT_LIMIT - 1] + "…"


async def _strip_buttons(context: Context, chat_id: int, message_id: int | None) -> None:
    if message_id is None:
        return
    try:
        await context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
    except BadRequest:
        pass  # already without buttons, or too old to edit: nothing to tidy


async def _edit_plain(context: Context, chat_id: int, message_id: int | None, text: str) -> None:
    if message_id is None:
        await context.bot.send_message(chat_id, text)
        return
    try:
        await context.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
    except BadRequest:
        await context.bot.send_message(chat_id, text)


async def _mark_answered(context: Context, chat_id: int, before: FlowState,
                         mark: f.MarkAnswered) -> None:
    item = before.q.item(mark.item)
    prog = engine.progress(before.q, before.survey)
    head = f"<b>{html.escape(t.question_header(prog.position, prog.total))}</b>\n" if prog else ""
    text = answered_text(head + html.escape(item.text),
                         answer_display(before, mark.item, mark.value))
    try:
        await context.bot.edit_message_text(
            text, chat_id=chat_id, message_id=mark.message_id, parse_mode=ParseMode.HTML,
            reply_markup=None,
        )
    except BadRequest:
        pass  # the answer is stored; a message too old to edit only loses its check mark


async def _show_step(context: Context, chat_id: int, state: FlowState, show: f.ShowEffect
                     ) -> Message:
    text, markup, is_html = step_message(state, show, deps(context).settings.forbund)
    mode = ParseMode.HTML if is_html else None
    if isinstance(show, f.ShowChangeList) and show.message_id is not None:
        # Ändra ett svar turns the overview itself into the list of questions.
        try:
            edited = await context.bot.edit_message_text(
                text, chat_id=chat_id, message_id=show.message_id, reply_markup=markup,
                parse_mode=mode,
            )
            if isinstance(edited, Message):
                return edited
        except BadRequest:
            pass  # too old to edit: send the list as a new message
    return await context.bot.send_message(chat_id, text, parse_mode=mode, reply_markup=markup)


async def say(update: Update | None, context: Context, chat_id: int, notes: list[f.Note]
              ) -> None:
    """Send kind sentences as one message (someone without a survey who is staff: welcome)."""
    if notes == [f.Note.NO_SURVEY] and update is not None and await staff_welcome(update, context):
        return
    await context.bot.send_message(chat_id, "\n\n".join(t.note_text(n) for n in notes))


async def render(update: Update | None, context: Context, chat_id: int, step: Step) -> None:
    """Render a step's effects in their order: words, edits, and the step now on the screen.

    The message of the step that was on the screen loses its buttons before a new step is
    sent, unless an effect already edited it. A new step is recorded as shown (when, which
    message) only once its message exists.
    """
    before, state = step.before, step.after
    old = before.shown.message_id if before is not None and before.shown is not None else None
    tapped = _tapped_message(update)
    edited: set[int | None] = {None}
    notes: list[f.Note] = []
    reuse: int | None = None
    for index, effect in enumerate(step.effects):
        if not isinstance(effect, f.Say) and notes:
            await _say_owing_thanks(update, context, chat_id, notes)
            notes = []
        if isinstance(effect, f.Say):
            if effect.note is not f.Note.OLD_BUTTON or tapped is None:
                notes.append(effect.note)  # (on a tapped button it is the tap's own answer)
        elif isinstance(effect, f.MarkAnswered) and before is not None:
            if effect.message_id == tapped and _step_follows(step.effects, index):
                reuse = _reused(tapped, old, edited)
                if reuse != tapped:
                    await _mark_answered(context, chat_id, before, effect)
            else:
                await _mark_answered(context, chat_id, before, effect)
            edited.add(effect.message_id)
        elif isinstance(effect, f.Retire):
            if effect.note is not None:
                await _edit_plain(context, chat_id, effect.message_id, t.note_text(effect.note))
            elif effect.message_id == tapped and _step_follows(step.effects, index):
                reuse = _reused(tapped, old, edited)
                if reuse != tapped:
                    await _strip_buttons(context, chat_id, effect.message_id)
            elif effect.message_id not in edited:
                await _strip_buttons(context, chat_id, effect.message_id)
            edited.add(effect.message_id)
        elif isinstance(effect, f.ShowEffect) and state is not None:
            in_place = isinstance(effect, f.ShowChangeList) and effect.message_id is not None
            if reuse is not None and not in_place:
                msg = await _edit_into_step(context, chat_id, state, effect, reuse)
                reuse = None
            else:
                if old not in edited and not in_place:
                    await _strip_buttons(context, chat_id, old)
                    edited.add(old)
                msg = await _show_step(context, chat_id, state, effect)
            state = _mark_shown(context, chat_id, state, msg)
        else:
            _log_storage(chat_id, effect, state)
    if notes:
        await _say_owing_thanks(update, context, chat_id, notes)


def _reused(tapped: int | None, old: int | None, edited: set[int | None]) -> int | None:
    # The next step goes into the tapped message, unless the step is on the screen in a newer
    # one too (its buttons were not taken off an older message showing the same question, a
    # strip lost at a crash): then into the newer one, where the person reads on, and the
    # tapped one is tidied. Otherwise the newest message with buttons would be a step behind.
    if tapped is not None and old is not None and old > tapped:
        edited.add(old)
        return old
    return tapped


def _tapped_message(update: Update | None) -> int | None:
    query = update.callback_query if update is not None else None
    if query is None or query.message is None:
        return None
    return query.message.message_id


def _step_follows(effects: tuple[f.Effect, ...], index: int) -> bool:
    """Return True when a step is shown after effects[index] with no words said between."""
    for effect in effects[index + 1:]:
        if isinstance(effect, f.ShowEffect):
            return True
        if isinstance(effect, (f.Say, f.Retire, f.MarkAnswered)):
            return False
    return False


async def _edit_into_step(context: Context, chat_id: int, state: FlowState,
                          show: f.ShowEffect, message_id: int) -> Message:
    # One message per survey for taps: the tapped question becomes the next step. An edit is
    # not under Telegram's limit on sent messages (about 30 a second for the whole bot), and
    # the phone keeps no trail of answers. A message that cannot be edited any more (too old)
    # loses its buttons and the step comes as a new message.
    text, markup, is_html = step_message(state, show, deps(context).settings.forbund)
    try:
        edited = await context.bot.edit_message_text(
            text, chat_id=chat_id, message_id=message_id, reply_markup=markup,
            parse_mode=ParseMode.HTML if is_html else None,
        )
        if isinstance(edited, Message):
            return edited
    except BadRequest:
        pass
    await _strip_buttons(context, chat_id, message_id)
    return await _show_step(context, chat_id, state, show)


async def _say_owing_thanks(update: Update | None, context: Context, chat_id: int,
                            notes: list[f.Note]) -> None:
    submitted_by = update.update_id if update is not None else None
    try:
        await say(update, context, chat_id, notes)
    except Exception:
        if f.Note.THANKS in notes:
            # Submitted and stored: the thanks is sent as soon as sending works again.
            context.bot_data.owed_thanks[chat_id] = submitted_by
        raise
    if f.Note.THANKS in notes:
        deps(context).service.thanked(submitted_by)


def _mark_shown(context: Context, chat_id: int, state: FlowState, msg: Message) -> FlowState:
    try:
        # An edited message was shown when it was edited: text typed before that was typed
        # for the question it showed then.
        shown_at = msg.edit_date or msg.date
        return deps(context).service.mark_shown(
            chat_id, state, at=int(shown_at.timestamp()), message_id=msg.message_id,
            sent=msg.edit_date is None,
        )
    except WriteFailed:
        # The step's own change is already committed; only the note of what is on the
        # screen is lost. Saying "not saved" here would be untrue, so the step stands as
        # unshown: typed text is then refused kindly and the step shown again.
        log.warning("event=shown_not_saved chat=%s", tag(chat_id))
        return state


def _log_storage(chat_id: int, effect: f.Effect, state: FlowState | None) -> None:
    if isinstance(effect, f.EndSession):
        event = "submitted" if effect.reason is f.EndReason.SUBMITTED else "discarded"
        enkat = state.q.id if state is not None else "-"
        log.info("event=%s chat=%s enkat=%s", event, tag(chat_id), enkat)


def _applied(update: Update, context: Context, step: Step) -> None:
    # Committed, and the step is stored as not yet shown: after a crash the bot shows it by
    # itself, so the update need not come again. A submission is not (its thanks would be
    # lost with the session), nor a reply that changes nothing.
    after = step.after
    if after is not None and after.stage is not f.Stage.ENDED and any(
        isinstance(e, f.ShowEffect) for e in step.effects
    ):
        context.bot_data.on_applied(update.update_id)


def _stepped(update: Update, context: Context, chat_id: int, event: f.Event) -> Step:
    step = deps(context).service.handle(chat_id, event, update_id=update.update_id)
    if isinstance(event, f.Forged) or any(
        isinstance(e, f.Say) and e.note in (f.Note.STALE_BUTTON, f.Note.OLD_BUTTON)
        for e in step.effects
    ):
        log.info("event=stale_button chat=%s", tag(chat_id))
    _applied(update, context, step)
    return step


async def drive(update: Update, context: Context, event: f.Event) -> None:
    """Step the chat's journey with `event`, store what it says, render what it shows."""
    chat = update.effective_chat
    assert chat is not None
    await prepare_chat_key(context, chat.id)
    await render(update, context, chat.id, _stepped(update, context, chat.id, event))


async def show_current_step(context: Context, chat_id: int) -> None:
    """Show the chat's current step again unless it is known to be on the screen.

    The one way the bot shows a step on its own (after a failed send, a replayed update, a
    restart mid-send); rendering is `render`'s, as for every step. Raises what sending
    raises; the chat then stays owed.
    """
    bot_data = context.bot_data
    if chat_id in bot_data.owed_thanks:
        await context.bot.send_message(chat_id, t.note_text(f.Note.THANKS))
        deps(context).service.thanked(bot_data.owed_thanks.pop(chat_id))
    await prepare_chat_key(context, chat_id)
    state = deps(context).service.load_flow(chat_id)
    if state is not None and state.shown is None:
        after, effects = f.reshow(state)
        if effects:
            await render(None, context, chat_id, Step(state, after, effects))
            log.info("event=step_shown_again chat=%s", tag(chat_id))
    bot_data.owed_steps.discard(chat_id)


async def show_owed_step(update: Update, context: Context) -> None:
    """After any update of a chat owed its step: show the step (next update at the latest)."""
    chat = update.effective_chat
    if chat is None:
        return
    bot_data = context.bot_data
    if chat.id in bot_data.owed_steps or chat.id in bot_data.owed_thanks:
        await show_current_step(context, chat.id)


# -- handlers -----------------------------------------------------------------------------------


async def on_start(update: Update, context: Context) -> None:
    """Open a survey link (/start <token>), or resume an unfinished survey (/start)."""
    chat = update.effective_chat
    assert chat is not None
    token = context.args[0] if context.args else None
    if token is None:
        await drive(update, context, f.Restart())
        return
    await prepare_chat_key(context, chat.id)
    step = deps(context).service.open_with_link(chat.id, token, update_id=update.update_id)
    log.info("event=link_opened chat=%s result=%s", tag(chat.id), _opened(step))
    _applied(update, context, step)
    await render(update, context, chat.id, step)


def _opened(step: Step) -> str:
    for effect in step.effects:
        if isinstance(effect, f.StartSession):
            return "started"
        if isinstance(effect, f.Say):
            return effect.note.value
    return "shown"


async def on_callback(update: Update, context: Context) -> None:
    """Handle a tap on a survey button."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    tapped = query.message.message_id if query.message else None
    await prepare_chat_key(context, chat.id)
    step = _stepped(update, context, chat.id, parse_callback(query.data or "", tapped))
    # Callback queries must be answered, or the phone shows a spinner on the button. The
    # answer goes out while the step is rendered: one round trip less per tap. A tap on an
    # older message is told so on the button itself, with the current step left as it is.
    old = f.Say(f.Note.OLD_BUTTON) in step.effects
    answering = asyncio.create_task(answer_query(query, t.OLD_BUTTON if old else None))
    try:
        await render(update, context, chat.id, step)
    finally:
        await answering


TELEGRAM_MAX_MESSAGE = 4096
SPLIT_WINDOW_SECONDS = 2


def _remember_if_split(context: Context, message: Message) -> None:
    # Telegram apps send a paste longer than 4096 characters as several messages, seconds
    # apart. The answer is already cut to MAX_TEXT_LENGTH, so the rest is not an answer to
    # the next question. Kept in memory only (a restart merely forgets the window), and not
    # in PTB's chat_data, whose entries would outlive every participant.
    if len(message.text or "") >= TELEGRAM_MAX_MESSAGE:
        windows = context.bot_data.split_until
        now = message.date.timestamp()
        for chat_id in [c for c, until in windows.items() if until < now]:
            del windows[chat_id]
        windows[message.chat.id] = now + SPLIT_WINDOW_SECONDS


def _is_continuation(context: Context, message: Message) -> bool:
    until = context.bot_data.split_until.pop(message.chat.id, None)
    if until is None or message.date.timestamp() > until:
        return False
    _remember_if_split(context, message)
    return True


async def on_text(update: Update, context: Context) -> None:
    """Handle typed text: a free-text answer, or a nudge back to what is on the screen."""
    chat = update.effective_chat
    message = update.effective_message
    assert chat is not None and message is not None
    if _is_continuation(context, message):
        log.info("event=split_text_continuation_dropped chat=%s", tag(chat.id))
        return
    await prepare_chat_key(context, chat.id)
    step = deps(context).service.handle(chat.id, parse_text(message),
                                        update_id=update.update_id)
    if any(isinstance(e, f.StoreAnswer) for e in step.effects):
        _remember_if_split(context, message)
    _applied(update, context, step)
    await render(update, context, chat.id, step)


async def on_other_message(update: Update, context: Context) -> None:
    """Handle stickers, photos, voice and anything else that is not text: a kind nudge."""
    await drive(update, context, f.Other())


async def on_edited(update: Update, context: Context) -> None:
    """Handle an edited message: edits are not answers; say so once, kindly."""
    await drive(update, context, f.Edited())


async def on_pause(update: Update, context: Context) -> None:
    """/avbryt: pause; everything is already saved."""
    await drive(update, context, f.Pause())


async def on_delete(update: Update, context: Context) -> None:
    """/radera: ask before deleting the unfinished answers."""
    await drive(update, context, f.AskDelete())


async def on_unknown_command(update: Update, context: Context) -> None:
    """Answer an unknown /command: show the survey's step again if there is one, else explain."""
    await drive(update, context, f.UnknownCommand())


async def on_help(update: Update, context: Context) -> None:
    """/hjalp: how the survey works (and, for staff, their commands)."""
    message = update.effective_message
    assert message is not None
    extra = role_help(update, context)
    await message.reply_text(t.HELP + (f"\n\n{extra}" if extra else ""))


async def on_privacy(update: Update, context: Context) -> None:
    """/integritet: how answers are handled, in plain words."""
    message = update.effective_message
    assert message is not None
    settings = deps(context).settings
    await message.reply_text(t.privacy(settings.forbund, settings.kontakt))


async def send_reminder(context: Context, chat_id: int) -> None:
    """Send the one gentle reminder about an unfinished survey."""
    try:
        await context.bot.send_message(chat_id, t.REMINDER)
        log.info("event=reminder_sent chat=%s", tag(chat_id))
    except (Forbidden, BadRequest):
        log.info("event=reminder_undeliverable chat=%s", tag(chat_id))


async def on_non_private(update: Update, context: Context) -> None:
    """Anything from a group or channel: say the bot is private-only, and leave."""
    chat = update.effective_chat
    if chat is None:
        return
    log.info("event=left_group chat_type=%s", chat.type)
    if chat.type in ("group", "supergroup"):
        try:
            await context.bot.send_message(chat.id, t.PRIVATE_ONLY)
        except (Forbidden, BadRequest):
            pass  # we may already have been removed
    with contextlib.suppress(Forbidden, BadRequest):
        await context.bot.leave_chat(chat.id)
