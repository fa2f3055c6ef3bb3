"""The composition root: build the Application, register handlers in order, start jobs, run.

Handler order matters and is read top to bottom in `build_application`: group and channel
chats are turned away first, then commands, then button taps, then typed text, then anything
else a participant might send.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import secrets
import signal
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ExtBot,
    Job,
    JobQueue,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot import participant, reports, staff
from bot.config import WEBHOOK_PATH, Settings
from bot.context import (
    CONTEXT_TYPES,
    BotApplication,
    BotData,
    Context,
    Deps,
    close_key_thread,
    deps,
)
from bot.delivery import Poller, TolerantBot
from bot.ratelimit import TelegramRateLimiter
from bot.survey import SurveyService
from bot.texts import deltagare, logg
from storage import Store, WriteFailed
from storage.audit import SCHEDULED
from storage.retention import RULE_SETTING, cutoff_month

log = logging.getLogger("enkatbot")

MAX_CONCURRENT_UPDATES = 64
MAX_PENDING_PER_CHAT = 32
"""More updates than this waiting from one chat is a flood, not a person tapping quickly."""
FLOOD_LOG_EVERY = 100
UNBOUNDED_UPDATES = 1 << 30
"""PTB's own concurrency limit, never reached: PerChatOrderedProcessor keeps the real one."""


class PerChatOrderedProcessor(BaseUpdateProcessor):
    """Process updates of different chats concurrently, but one chat's updates in order.

    A sequential bot makes every participant wait for every other participant's network
    round trips; PTB's plain concurrent mode can reorder two quick taps from one phone.
    Waiters on an asyncio.Lock are woken first-in first-out, and updates reach this
    processor in the order Telegram sent them, so each chat keeps its order.

    The chat's lock is taken before a slot of the global limit, and a chat may have at most
    `max_pending_per_chat` updates waiting: one account sending hundreds of updates a second
    then fills only its own queue (the excess is dropped and counted), never the slots every
    other participant needs.
    """

    def __init__(
        self,
        max_concurrent_updates: int = MAX_CONCURRENT_UPDATES,
        max_pending_per_chat: int = MAX_PENDING_PER_CHAT,
    ) -> None:
        """Allow up to `max_concurrent_updates` updates in flight across all chats."""
        # PTB takes its own semaphore in process_update (final) *before* do_process_update,
        # which would put the global limit before the chat's lock; so PTB's is left unbounded
        # and the real limit is `_slots`, taken inside do_process_update after the lock.
        super().__init__(UNBOUNDED_UPDATES)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self.max_pending_per_chat = max_pending_per_chat
        self.dropped = 0
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._users: defaultdict[int, int] = defaultdict(int)

    @asynccontextmanager
    async def chat_lock(self, chat_id: int) -> AsyncIterator[None]:
        """Hold the chat's lock (as an update of that chat does) for work of the bot's own."""
        self._users[chat_id] += 1
        try:
            async with self._locks[chat_id]:
                yield
        finally:
            self._release(chat_id)

    def _release(self, chat_id: int) -> None:
        self._users[chat_id] -= 1
        if self._users[chat_id] == 0:
            # Forget idle chats so the lock table does not grow with every participant.
            del self._users[chat_id]
            self._locks.pop(chat_id, None)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update's handlers holding its chat's lock, then a global slot."""
        chat_id = 0
        if isinstance(update, Update) and update.effective_chat is not None:
            chat_id = update.effective_chat.id
        if self._users[chat_id] >= self.max_pending_per_chat:
            if isinstance(coroutine, Coroutine):
                coroutine.close()  # never run: closing it keeps asyncio from warning
            self.dropped += 1
            if self.dropped == 1 or self.dropped % FLOOD_LOG_EVERY == 0:
                log.warning("event=flood_dropped count=%d", self.dropped)
            return
        self._users[chat_id] += 1
        try:
            async with self._locks[chat_id], self._slots:
                await coroutine
        finally:
            self._release(chat_id)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


class LeanApplication(
    Application[ExtBot[None], Context, dict[Any, Any], dict[Any, Any], BotData, JobQueue[Context]]
):
    """An Application that keeps no chat or user id once their update has been handled.

    python-telegram-bot notes the chat and the user of every handled update for its
    persistence and forgets them only when it persists. This bot has no PTB persistence (its
    state is in SQLite), so those two sets would keep every chat id and user id the bot ever
    saw, for as long as the process runs: memory that grows with every participant, and
    chat ids that outlive their surveys.
    """

    def _mark_for_persistence_update(
        self, *, update: object | None = None, job: Job[Context] | None = None
    ) -> None:
        if self.persistence is not None:
            super()._mark_for_persistence_update(update=update, job=job)


PARSE_FAILURE = "Error while parsing updates!"
LIBRARY_LOGGERS = (
    "telegram", "httpx", "httpcore", "apscheduler", "tornado", "asyncio", "uvicorn",
)


class LibraryRecordFilter(logging.Filter):
    """Keep update content out of library log records: arguments and tracebacks are dropped.

    python-telegram-bot logs a whole update (names, usernames, typed text) as the argument of
    "Error while parsing updates", and exceptions can quote what they failed on. A library's
    format string is its own constant text, so it stays; what it was filled with does not.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Strip a library record of its arguments and traceback; return whether to keep it."""
        if not record.name.startswith(LIBRARY_LOGGERS):
            return True
        if str(record.msg).startswith(PARSE_FAILURE):
            return False  # TolerantBot logs its own line, with a count and without the data
        record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            detail = f": {exc}" if isinstance(exc, TelegramError) else ""
            record.msg = f"{record.msg} [{type(exc).__name__}{detail}]"
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


async def guard_private(update: Update, context: Context) -> None:
    """Turn away every update from a group or channel before any other handler sees it.

    Also stops, answered, a button tap that has no message (the chat is unknown) and anything
    whose sender is not the private chat's own user.
    """
    chat = update.effective_chat
    query = update.callback_query
    if query is not None and (query.message is None or chat is None):
        await _answer_quietly(query, deltagare.BUTTON_WITHOUT_MESSAGE)
        raise ApplicationHandlerStop
    if chat is not None and chat.type != "private":
        await participant.on_non_private(update, context)
        raise ApplicationHandlerStop
    user = update.effective_user
    if user is not None and user.is_bot:
        raise ApplicationHandlerStop
    if user is not None and chat is not None and user.id != chat.id:
        log.info("event=foreign_sender")
        if query is not None:
            await _answer_quietly(query, None)
        raise ApplicationHandlerStop


async def _answer_quietly(query: Any, text: str | None) -> None:
    try:
        await query.answer(text)
    except BadRequest:
        log.info("event=callback_too_old")


async def on_error(update: object, context: Context) -> None:
    """Log the failure without its content and tell the participant what became of it.

    A failed write (full disk, read-only file) says the last answer was not saved and asks
    to try again. A failed send (flood control beyond the retries, a network error) says
    nothing more, which could only fail too: the chat is owed its current step, shown by the
    bot as soon as sending works. Any other failure says only what is true: confirmed answers
    are saved.
    """
    err = context.error
    if update is None and isinstance(err, NetworkError):
        log.warning("event=network_error error=%s", type(err).__name__)
        return
    write_failed = isinstance(err, (WriteFailed, sqlite3.OperationalError))
    send_failed = isinstance(err, (NetworkError, RetryAfter))
    if write_failed:
        # Nothing of this update was saved. A fresh connection lets the next write succeed
        # as soon as the disk does, without a restart.
        cause = err.__cause__ if err is not None else None
        log.error("event=write_failed error=%s", type(cause or err).__name__)
        deps(context).service.store.reopen()
    elif send_failed:
        log.warning("event=send_failed error=%s", type(err).__name__)
    else:
        log.error("event=handler_error error=%s", type(err).__name__, exc_info=err)
    chat = update.effective_chat if isinstance(update, Update) else None
    if chat is not None and chat.type == "private":
        context.bot_data.owed_steps.add(chat.id)
    if send_failed:
        return
    reply = deltagare.NOT_SAVED if write_failed else deltagare.ERROR
    if isinstance(update, Update) and update.callback_query is not None:
        await _answer_quietly(update.callback_query, None)  # no spinner left on the phone
    if chat is not None:
        try:
            await context.bot.send_message(chat.id, reply)
        except Exception:
            log.error("event=error_reply_failed")


OWED_STEPS_SECONDS = 3
"""How often the bot tries again to show steps that did not reach the screen."""


async def owed_steps_job(context: Context) -> None:
    """Show again every owed step (and owed thanks), each under its chat's lock."""
    bot_data = context.bot_data
    owed = sorted(bot_data.owed_steps | bot_data.owed_thanks.keys())
    if not owed:
        return
    processor = context.application.update_processor
    shown = 0
    for chat_id in owed:
        try:
            if isinstance(processor, PerChatOrderedProcessor):
                async with processor.chat_lock(chat_id):
                    await participant.show_current_step(context, chat_id)
            else:
                await participant.show_current_step(context, chat_id)
        except (NetworkError, RetryAfter):
            break  # sending does not work yet: every chat stays owed for the next run
        except Forbidden:
            bot_data.owed_steps.discard(chat_id)  # blocked the bot: nothing can be shown
            bot_data.owed_thanks.pop(chat_id, None)
        except Exception as exc:
            log.error("event=show_again_failed error=%s", type(exc).__name__)
        else:
            shown += 1
    log.info("event=owed_steps_checked owed=%d shown=%d", len(owed), shown)


REMINDER_HOURS = range(9, 19)
"""Local hours at which reminders go out: nobody is nudged about a survey at night."""


def is_reminder_hour(now: datetime) -> bool:
    """Return True when `now` (local time) is within the daytime window for reminders."""
    return now.hour in REMINDER_HOURS


async def reminders_job(context: Context) -> None:
    """Expire abandoned surveys and send the one reminder to quiet ones (daytime only)."""
    d: Deps = deps(context)
    store = d.service.store
    expired = store.expire_sessions(d.settings.expiry_days)
    if expired:
        log.info("event=sessions_expired count=%d", expired)
    now = datetime.now(ZoneInfo(d.settings.timezone))
    due: list[int] = []
    if is_reminder_hour(now) or d.settings.remind_any_hour:
        due = store.due_reminders(d.settings.reminder_days)
    for chat_id in due:
        await participant.send_reminder(context, chat_id)
    # One line per run (hourly), with a count only: operators see the job is alive, and
    # tests know a run has finished.
    log.info("event=reminders_checked due=%d", len(due))


async def gallring_job(context: Context) -> None:
    """Apply ENKATBOT_GALLRING_AR: delete responses older than the years to keep."""
    d = deps(context)
    years = d.settings.gallring_years
    if not years:
        return
    store = d.service.store
    before = cutoff_month(years)
    rule = RULE_SETTING.format(years=years)
    # A run with nothing to delete leaves no protocol line: only real gallring is recorded.
    protocol = logg.gallring_protocol
    if store.gallra(before, rule=rule, actor=SCHEDULED, protocol=protocol, dry_run=True
                    ).total == 0:
        return
    result = store.gallra(before, rule=rule, actor=SCHEDULED, protocol=protocol)
    log.info("event=gallring responses=%d", result.total)


def schedule_gallring(app: BotApplication, settings: Settings) -> None:
    """Run gallring monthly (the 1st, 03:00 local time) and once shortly after start."""
    if not settings.gallring_years:
        return
    assert app.job_queue is not None
    when = time(3, 0, tzinfo=ZoneInfo(settings.timezone))
    app.job_queue.run_monthly(gallring_job, when=when, day=1, name="gallring")
    app.job_queue.run_once(gallring_job, when=30, name="gallring-ikapp")


async def post_init(app: BotApplication) -> None:
    """Set the command menus and start the scheduled jobs."""
    d: Deps = app.bot_data.deps
    store = d.service.store
    users = store.users()
    known = {uid for uid, _ in users}
    users += [(uid, "admin") for uid in sorted(d.settings.admins) if uid not in known]
    await staff.set_commands(app.bot, users)
    assert app.job_queue is not None
    first_check = 60
    if d.settings.remind_any_hour:
        first_check = 1
    app.job_queue.run_repeating(
        reminders_job, interval=3600, first=first_check, name="paminnelser"
    )
    # Steps a crash or a failed send kept from the screen, from before this process.
    app.bot_data.owed_steps.update(store.unshown_chats())
    app.job_queue.run_repeating(
        owed_steps_job, interval=OWED_STEPS_SECONDS, first=1, name="visa-igen"
    )
    reports.schedule(app, d.settings)
    schedule_gallring(app, d.settings)
    # Everything imported and set up so far lives as long as the process: kept out of the
    # collector's full passes, which would otherwise walk it all again and again (tens of
    # milliseconds each, in the event loop) while nothing of it can ever be freed.
    gc.freeze()
    log.info("event=started bot=%s users_with_roles=%d", app.bot.username, len(users))


async def post_shutdown(app: BotApplication) -> None:
    """Close the database cleanly (the WAL is folded into the file)."""
    reports.close_report_pool(app)
    close_key_thread(app.bot_data)
    d: Deps = app.bot_data.deps
    d.service.store.close()
    log.info("event=stopped")


def build_application(settings: Settings, store: Store | None = None) -> BotApplication:
    """Return the fully wired Application for `settings` (not yet running)."""
    token = settings.require_token()
    store = store or Store(settings.db_path)
    bot: ExtBot[None] = TolerantBot(
        token,
        request=HTTPXRequest(connection_pool_size=32, read_timeout=15, write_timeout=30),
        get_updates_request=HTTPXRequest(read_timeout=settings.poll_timeout + 15),
        rate_limiter=TelegramRateLimiter(chat_per_5_seconds=None),
        **settings.bot_api_urls(),
    )
    builder = (
        Application.builder()
        .application_class(LeanApplication)
        .bot(bot)
        .context_types(CONTEXT_TYPES)
        .job_queue(JobQueue[Context]())
        .concurrent_updates(PerChatOrderedProcessor())
        .updater(None)  # bot.delivery fetches updates, confirming each only once handled
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    app = builder.build()
    app.bot_data.setup(Deps(service=SurveyService(store), settings=settings))

    app.add_handler(TypeHandler(Update, guard_private), group=-1)
    private = filters.ChatType.PRIVATE
    # The invite deep link (/start inv_…) first, as PTB's deeplinking.py example does: the
    # plain /start below never sees an invite.
    app.add_handler(CommandHandler(
        "start", staff.on_invite_link,
        filters=private & filters.UpdateType.MESSAGE & filters.Regex(staff.INVITE_DEEP_LINK),
    ))
    commands = [
        ("start", participant.on_start),
        ("avbryt", participant.on_pause),
        ("radera", participant.on_delete),
        ("hjalp", participant.on_help),
        ("help", participant.on_help),
        ("integritet", participant.on_privacy),
        ("lank", staff.on_link),
        ("insatser", staff.on_insatser),
        ("ny_insats", staff.on_new_insats),
        ("bjudin", staff.on_invite),
        ("prenumerera", staff.on_subscribe),
        ("avprenumerera", staff.on_unsubscribe),
        ("rapport", reports.on_report),
    ]
    for name, callback in commands:
        app.add_handler(
            CommandHandler(name, callback, filters=private & filters.UpdateType.MESSAGE)
        )
    app.add_handler(CallbackQueryHandler(staff.on_staff_callback, pattern=r"^[LB]:"))
    app.add_handler(CallbackQueryHandler(reports.on_report_callback, pattern=r"^R:"))
    app.add_handler(CallbackQueryHandler(participant.on_callback))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED, participant.on_edited))
    app.add_handler(MessageHandler(filters.COMMAND & private, participant.on_unknown_command))
    app.add_handler(MessageHandler(filters.TEXT & private, participant.on_text))
    app.add_handler(
        MessageHandler(private & ~filters.StatusUpdate.ALL, participant.on_other_message)
    )
    # After everything else a chat's update did: a step owed to it is shown (at the latest
    # on the participant's next update, whatever it is).
    app.add_handler(TypeHandler(Update, participant.show_owed_step), group=1)
    app.add_error_handler(on_error)
    return app


def configure_logging() -> None:
    """Log one line per event to stderr; keep libraries from logging tokens or update content.

    httpx logs every request URL (Bot API URLs hold the token) and python-telegram-bot logs
    raw updates when it cannot parse them, so library loggers speak only at WARNING and their
    records are stripped of arguments and tracebacks. PTB's "Application started" and
    "stopping" lines stay: they carry nothing but the lifecycle.
    """
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(LibraryRecordFilter())
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("telegram.ext.Application").setLevel(logging.INFO)




def run(settings: Settings, store: Store | None = None) -> None:
    """Run the bot until stopped: long polling, or a webhook when ENKATBOT_WEBHOOK_URL is set.

    `store` is the database the start-up checks opened (by default the settings' file).

    Either way an update is confirmed to Telegram only once it has been handled
    (`bot.delivery`). With ENKATBOT_WEBB_URL the web survey is served too, in the same process
    and event loop, and the webhook (if any) on the web server's port; with a webhook and no
    web survey, the webhook alone is served on ENKATBOT_WEBHOOK_LISTEN:ENKATBOT_WEBHOOK_PORT.
    """
    configure_logging()
    app = build_application(settings, store)
    if settings.webb_url or settings.webhook_url:
        # Lazy: the web stack (Starlette, Jinja2, uvicorn) costs a polling bot start-up time
        # and memory and is needed only when the web survey or the webhook is served.
        from bot import serving

        secret = settings.webhook_secret or secrets.token_urlsafe(32)
        serving.serve_bot(app, settings, secret,
                          lambda: running(app, settings, secret))
    else:
        asyncio.run(poll_until_stopped(app, settings))


async def poll_until_stopped(app: BotApplication, settings: Settings) -> None:
    """Run the bot with long polling until SIGTERM or SIGINT, then stop it cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with running(app, settings, secret=None):
        await stop.wait()


@asynccontextmanager
async def running(app: BotApplication, settings: Settings, secret: str | None
                  ) -> AsyncIterator[None]:
    """Run the Application (jobs, and polling unless a webhook is set) inside the block.

    As PTB's customwebhookbot example does, the Application is started by hand. With a
    webhook it is registered with `secret` and updates arrive through `bot.serving.webhook_route`.
    """
    poller: Poller | None = None
    polling: asyncio.Task[None] | None = None
    async with app:
        await post_init(app)
        await app.start()
        if settings.webhook_url:
            await app.bot.set_webhook(
                url=f"{settings.webhook_url.rstrip('/')}/{WEBHOOK_PATH}",
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,
            )
        else:
            # Switching from a webhook to polling must not drop what Telegram holds.
            await app.bot.delete_webhook(drop_pending_updates=False)
            poller = Poller(app, settings.poll_timeout)
            app.bot_data.on_applied = poller.applied
            polling = asyncio.create_task(poller.run(), name="polling")
            polling.add_done_callback(_stop_if_polling_ended)
        try:
            yield
        finally:
            if poller is not None and polling is not None:
                await poller.stop()
                await asyncio.gather(polling, return_exceptions=True)  # logged on its end
            await app.stop()
    await post_shutdown(app)


def _stop_if_polling_ended(task: asyncio.Task[None]) -> None:
    # Polling ends by itself only when Telegram refuses the token: nothing is answered any
    # more, so the process stops (as on SIGTERM) instead of running on deaf.
    if task.cancelled() or task.exception() is None:
        return
    log.error("event=polling_ended error=%s", type(task.exception()).__name__)
    os.kill(os.getpid(), signal.SIGTERM)


__all__ = [
    "LeanApplication",
    "LibraryRecordFilter",
    "PerChatOrderedProcessor",
    "TolerantBot",
    "build_application",
    "is_reminder_hour",
    "run",
]
