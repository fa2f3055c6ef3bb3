"""Handlers for staff, coordinators and administrators: links, insatser, invites, roles.

Roles are checked on every command and every button tap; a button's data is never taken as
proof of anything.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, TelegramError

from bot.config import deep_link, survey_link
from bot.context import Context, answer_query, deps
from bot.qr import qr_png
from bot.roles import RANK, require_role
from bot.texts import deltagare, logg, samordnare
from bot.texts import personal as p
from storage import StorageError

log = logging.getLogger("enkatbot.personal")

PARTICIPANT_COMMANDS = [BotCommand(c, d) for c, d in deltagare.COMMAND_MENU]
STAFF_COMMANDS = [BotCommand(c, d) for c, d in p.STAFF_COMMAND_MENU]
COORDINATOR_COMMANDS = [BotCommand(c, d) for c, d in samordnare.COMMAND_MENU]
ADMIN_COMMANDS = [BotCommand(c, d) for c, d in p.ADMIN_COMMAND_MENU]


def commands_for(role: str | None) -> list[BotCommand]:
    """Return the command menu for a role (participants when None)."""
    cmds = list(PARTICIPANT_COMMANDS)
    rank = RANK.get(role or "", 0)
    if rank >= 1:
        cmds += STAFF_COMMANDS
    if rank >= 2:
        cmds += COORDINATOR_COMMANDS
    if rank >= 3:
        cmds += ADMIN_COMMANDS
    return cmds


async def set_commands(bot: Bot, users: list[tuple[int, str]]) -> None:
    """Set the default menu and a per-chat menu for every user with a role."""
    await bot.set_my_commands(PARTICIPANT_COMMANDS, scope=BotCommandScopeDefault())
    for user_id, role in users:
        try:
            await bot.set_my_commands(
                commands_for(role), scope=BotCommandScopeChat(chat_id=user_id)
            )
        except BadRequest:
            log.info("event=commands_not_set role=%s", role)  # user never opened the bot


INVITE_DEEP_LINK = r"^/start(@\w+)? inv_"
"""What an invite link's /start looks like; its handler is registered before the plain /start."""


async def on_invite_link(update: Update, context: Context) -> None:
    """/start inv_…: redeem the invite the link carries."""
    token = context.args[0] if context.args else ""
    await redeem_invite(update, context, token)


async def redeem_invite(update: Update, context: Context, token: str) -> None:
    """Use an invite link: give the user its role and their command menu."""
    user = update.effective_user
    message = update.effective_message
    assert user is not None and message is not None
    store = deps(context).service.store
    role = store.redeem_invite(token, user.id)
    if role is None:
        await message.reply_text(p.INVITE_BAD)
        return
    if role in ("coordinator", "admin"):
        store.subscribe(user.id)
    store.log_action(user.id, "inbjudan_anvand", logg.INVITE_USED.format(role=role))
    log.info("event=invite_redeemed role=%s", role)
    try:
        await context.bot.set_my_commands(
            commands_for(role), scope=BotCommandScopeChat(chat_id=user.id)
        )
    except TelegramError:
        pass  # the menu is a convenience; the role itself is stored
    await message.reply_text(
        p.WELCOME_ROLE.format(role=p.ROLE_NAMES[role], help=p.HELP[role])
    )


async def on_insatser(update: Update, context: Context) -> None:
    """/insatser: list the insatser."""
    if not await require_role(update, context, "staff"):
        return
    insatser = deps(context).service.store.list_insatser()
    assert update.effective_message is not None
    if not insatser:
        await update.effective_message.reply_text(p.NO_INSATSER)
        return
    lines = [p.INSATSER_TITLE] + [f"• {i.name}" for i in insatser]
    await update.effective_message.reply_text("\n".join(lines))


async def on_new_insats(update: Update, context: Context) -> None:
    """/ny_insats NAMN: create an insats (admins)."""
    if not await require_role(update, context, "admin"):
        return
    message = update.effective_message
    assert message is not None
    name = " ".join(context.args or [])
    if not name.strip():
        await message.reply_text(p.NEW_INSATS_USAGE)
        return
    try:
        insats = deps(context).service.store.add_insats(name)
    except StorageError as exc:
        await message.reply_text(p.storage_problem(exc))
        return
    assert update.effective_user is not None
    deps(context).service.store.log_action(update.effective_user.id, "insats_skapad", insats.name)
    log.info("event=insats_created")
    await message.reply_text(p.NEW_INSATS_DONE.format(name=insats.name))


async def on_link(update: Update, context: Context) -> None:
    """/lank: choose an insats with buttons, then the questionnaire."""
    if not await require_role(update, context, "staff"):
        return
    message = update.effective_message
    assert message is not None
    insatser = deps(context).service.store.list_insatser()
    if not insatser:
        await message.reply_text(p.NO_INSATSER)
        return
    rows = [[InlineKeyboardButton(i.name, callback_data=f"L:i:{i.id}")] for i in insatser]
    await message.reply_text(p.CHOOSE_INSATS, reply_markup=InlineKeyboardMarkup(rows))


def _enkat_label(enkat: str) -> str:
    return dict(p.ENKAT_CHOICES).get(enkat, enkat)


async def on_staff_callback(update: Update, context: Context) -> None:
    """Handle staff buttons: L:… for links, B:… for invites."""
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and chat is not None
    data = query.data or ""
    kind = data[:1]
    needed = "admin" if kind == "B" else "staff"
    if not await require_role(update, context, needed):
        return
    await answer_query(query)
    store = deps(context).service.store
    parts = data.split(":")
    try:
        if kind == "L" and parts[1] == "i" and len(parts) == 3:
            insats = store.get_insats_by_id(int(parts[2]))
            if insats is None:
                raise ValueError(data)
            rows = [
                [InlineKeyboardButton(label, callback_data=f"L:e:{insats.id}:{n}")]
                for n, (_, label) in enumerate(p.ENKAT_CHOICES)
            ]
            await query.edit_message_text(
                p.CHOOSE_ENKAT.format(insats=insats.name), reply_markup=InlineKeyboardMarkup(rows)
            )
            return
        if kind == "L" and parts[1] == "e" and len(parts) == 4:
            insats = store.get_insats_by_id(int(parts[2]))
            enkat = p.ENKAT_CHOICES[int(parts[3])][0]
            if insats is None:
                raise ValueError(data)
            await _send_link(update, context, insats.name, enkat)
            return
        if kind == "B" and len(parts) == 2 and parts[1] in RANK:
            token = store.create_invite(parts[1])
            assert update.effective_user is not None
            store.log_action(update.effective_user.id, "inbjudan_skapad",
                             logg.INVITE_CREATED.format(role=parts[1]))
            url = deep_link(context.bot.username, token)
            await query.edit_message_text(
                p.INVITE_CREATED.format(role=p.ROLE_NAMES[parts[1]], url=url)
            )
            log.info("event=invite_created role=%s", parts[1])
            return
    except (ValueError, IndexError):
        pass
    await context.bot.send_message(chat.id, p.STALE)


async def _send_link(update: Update, context: Context, insats: str,
                     enkat: str) -> None:
    d = deps(context)
    chat = update.effective_chat
    query = update.callback_query
    assert chat is not None and query is not None
    now = datetime.now(UTC)  # one clock reading: the date shown is the expiry stored
    token = d.service.store.create_links(
        insats, enkat, valid_days=d.settings.link_valid_days, now=now
    )[0]
    assert update.effective_user is not None
    d.service.store.log_action(
        update.effective_user.id, "lankar_skapade",
        logg.ONE_LINK_CREATED.format(insats=insats, enkat=enkat),
    )
    url = survey_link(d.settings, context.bot.username, token)
    expires = (now + timedelta(days=d.settings.link_valid_days)).date().isoformat()
    label = _enkat_label(enkat).split(" (")[0].lower()
    await query.edit_message_text(p.LINK_DONE.format(insats=insats, enkat=label))
    await context.bot.send_message(
        chat.id, p.LINK_CREATED.format(insats=insats, enkat=label, expires=expires, url=url),
        disable_web_page_preview=True,
    )
    await context.bot.send_photo(
        chat.id,
        qr_png(url),
        caption=p.QR_CAPTION.format(insats=insats, enkat=label, expires=expires),
    )
    log.info("event=link_created enkat=%s", enkat)


async def on_invite(update: Update, context: Context) -> None:
    """/bjudin: choose the role an invite link grants (admins)."""
    if not await require_role(update, context, "admin"):
        return
    assert update.effective_message is not None
    rows = [
        [InlineKeyboardButton(p.ROLE_NAMES[r].capitalize(), callback_data=f"B:{r}")]
        for r in ("staff", "coordinator", "admin")
    ]
    await update.effective_message.reply_text(
        p.CHOOSE_ROLE, reply_markup=InlineKeyboardMarkup(rows)
    )


async def on_subscribe(update: Update, context: Context) -> None:
    """/prenumerera: receive the monthly summary (coordinators)."""
    if not await require_role(update, context, "coordinator"):
        return
    assert update.effective_user is not None and update.effective_message is not None
    # An administrator from ENKATBOT_ADMINS is never stored: removed from the setting, they
    # lose the role and the summary with it.
    deps(context).service.store.subscribe(update.effective_user.id)
    await update.effective_message.reply_text(p.SUBSCRIBED)


async def on_unsubscribe(update: Update, context: Context) -> None:
    """/avprenumerera: stop the monthly summary."""
    if not await require_role(update, context, "coordinator"):
        return
    assert update.effective_user is not None and update.effective_message is not None
    deps(context).service.store.unsubscribe(update.effective_user.id)
    await update.effective_message.reply_text(p.UNSUBSCRIBED)
