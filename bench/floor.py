"""The floor: a bare python-telegram-bot bot that answers each tap and sends the next question.

It does the least a survey bot can do per answer: answer the callback query, then send the
next question with its buttons. No database, no rate limiter, no rendering beyond a string.
The benchmark measures the real bot against it on the same fake Bot API, in the same run.

Run: TELEGRAM_BOT_TOKEN=... TELEGRAM_API_URL=http://127.0.0.1:PORT python bench/floor.py
"""

from __future__ import annotations

import os

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

QUESTIONS = 13
OPTIONS = ("Mycket dåligt", "Dåligt", "Varken bra eller dåligt", "Bra", "Mycket bra")


def question(n: int) -> tuple[str, InlineKeyboardMarkup]:
    """Return question n's text and buttons (the same size as a real question)."""
    rows = [[InlineKeyboardButton(label, callback_data=f"a:{n}:{i}")]
            for i, label in enumerate(OPTIONS)]
    rows.append([InlineKeyboardButton("Hoppa över", callback_data=f"skip:{n}")])
    return f"Fråga {n} av {QUESTIONS}\nHur har du upplevt stödet?", InlineKeyboardMarkup(rows)


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the first question."""
    assert update.effective_chat is not None
    text, markup = question(1)
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)


async def on_tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the tap, then send the next question."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    await query.answer()
    n = int((query.data or "a:0").split(":")[1]) % QUESTIONS + 1
    text, markup = question(n)
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)


def main() -> None:
    """Poll the Bot API at TELEGRAM_API_URL until stopped."""
    base = os.environ["TELEGRAM_API_URL"].rstrip("/")
    app = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .concurrent_updates(64)
        .request(HTTPXRequest(connection_pool_size=32))
        .build()
    )
    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(CallbackQueryHandler(on_tap))
    app.run_polling(allowed_updates=Update.ALL_TYPES, timeout=1)


if __name__ == "__main__":
    main()
