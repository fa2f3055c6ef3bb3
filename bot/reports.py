"""The coordinators' monthly summary: scheduled, caught up after downtime, never sent twice.

The content (text, chart, workbook) is built by `analysis.summary`; this module decides when
and to whom, and records every delivery so a month reaches each coordinator exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from analysis.periods import (
    FIRST_MONTH_OF_YEAR,
    Period,
    PeriodError,
    measurement_year,
    measurement_year_of,
    month_key,
    month_name,
    month_so_far,
    single_month,
    year_to_date,
)
from bot.config import Settings
from bot.context import BotApplication, BotData, Context, Deps, answer_query, deps
from bot.roles import require_role
from bot.texts import logg
from bot.texts import samordnare as s
from storage import Store
from storage.audit import SCHEDULED

if TYPE_CHECKING:
    from analysis.ledger import ReleaseGuard
    from analysis.summary import MonthlySummary

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


class ReportBusy(RuntimeError):
    """Other reports kept being released while this one was checked; try again shortly."""


def _released(store: Store, threshold: int, build: Callable[[ReleaseGuard], MonthlySummary]
              ) -> MonthlySummary:
    # Imported on first use, as the builders below are; LedgerBusy becomes this module's own
    # light exception so the bot's process can catch it without importing the analysis stack.
    from analysis.ledger import LedgerBusy, release

    try:
        return release(store, threshold, build)
    except LedgerBusy:
        raise ReportBusy from None


def build_summary_at(
    db_path: str, month: str, insats: str | None, threshold: int, forbund: str | None = None
) -> MonthlySummary:
    """Return the MonthlySummary for `month` (the year so far) from the database at `db_path`.

    Blocking and slow over many answers: the bot calls it in its report process (see
    `summary_off_loop`); it reads, and records the release in the ledger, through a database
    connection of its own.
    """
    # Imported on first use: the report's charts (matplotlib) and workbook (openpyxl) cost
    # the bot start-up time and memory, and most runs of the bot never build a report.
    from analysis.historik import rows_from_storage
    from analysis.insatser import link_counts_from_rows
    from analysis.loading import load_dataset
    from analysis.summary import build_monthly_summary

    store = Store(db_path)
    try:
        ytd = year_to_date(month)
        data = load_dataset(store, ytd.months(), insats=insats)
        links = link_counts_from_rows(store.link_counts(ytd.start, ytd.end))
        history = rows_from_storage(store.history_rows())
        # Every summary, scheduled or asked for, goes through the release ledger: checked
        # against all earlier releases and recorded before it is sent.
        return _released(
            store,
            threshold,
            lambda guard: build_monthly_summary(
                data,
                None,
                month,
                insats=insats,
                threshold=threshold,
                guard=guard,
                forbund=forbund,
                pdf=True,
                links=links,
                history=history,
            ),
        )
    finally:
        store.close()


def build_period_summary_at(
    db_path: str, period: Period, insats: str | None, threshold: int, forbund: str | None
) -> MonthlySummary:
    """Return what /rapport sends for `period`, optionally for one insats.

    Blocking: the bot calls it in its report process (`period_summary_off_loop`). Like
    `build_summary_at` it reads through its own connection and goes through the ledger.
    """
    # Imported on first use, as in build_summary_at.
    from analysis.historik import rows_from_storage
    from analysis.insatser import link_counts_from_rows
    from analysis.loading import load_dataset
    from analysis.summary import build_summary, compared_with

    store = Store(db_path)
    try:
        before, _ = compared_with(period)
        data = load_dataset(store, sorted({*period.months(), *before.months()}), insats=insats)
        links = link_counts_from_rows(store.link_counts(period.start, period.end))
        history = rows_from_storage(store.history_rows())
        return _released(
            store,
            threshold,
            lambda guard: build_summary(
                data,
                None,
                period,
                insats=insats,
                threshold=threshold,
                forbund=forbund,
                links=links,
                history=history,
                guard=guard,
            ),
        )
    finally:
        store.close()


def report_pool(data: BotData) -> ProcessPoolExecutor:
    """Return the bot's report process (started on first use).

    Reports are built in a process of their own, not a thread: pandas and matplotlib hold
    Python's global lock for long stretches, which would stall every participant's reply.
    The process also keeps their memory out of the bot's, and runs at a lower priority
    (`REPORT_NICENESS`): on a small server the report takes the CPU the bot leaves over,
    never the other way round.
    """
    if data.report_pool is None:
        data.report_pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"),
            initializer=_lower_priority,
        )
    return data.report_pool


REPORT_NICENESS = 10
"""How much lower than the bot's the report process's CPU priority is (as `nice -n 10`)."""


def _lower_priority() -> None:
    with contextlib.suppress(OSError, AttributeError):  # not on every platform: it only helps
        os.nice(REPORT_NICENESS)


def close_report_pool(app: BotApplication) -> None:
    """Stop the report process, if one was started (waiting for a report being built)."""
    pool, app.bot_data.report_pool = app.bot_data.report_pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


async def summary_off_loop(
    context: Context, month: str, insats: str | None = None
) -> MonthlySummary:
    """Build the summary in the report process, so participants are answered meanwhile."""
    d = deps(context)
    return await asyncio.get_running_loop().run_in_executor(
        report_pool(context.bot_data), build_summary_at,
        str(d.service.store.path), month, insats, d.settings.threshold, d.settings.forbund,
    )


async def period_summary_off_loop(
    context: Context, period: Period, insats: str | None = None
) -> MonthlySummary:
    """Build a /rapport answer in the report process, so participants are answered meanwhile."""
    d = deps(context)
    return await asyncio.get_running_loop().run_in_executor(
        report_pool(context.bot_data), build_period_summary_at,
        str(d.service.store.path), period, insats, d.settings.threshold, d.settings.forbund,
    )


async def send_summary(context: Context, chat_id: int,
                       summary: MonthlySummary) -> None:
    """Send a summary: the text, then the chart, the workbook and the PDF when there are any.

    A period without answers is the text alone: no empty documents. Each document has a
    caption saying what it is.
    """
    bot = context.bot
    await bot.send_message(chat_id, summary.text, parse_mode=ParseMode.HTML)
    if summary.chart_png is not None:
        await bot.send_photo(chat_id, summary.chart_png, caption=summary.chart_caption)
    if summary.workbook is not None:
        await bot.send_document(
            chat_id,
            summary.workbook,
            filename=summary.workbook_filename,
            caption=summary.workbook_caption,
        )
    if summary.pdf is not None:
        await bot.send_document(
            chat_id, summary.pdf, filename=summary.pdf_filename, caption=summary.pdf_caption
        )


async def deliver_due(context: Context, now: datetime | None = None) -> int:
    """Send the newest due month's summary to every subscriber who has not had it.

    A subscriber who subscribed after the month was due does not get it. Each delivery is
    recorded only after all three messages went through, so a failure is retried at the
    next run and a success is never repeated. Returns how many summaries were sent.
    """
    d: Deps = deps(context)
    store = d.service.store
    now = now or datetime.now(ZoneInfo(d.settings.timezone))
    month = latest_due_month(now, d.settings)
    due = due_date(month, d.settings).date()
    sent = 0
    summary = None
    for user_id in store.subscribers(d.settings.admins):
        if store.report_was_sent(user_id, month):
            continue
        since = store.subscribed_since(user_id)
        if since is not None and since > due:
            continue
        if summary is None:
            try:
                summary = await summary_off_loop(context, month)
            except ReportBusy:
                # Tried again soon, not next month: the ledger is busy only while others release.
                log.info("event=summary_busy month=%s", month)
                assert context.job_queue is not None
                context.job_queue.run_once(monthly_job, when=BUSY_RETRY_SECONDS,
                                           name="manadsrapport-igen")
                return sent
        try:
            await send_summary(context, user_id, summary)
        except (Forbidden, BadRequest) as exc:
            log.info("event=summary_undeliverable error=%s", type(exc).__name__)
            continue
        store.mark_report_sent(user_id, month)
        sent += 1
    if sent:
        store.log_action(SCHEDULED, "sammanfattning_skickad",
                         logg.SUMMARY_SENT.format(month=month, sent=sent))
    log.info("event=monthly_summary month=%s sent=%d", month, sent)
    return sent


async def monthly_job(context: Context) -> None:
    """Deliver what is due (the scheduled job, and the catch-up at start)."""
    await deliver_due(context)


BUSY_RETRY_SECONDS = 600
"""How long the monthly job waits before trying again when the release ledger was busy."""


def schedule(app: BotApplication, settings: Settings) -> None:
    """Schedule the monthly summary, and a catch-up run shortly after start."""
    assert app.job_queue is not None
    when = time(settings.report_hour, settings.report_minute, tzinfo=ZoneInfo(settings.timezone))
    app.job_queue.run_monthly(monthly_job, when=when, day=settings.report_day, name="manadsrapport")
    app.job_queue.run_once(monthly_job, when=5, name="manadsrapport-ikapp")


# -- /rapport ------------------------------------------------------------------------------------


def local_today(settings: Settings) -> date:
    """Return today's date where the förbund is (ENKATBOT_TIDSZON)."""
    return datetime.now(ZoneInfo(settings.timezone)).date()


def period_choices(today: date, years_with_answers: Iterable[int] = ()) -> list[tuple[str, str]]:
    """Return (key, label) choices for /rapport, each a distinct period.

    This month so far, last month, the measurement year so far (not in November, when it is
    this month), and every earlier measurement year that has answers, newest first. Keys are
    "m<YYYY-MM>", "y<YYYY-MM>" and "a<YYYY>" (see `period_of`).
    """
    this = f"{today.year:04d}-{today.month:02d}"
    last = previous_month(today)
    year = measurement_year_of(this)
    out = [
        (f"m{this}", s.PERIOD_THIS_MONTH.format(month=month_name(this))),
        (f"m{last}", s.PERIOD_LAST_MONTH.format(month=month_name(last))),
    ]
    if this != month_key(year - 1, FIRST_MONTH_OF_YEAR):
        out.append((f"y{this}", s.PERIOD_YEAR_SO_FAR.format(year=year)))
    for earlier in sorted({y for y in years_with_answers if y < year}, reverse=True):
        out.append((f"a{earlier}", s.PERIOD_WHOLE_YEAR.format(year=earlier)))
    return out


def period_of(key: str, today: date) -> Period:
    """Return the period a /rapport key stands for; raise PeriodError for a bad key.

    A month that has not ended by `today` is "so far", and so is a year so far.
    """
    kind, value = key[:1], key[1:]
    this = f"{today.year:04d}-{today.month:02d}"
    if kind == "m":
        return month_so_far(value) if value >= this else single_month(value)
    if kind == "y":
        return year_to_date(value, so_far=value >= this)
    if kind == "a" and value.isdigit():
        return measurement_year(int(value))
    raise PeriodError(key)


async def on_report(update: Update, context: Context) -> None:
    """/rapport: choose a period, then an insats, and get the summary now."""
    if not await require_role(update, context, "coordinator"):
        return
    assert update.effective_message is not None
    d = deps(context)
    years = {measurement_year_of(m) for m in d.service.store.respondent_months()}
    rows = [
        [InlineKeyboardButton(label, callback_data=f"R:p:{key}")]
        for key, label in period_choices(local_today(d.settings), years)
    ]
    await update.effective_message.reply_text(
        s.CHOOSE_PERIOD, reply_markup=InlineKeyboardMarkup(rows)
    )


async def on_report_callback(update: Update, context: Context) -> None:
    """Handle /rapport's buttons: R:p:<period key> then R:i:<period key>:<insats id or 0>."""
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
            key = parts[2]
            period_of(key, local_today(d.settings))
            rows = [[InlineKeyboardButton(s.ALL_INSATSER, callback_data=f"R:i:{key}:0")]]
            rows += [
                [InlineKeyboardButton(i.name, callback_data=f"R:i:{key}:{i.id}")]
                for i in d.service.store.list_insatser()
            ]
            await query.edit_message_text(s.CHOOSE_INSATS, reply_markup=InlineKeyboardMarkup(rows))
            return
        if parts[1] == "i" and len(parts) == 4:
            period, insats_id = period_of(parts[2], local_today(d.settings)), int(parts[3])
            insats = None
            if insats_id:
                found = d.service.store.get_insats_by_id(insats_id)
                if found is None:
                    raise ValueError(insats_id)
                insats = found.name
            # Accepted: Telegram need not keep the tap while the report is built (seconds
            # over many answers), which would keep the poller from fetching past it. If the
            # process dies meanwhile the coordinator gets no report and asks again.
            context.bot_data.on_applied(update.update_id)
            await query.edit_message_text(s.BUILDING)
            try:
                summary = await period_summary_off_loop(context, period, insats)
            except ReportBusy:
                log.info("event=report_busy")
                await context.bot.send_message(chat.id, s.BUSY)
                return
            await send_summary(context, chat.id, summary)
            assert update.effective_user is not None
            d.service.store.log_action(
                update.effective_user.id, "rapport_skickad",
                logg.REPORT_SENT.format(period=period.label, insats=insats or logg.ALL_INSATSER),
            )
            log.info("event=report_on_demand")
            return
    except (ValueError, IndexError):
        pass
    await context.bot.send_message(chat.id, s.STALE)
