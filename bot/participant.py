"""Participant handlers: turn a Telegram update into a survey step and the step into messages.

Which question an answer belongs to is decided from the stored session, never from the button:
callback data only says what was tapped, and anything that does not fit the current question
is treated as a stale or forged tap.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import html
import logging
import secrets
from dataclasses import dataclass

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from bot.config import Settings
from bot.survey import Current, SurveyService
from bot.texts import deltagare as t
from questionnaires import engine
from questionnaires.engine import InvalidAnswer
from questionnaires.model import Item
from questionnaires.textclean import clean_text

log = logging.getLogger("enkatbot.deltagare")

OVERVIEW_TEXT_LIMIT = 200


@dataclass(frozen=True)
class Deps:
    """What handlers need, kept in application.bot_data under 'deps'."""

    service: SurveyService
    settings: Settings


def deps(context: ContextTypes.DEFAULT_TYPE) -> Deps:
    """Return the handlers' dependencies stored at start-up."""
    found = context.application.bot_data["deps"]
    if not isinstance(found, Deps):
        raise RuntimeError("build_application stores the handlers' Deps in bot_data")
    return found


_TAG_KEY = secrets.token_bytes(32)
"""Key of the chat tags in log lines: random per process and never stored, so a log cannot be
reversed to chat ids even by someone holding the database secret (a restart makes new tags)."""


def tag(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> str:
    """Return a short tag for a chat, for log lines: the same within one run, never reversible."""
    return hmac.new(_TAG_KEY, str(chat_id).encode(), hashlib.sha256).hexdigest()[:10]


# -- rendering ----------------------------------------------------------------------------------


def question_text(cur: Current, item: Item) -> str:
    """Return the HTML text of a question message: progress line and the exact question."""
    prog = engine.progress(cur.q, cur.state)
    head = t.question_header(prog.position, prog.total) if prog else ""
    body = f"<b>{html.escape(head)}</b>\n{html.escape(item.text)}"
    if item.scale is None:
        body += f"\n\n<i>{html.escape(t.FREE_TEXT_HINT)}</i>"
    return body


def question_keyboard(cur: Current, item: Item) -> InlineKeyboardMarkup:
    """Return the buttons of a question: options one per row, then skip and back."""
    rows: list[list[InlineKeyboardButton]] = []
    if item.scale is not None:
        for opt in item.scale.options:
            rows.append([InlineKeyboardButton(opt.label, callback_data=f"a:{item.id}:{opt.value}")])
    rows.append([InlineKeyboardButton(t.BUTTON_SKIP, callback_data=f"skip:{item.id}")])
    first = engine.applicable_items(cur.q, cur.state.answers)[0].id == item.id
    if not first:
        rows.append([InlineKeyboardButton(t.BUTTON_BACK, callback_data=f"back:{item.id}")])
    return InlineKeyboardMarkup(rows)


def answered_text(header_html: str, display: str) -> str:
    """Return a question message after it was answered: the question and the answer."""
    return f"{header_html}\n\n✓ {html.escape(t.ANSWERED_PREFIX)} <b>{html.escape(display)}</b>"


def overview_text(cur: Current) -> str:
    """Return the HTML overview of all answers, shown before Skicka in."""
    lines = [f"<b>{html.escape(t.OVERVIEW_TITLE)}</b>", ""]
    for n, line in enumerate(engine.overview(cur.q, cur.state), 1):
        shown = t.overview_answer(line)
        if len(shown) > OVERVIEW_TEXT_LIMIT:
            shown = shown[: OVERVIEW_TEXT_LIMIT - 1] + "…"
        lines.append(f"{n}. {html.escape(line.item.text)}\n   → <i>{html.escape(shown)}</i>")
    lines += ["", html.escape(t.OVERVIEW_FOOTER)]
    return "\n".join(lines)


def overview_keyboard() -> InlineKeyboardMarkup:
    """Return the overview's buttons: Skicka in, Ändra ett svar, Föregående."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t.BUTTON_SUBMIT, callback_data="submit")],
            [InlineKeyboardButton(t.BUTTON_CHANGE, callback_data="change")],
            [InlineKeyboardButton(t.BUTTON_BACK, callback_data="back:*")],
        ]
    )


def change_keyboard(cur: Current) -> InlineKeyboardMarkup:
    """Return one button per answered question, to pick the answer to change."""
    rows = []
    for n, line in enumerate(engine.overview(cur.q, cur.state), 1):
        label = f"{n}. {line.item.text}"
        if len(label) > 60:
            label = label[:59] + "…"
        rows.append([InlineKeyboardButton(label, callback_data=f"goto:{line.item.id}")])
    rows.append([InlineKeyboardButton(t.BUTTON_CANCEL_CHANGE, callback_data="review")])
    return InlineKeyboardMarkup(rows)


# -- sending ------------------------------------------------------------------------------------


async def _strip_buttons(context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int | None
                         ) -> None:
    if message_id is None:
        return
    try:
        await context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
    except BadRequest:
        pass  # already without buttons, or too old to edit: nothing to tidy


async def show(context: ContextTypes.DEFAULT_TYPE, chat_id: int, cur: Current,
               note: str | None = None, *, tidy_old: bool = True) -> None:
    """Send what the participant should see now: greeting, question, or overview.

    The message that showed the previous step loses its buttons first, unless the caller
    already edited it (`tidy_old=False`): a second edit would only be refused by Telegram.
    """
    svc = deps(context).service
    if cur.stage == "paused":
        cur = svc.set_stage(chat_id, cur, "active")  # showing the question again resumes
    if note:
        await context.bot.send_message(chat_id, note)
    if tidy_old:
        await _strip_buttons(context, chat_id, cur.message_id)
    if cur.stage == "greeting":
        total = len(engine.asked_items(cur.q, cur.state.answers))
        msg = await context.bot.send_message(
            chat_id,
            t.greeting(cur.q, total),
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton(t.BUTTON_START, callback_data="begin")]]
            ),
        )
    elif cur.stage == "confirm_delete":
        msg = await context.bot.send_message(
            chat_id,
            t.CONFIRM_DELETE,
            reply_markup=InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(t.BUTTON_DELETE_YES, callback_data="del:yes")],
                    [InlineKeyboardButton(t.BUTTON_DELETE_NO, callback_data="del:no")],
                ]
            ),
        )
    elif cur.item is None:
        msg = await context.bot.send_message(
            chat_id, overview_text(cur), parse_mode=ParseMode.HTML,
            reply_markup=overview_keyboard(),
        )
    else:
        msg = await context.bot.send_message(
            chat_id, question_text(cur, cur.item), parse_mode=ParseMode.HTML,
            reply_markup=question_keyboard(cur, cur.item),
        )
    svc.remember_message(chat_id, msg.message_id)


async def _mark_answered(context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int | None,
                         before: Current, item: Item, value: str | None) -> None:
    if message_id is None:
        return
    if value is None:
        display = t.SKIPPED
    elif item.scale is not None:
        opt = item.scale.option(value)
        display = opt.label if opt else value
    else:
        display = value if len(value) <= OVERVIEW_TEXT_LIMIT else value[:199] + "…"
    prog = engine.progress(before.q, before.state)
    head = f"<b>{html.escape(t.question_header(prog.position, prog.total))}</b>\n" if prog else ""
    text = answered_text(head + html.escape(item.text), display)
    try:
        await context.bot.edit_message_text(
            text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML,
            reply_markup=None,
        )
    except BadRequest:
        pass  # the answer is stored; a message too old to edit only loses its check mark


async def answer_query(query: CallbackQuery, text: str | None = None,
                       show_alert: bool = False) -> None:
    """Answer a button tap so the phone stops its spinner; a too-old query is no error.

    Telegram refuses to answer a query after a short time, and every tap made while the bot
    was down is that old when it comes back: the tap itself must still count.
    """
    try:
        await query.answer(text, show_alert=show_alert)
    except BadRequest:
        log.info("event=callback_too_old")


# -- handlers -----------------------------------------------------------------------------------


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Open a survey link (/start <token>), or resume an unfinished survey (/start)."""
    chat = update.effective_chat
    assert chat is not None and update.effective_message is not None
    svc = deps(context).service
    token = context.args[0] if context.args else None
    if token and token.startswith("inv_"):
        from bot.staff import redeem_invite

        await redeem_invite(update, context, token)
        return
    if token is None:
        cur = svc.load(chat.id)
        if cur is None:
            from bot.staff import staff_welcome

            if not await staff_welcome(update, context):
                await update.effective_message.reply_text(t.NO_LINK)
            return
        await show(context, chat.id, cur, t.WELCOME_BACK)
        return
    opened = svc.open_link(chat.id, token)
    log.info("event=link_opened chat=%s result=%s", tag(context, chat.id), opened.kind)
    if opened.current is None:
        await update.effective_message.reply_text(t.LINK_PROBLEMS[opened.kind])
        return
    note = {"resumed": t.WELCOME_BACK, "other_in_progress": t.ALREADY_STARTED_OTHER}.get(
        opened.kind
    )
    await show(context, chat.id, opened.current, note)


async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Handle a tap on a survey button."""
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and chat is not None
    # Callback queries must be answered, or the phone shows a spinner on the button.
    await answer_query(query)
    svc = deps(context).service
    data = query.data or ""
    cur = svc.load(chat.id)
    if cur is None:
        await _strip_buttons(context, chat.id, query.message.message_id if query.message else None)
        await context.bot.send_message(chat.id, t.BUTTON_OF_ENDED_SURVEY)
        return
    action, _, rest = data.partition(":")
    tapped = query.message.message_id if query.message else None
    item = cur.item

    async def stale() -> None:
        # The survey as it stands when called (cur is rebound below, never to None).
        assert cur is not None
        log.info("event=stale_button chat=%s", tag(context, chat.id))
        if tapped is not None and tapped != cur.message_id:
            await _strip_buttons(context, chat.id, tapped)
        await show(context, chat.id, cur, t.STALE_BUTTON)

    if cur.stage == "greeting":
        if action != "begin":
            await stale()
            return
        cur = svc.begin(chat.id, cur)
        await _strip_buttons(context, chat.id, tapped)
        await show(context, chat.id, cur, tidy_old=False)
        return
    if cur.stage == "confirm_delete":
        if action != "del" or rest not in ("yes", "no"):
            await stale()
            return
        if rest == "yes":
            svc.discard(chat.id)
            log.info("event=discarded chat=%s", tag(context, chat.id))
            await _edit_plain(context, chat.id, tapped, t.DELETED)
            return
        cur = svc.set_stage(chat.id, cur, "active")
        await _edit_plain(context, chat.id, tapped, t.NOT_DELETED)
        await show(context, chat.id, cur, tidy_old=False)
        return

    if action in ("a", "skip"):
        item_id, _, value = rest.partition(":")
        if item is None or item_id != item.id:
            await stale()
            return
        answer_value: str | None = None
        if action == "a":
            if item.scale is None or item.scale.option(value) is None:
                await stale()
                return
            answer_value = value
        before = cur
        cur = svc.answer(chat.id, cur, answer_value)
        await _mark_answered(context, chat.id, tapped, before, item, answer_value)
        await show(context, chat.id, cur, tidy_old=False)
        return
    if action == "back":
        expected = item.id if item is not None else "*"
        if rest != expected:
            await stale()
            return
        before_id = cur.state.current
        cur = svc.back(chat.id, cur)
        if cur.state.current == before_id and item is not None:
            await context.bot.send_message(chat.id, t.FIRST_QUESTION)
            return
        await _strip_buttons(context, chat.id, tapped)
        await show(context, chat.id, cur, tidy_old=False)
        return
    if item is not None:
        await stale()
        return
    # The overview is showing.
    if action == "submit":
        svc.submit(chat.id)
        log.info("event=submitted chat=%s enkat=%s", tag(context, chat.id), cur.q.id)
        await _strip_buttons(context, chat.id, tapped)
        await context.bot.send_message(chat.id, t.THANKS)
    elif action == "change":
        await _edit_markup(context, chat.id, tapped, t.CHOOSE_CHANGE, change_keyboard(cur))
    elif action == "review":
        await _strip_buttons(context, chat.id, tapped)
        await show(context, chat.id, cur, tidy_old=False)
    elif action == "goto":
        try:
            cur = svc.goto(chat.id, cur, rest)
        except InvalidAnswer:
            await stale()
            return
        await _strip_buttons(context, chat.id, tapped)
        await show(context, chat.id, cur, tidy_old=False)
    else:
        await stale()


async def _edit_plain(context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int | None,
                      text: str) -> None:
    if message_id is None:
        await context.bot.send_message(chat_id, text)
        return
    try:
        await context.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
    except BadRequest:
        await context.bot.send_message(chat_id, text)


async def _edit_markup(context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int | None,
                       text: str, markup: InlineKeyboardMarkup) -> None:
    if message_id is not None:
        try:
            await context.bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
            return
        except BadRequest:
            pass
    msg = await context.bot.send_message(chat_id, text, reply_markup=markup)
    deps(context).service.remember_message(chat_id, msg.message_id)


TELEGRAM_MAX_MESSAGE = 4096
SPLIT_WINDOW_SECONDS = 2


def _remember_if_split(context: ContextTypes.DEFAULT_TYPE, message: Message) -> None:
    # Telegram apps send a paste longer than 4096 characters as several messages, seconds
    # apart. The answer is already cut to MAX_TEXT_LENGTH, so the rest is not an answer to
    # the next question. Kept in memory only: a restart merely forgets the window.
    if len(message.text or "") >= TELEGRAM_MAX_MESSAGE and context.chat_data is not None:
        context.chat_data["split_until"] = message.date.timestamp() + SPLIT_WINDOW_SECONDS


def _is_continuation(context: ContextTypes.DEFAULT_TYPE, message: Message) -> bool:
    if context.chat_data is None:
        return False
    until = context.chat_data.get("split_until")
    if until is None:
        return False
    if message.date.timestamp() <= until:
        context.chat_data["split_until"] = (
            message.date.timestamp() + SPLIT_WINDOW_SECONDS
            if len(message.text or "") >= TELEGRAM_MAX_MESSAGE else None
        )
        return True
    context.chat_data.pop("split_until", None)
    return False


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Handle typed text: a free-text answer, or a nudge back to the buttons."""
    chat = update.effective_chat
    message = update.effective_message
    assert chat is not None and message is not None
    if _is_continuation(context, message):
        log.info("event=split_text_continuation_dropped chat=%s", tag(context, chat.id))
        return
    svc = deps(context).service
    cur = svc.load(chat.id)
    if cur is None:
        from bot.staff import staff_welcome

        if not await staff_welcome(update, context):
            await message.reply_text(t.NO_LINK)
        return
    item = cur.item
    if cur.stage != "active" or item is None or item.scale is not None:
        # After /avbryt, "anything" resumes (PAUSED says so): it must not become an answer.
        note = t.WELCOME_BACK if cur.stage == "paused" else (
            t.USE_BUTTONS if item is not None else None
        )
        await show(context, chat.id, cur, note)
        return
    cleaned = clean_text(message.text or "")
    if not cleaned.text:
        await message.reply_text(t.EMPTY_TEXT)
        return
    before = cur
    cur = svc.answer(chat.id, cur, cleaned.text)
    _remember_if_split(context, message)
    await _mark_answered(context, chat.id, before.message_id, before, item, cleaned.text)
    notes = []
    if cleaned.masked:
        notes.append(t.TEXT_MASKED)
    if cleaned.truncated:
        notes.append(t.TEXT_CUT.format(limit=engine.MAX_TEXT_LENGTH))
    await show(context, chat.id, cur, "\n\n".join(notes) or None, tidy_old=False)


async def on_other_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Handle stickers, photos, voice and anything else that is not text: a kind nudge."""
    chat = update.effective_chat
    assert chat is not None
    svc = deps(context).service
    cur = svc.load(chat.id)
    if cur is None:
        await context.bot.send_message(chat.id, t.NO_LINK)
        return
    item = cur.item
    if cur.stage == "active" and item is not None and item.scale is None:
        await context.bot.send_message(chat.id, t.ONLY_TEXT)
        return
    await show(context, chat.id, cur, t.NOT_UNDERSTOOD_MEDIA)


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Handle an edited message: edits are not answers; say so once, kindly."""
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, t.EDITED_IGNORED)


async def on_pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/avbryt: pause; everything is already saved."""
    chat = update.effective_chat
    message = update.effective_message
    assert chat is not None and message is not None
    svc = deps(context).service
    cur = svc.load(chat.id)
    if cur is None:
        await message.reply_text(t.NOTHING_TO_PAUSE)
        return
    if cur.stage == "active":
        svc.set_stage(chat.id, cur, "paused")
    await _strip_buttons(context, chat.id, cur.message_id)
    await message.reply_text(t.PAUSED)


async def on_delete(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/radera: ask before deleting the unfinished answers."""
    chat = update.effective_chat
    message = update.effective_message
    assert chat is not None and message is not None
    svc = deps(context).service
    cur = svc.load(chat.id)
    if cur is None:
        await message.reply_text(t.NOTHING_TO_DELETE)
        return
    cur = svc.set_stage(chat.id, cur, "confirm_delete")
    await show(context, chat.id, cur)


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/hjalp: how the survey works (and, for staff, their commands)."""
    from bot.staff import role_help

    message = update.effective_message
    assert message is not None
    extra = role_help(update, context)
    await message.reply_text(t.HELP + (f"\n\n{extra}" if extra else ""))


async def on_privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/integritet: how answers are handled, in plain words."""
    message = update.effective_message
    assert message is not None
    settings = deps(context).settings
    await message.reply_text(t.privacy(settings.forbund, settings.kontakt))


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer an unknown /command: resume the survey if there is one, else explain."""
    chat = update.effective_chat
    assert chat is not None
    cur = deps(context).service.load(chat.id)
    if cur is None:
        await context.bot.send_message(chat.id, t.HELP)
        return
    await show(context, chat.id, cur, t.USE_BUTTONS if cur.item is not None else None)


async def send_reminder(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
    """Send the one gentle reminder about an unfinished survey."""
    try:
        await context.bot.send_message(chat_id, t.REMINDER)
        log.info("event=reminder_sent chat=%s", tag(context, chat_id))
    except (Forbidden, BadRequest):
        log.info("event=reminder_undeliverable chat=%s", tag(context, chat_id))


async def on_non_private(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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

