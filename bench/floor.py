"""The floor: a bare python-telegram-bot bot that answers each tap and sends the next step.

It does the least a survey bot can do per step: answer the callback query, then send the
next step with its buttons. No database, no rate limiter, no rendering beyond a string. It
walks the same journey the bench's participants walk in the real bot — a greeting with
Börja, the questions (as many as the real questionnaire asks them, `FLOOR_QUESTIONS`), an
overview with Skicka in, the thanks, and the link opened again — so that answers per second
compare like with like: the steps that are not answers take a round trip in both.
The benchmark measures the real bot against it on the same fake Bot API, in the same run.

Run: TELEGRAM_BOT_TOKEN=... TELEGRAM_API_URL=http://127.0.0.1:PORT python bench/floor.py
"""

from __future__ import annotations

import os

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

QUESTIONS = int(os.environ.get("FLOOR_QUESTIONS", "14"))
OPTIONS = ("Mycket dåligt", "Dåligt", "Varken bra eller dåligt", "Bra", "Mycket bra")
# The labels and the thanks the bench's participants look for (bot/texts/deltagare.py).
BEGIN = "Börja"
SUBMIT = "Skicka in"
THANKS = "Tack för dina svar! De är nu inskickade och anonyma."


def question(n: int) -> tuple[str, InlineKeyboardMarkup]:
    """Return question n's text and buttons (the same size as a real question)."""
    rows = [[InlineKeyboardButton(label, callback_data=f"a:{n}:{i}")]
            for i, label in enumerate(OPTIONS)]
    rows.append([InlineKeyboardButton("Hoppa över", callback_data=f"skip:{n}")])
    return f"Fråga {n} av {QUESTIONS}\nHur har du upplevt stödet?", InlineKeyboardMarkup(rows)


def step_after(data: str) -> tuple[str, InlineKeyboardMarkup | None]:
    """Return the step that follows the tap with callback `data`."""
    if data == "begin":
        return question(1)
    if data == "submit":
        return THANKS, None
    n = int(data.split(":")[1])
    if n < QUESTIONS:
        return question(n + 1)
    overview = InlineKeyboardMarkup([[InlineKeyboardButton(SUBMIT, callback_data="submit")]])
    return "Klart! Här är dina svar:", overview


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the greeting with Börja."""
    assert update.effective_chat is not None
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(BEGIN, callback_data="begin")]])
    await context.bot.send_message(update.effective_chat.id, "Hej!", reply_markup=markup)


async def on_tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the tap, then send the next step."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    await query.answer()
    text, markup = step_after(query.data or "a:0")
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
