"""The coordinators' monthly summary: scheduled, caught up after downtime, never sent twice.

The content (text, chart, workbook) is built by `analysis.summary`; this module decides when
and to whom, and records every delivery so a month reaches each coordinator exactly once.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from analysis.ledger import release
from analysis.summary import MonthlySummary, build_monthly_summary
from bot.config import Settings
from bot.context import BotApplication
from bot.participant import Deps, answer_query, deps
from bot.staff import require_role
from bot.texts import samordnare as s
from storage.audit import SCHEDULED

log = logging.getLogger("enkatbot.rapport")


def previous_month(d: date) -> str:
    """Return the month before the one `d` falls in, as YYYY-MM."""
    year, month = (d.year, d.month - 1) if d.month > 1 else (d.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def due_date(month: str, settings: Settings) -> datetime:
    """Return when the summary of `month` is due: report day of the next month, local time."""
    year, mon = (int(x) for x in month.split("-"))
    year, mon = (year, mon + 1) if mon < 12 else (year + 1, 1)
    day = min(settings.report_day, 28)
    return datetime(
        year, mon, day, settings.report_hour, settings.report_minute,
        tzinfo=ZoneInfo(settings.timezone),
    )


def latest_due_month(now: datetime, settings: Settings) -> str:
    """Return the newest month whose summary was due at or before `now`."""
    local = now.astimezone(ZoneInfo(settings.timezone))
    month = previous_month(local.date())
    if due_date(month, settings) > local:
        month = previous_month(date(int(month[:4]), int(month[5:]), 1))
    return month


def next_run(now: datetime, settings: Settings) -> datetime:
    """Return the next time the monthly job runs after `now`."""
    local = now.astimezone(ZoneInfo(settings.timezone))
    this = due_date(previous_month(local.date()), settings)
    if this > local:
        return this
    return due_date(f"{local.year:04d}-{local.month:02d}", settings)


def build_summary(d: Deps, month: str, insats: str | None = None) -> MonthlySummary:
    """Return the analysis MonthlySummary for `month` (the year so far), optionally one insats."""
    store = d.service.store
    responses, answers = store.response_frames()
    threshold = d.settings.threshold
    # Every summary, scheduled or asked for, goes through the release ledger: checked against
    # all earlier releases and recorded before it is sent.
    return release(
        store,
        threshold,
        lambda guard: build_monthly_summary(
            responses, answers, month, insats=insats, threshold=threshold, guard=guard
        ),
    )


async def send_summary(context: ContextTypes.DEFAULT_TYPE, chat_id: int,
                       summary: MonthlySummary) -> None:
    """Send a summary as three messages: the text, the chart, the workbook."""
    bot = context.bot
    await bot.send_message(chat_id, summary.text, parse_mode=ParseMode.HTML)
    await bot.send_photo(chat_id, summary.chart_png, caption=summary.chart_caption)
    await bot.send_document(chat_id, summary.workbook, filename=summary.workbook_filename)


async def deliver_due(context: ContextTypes.DEFAULT_TYPE, now: datetime | None = None) -> int:
    """Send the newest due month's summary to every subscriber who has not had it.

    A subscriber who subscribed after the month was due does not get it. Each delivery is
    recorded only after all three messages went through, so a failure is retried at the
    next run and a success is never repeated. Returns how many summaries were sent.
    """
    d: Deps = context.application.bot_data["deps"]
    store = d.service.store
    now = now or datetime.now(ZoneInfo(d.settings.timezone))
    month = latest_due_month(now, d.settings)
    due = due_date(month, d.settings).date()
    sent = 0
    summary = None
    for user_id in store.subscribers():
        if store.report_was_sent(user_id, month):
            continue
        since = store.subscribed_since(user_id)
        if since is not None and since > due:
            continue
        if summary is None:
            summary = build_summary(d, month)
        try:
            await send_summary(context, user_id, summary)
        except (Forbidden, BadRequest) as exc:
            log.info("event=summary_undeliverable error=%s", type(exc).__name__)
            continue
        store.mark_report_sent(user_id, month)
        sent += 1
    if sent:
        store.log_action(SCHEDULED, "sammanfattning_skickad", f"{month} till {sent} mottagare")
    log.info("event=monthly_summary month=%s sent=%d", month, sent)
    return sent


async def monthly_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Deliver what is due (the scheduled job, and the catch-up at start)."""
    await deliver_due(context)


def schedule(app: BotApplication, settings: Settings) -> None:
    """Schedule the monthly summary, and a catch-up run shortly after start."""
    assert app.job_queue is not None
    when = time(settings.report_hour, settings.report_minute, tzinfo=ZoneInfo(settings.timezone))
    app.job_queue.run_monthly(monthly_job, when=when, day=settings.report_day, name="manadsrapport")
    app.job_queue.run_once(monthly_job, when=5, name="manadsrapport-ikapp")


# -- /rapport ------------------------------------------------------------------------------------


def period_choices(today: date) -> list[tuple[str, str]]:
    """Return (month, label) choices for /rapport: last month, this year so far, last year."""
    from analysis.periods import measurement_year_of, month_name

    last = previous_month(today)
    year = measurement_year_of(last)
    return [
        (last, s.PERIOD_LAST_MONTH.format(month=month_name(last))),
        (last, s.PERIOD_YEAR_SO_FAR.format(year=year)),
        (f"{year - 1:04d}-10", s.PERIOD_LAST_YEAR.format(year=year - 1)),
    ]


async def on_report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/rapport: choose a period, then an insats, and get the summary now."""
    if not await require_role(update, context, "coordinator"):
        return
    assert update.effective_message is not None
    rows = [
        [InlineKeyboardButton(label, callback_data=f"R:p:{month}")]
        for month, label in period_choices(date.today())
    ]
    await update.effective_message.reply_text(
        s.CHOOSE_PERIOD, reply_markup=InlineKeyboardMarkup(rows)
    )


async def on_report_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Handle /rapport's buttons: R:p:<month> then R:i:<month>:<insats id or 0>."""
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and chat is not None
    if not await require_role(update, context, "coordinator"):
        return
    await answer_query(query)
    d = deps(context)
    parts = (query.data or "").split(":")
    try:
        if parts[1] == "p" and len(parts) == 3:
            month = parts[2]
            rows = [[InlineKeyboardButton(s.ALL_INSATSER, callback_data=f"R:i:{month}:0")]]
            rows += [
                [InlineKeyboardButton(i.name, callback_data=f"R:i:{month}:{i.id}")]
                for i in d.service.store.list_insatser()
            ]
            await query.edit_message_text(s.CHOOSE_INSATS, reply_markup=InlineKeyboardMarkup(rows))
            return
        if parts[1] == "i" and len(parts) == 4:
            month, insats_id = parts[2], int(parts[3])
            insats = None
            if insats_id:
                found = d.service.store.get_insats_by_id(insats_id)
                if found is None:
                    raise ValueError(insats_id)
                insats = found.name
            await query.edit_message_text(s.BUILDING)
            summary = build_summary(d, month, insats)
            await send_summary(context, chat.id, summary)
            assert update.effective_user is not None
            d.service.store.log_action(
                update.effective_user.id, "rapport_skickad",
                f"{month}, {insats or 'alla insatser'}, till 1 mottagare",
            )
            log.info("event=report_on_demand")
            return
    except (ValueError, IndexError):
        pass
    await context.bot.send_message(chat.id, s.STALE)
