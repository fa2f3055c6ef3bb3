"""Who may do what: roles from ENKATBOT_ADMINS and storage, checked on every command and tap.

A button's data is never taken as proof of a role. Participants have no role.
"""

from __future__ import annotations

from telegram import Update

from bot.context import Context, answer_query, deps
from bot.texts import personal as p

RANK = {"staff": 1, "coordinator": 2, "admin": 3}


def role_of(context: Context, user_id: int | None) -> str | None:
    """Return the user's role: admin when listed in ENKATBOT_ADMINS, else the stored role."""
    if user_id is None:
        return None
    d = deps(context)
    if user_id in d.settings.admins:
        return "admin"
    return d.service.store.role_of(user_id)


def _has(context: Context, update: Update, needed: str) -> bool:
    user = update.effective_user
    role = role_of(context, user.id if user else None)
    return RANK.get(role or "", 0) >= RANK[needed]


async def require_role(update: Update, context: Context, needed: str) -> bool:
    """Return True when the user holds `needed` or a higher role; else refuse politely.

    Checked on every command and every button tap: button data is never proof of a role.
    """
    if _has(context, update, needed):
        return True
    await _refuse(update, needed)
    return False


async def _refuse(update: Update, needed: str) -> None:
    text = {"admin": p.NEEDS_ADMIN, "coordinator": p.NEEDS_COORDINATOR}.get(needed, p.NOT_ALLOWED)
    if update.callback_query:
        await answer_query(update.callback_query, text, show_alert=True)
    elif update.effective_message:
        await update.effective_message.reply_text(text)


def role_help(update: Update, context: Context) -> str | None:
    """Return the command help for the user's role, or None for participants."""
    user = update.effective_user
    role = role_of(context, user.id if user else None)
    return p.HELP.get(role) if role else None


async def staff_welcome(update: Update, context: Context) -> bool:
    """Greet a staff member who writes without a survey; return False for anyone else."""
    text = role_help(update, context)
    if text is None or update.effective_message is None:
        return False
    await update.effective_message.reply_text(text)
    return True
