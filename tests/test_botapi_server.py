"""Checks the fake Bot API server through PTB's own HTTP stack (telegram.Bot + HTTPXRequest).

If PTB cannot talk to the fake exactly as to Telegram, every end-to-end test built on it lies,
so these tests go through real HTTP and PTB's parsing rather than calling the server directly.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.botapi import FakeBotAPI, parse_text
from tests.botapi.markup import EntityParseError

pytestmark = pytest.mark.botapi

TOKEN = "123456:TEST"
PNG = (
    bytes.fromhex("89504e470d0a1a0a0000000d49484452000000030000000208060000")
    + bytes(range(256)) * 8
)


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI(token=TOKEN, bot_username="finsam_test_bot") as server:
        yield server


def run_bot(api: FakeBotAPI, body: Callable[[Bot], Awaitable[Any]], token: str = TOKEN) -> Any:
    """Run ``body(bot)`` inside ``async with bot`` against the fake; return its result."""

    async def main() -> Any:
        bot = Bot(token, base_url=api.bot_url, base_file_url=api.file_url)
        async with bot:
            return await body(bot)

    return asyncio.run(main())


def once_polling(api: FakeBotAPI, action: Callable[[], object]) -> threading.Thread:
    """Run ``action`` in a thread as soon as a long poll is waiting; return the thread."""
    thread = threading.Thread(target=lambda: (api.wait_for_long_poll(), action()), daemon=True)
    thread.start()
    return thread


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(x, callback_data=f"q1:{x}")] for x in labels]
    return InlineKeyboardMarkup(rows)


def test_get_me_reports_configured_bot() -> None:
    with FakeBotAPI(token="777:ABC", bot_username="other_bot", bot_first_name="Other") as api:
        me = run_bot(api, lambda bot: bot.get_me(), token="777:ABC")
        assert api.bot_env()["TELEGRAM_API_URL"] == api.base_url
    assert (me.id, me.username, me.first_name, me.is_bot) == (777, "other_bot", "Other", True)
    assert [c.method for c in api.calls] == ["getMe", "getMe"]  # initialize() + explicit call


def test_wrong_token_is_invalid_token(api: FakeBotAPI) -> None:
    with pytest.raises(InvalidToken):
        run_bot(api, lambda bot: bot.get_me(), token="123456:WRONG")
    assert api.calls[-1].status == 401


def test_send_message_reaches_phone_with_buttons_and_entities(api: FakeBotAPI) -> None:
    anna = api.phone(1001, "Anna", started=True)

    async def body(bot: Bot) -> Any:
        first = await bot.send_message(1001, "Hej <b>Anna</b> &amp; co", parse_mode="HTML")
        second = await bot.send_message(1001, "Fråga 1", reply_markup=keyboard("Alltid", "Aldrig"))
        return first, second

    first, second = run_bot(api, body)
    assert second.message_id == first.message_id + 1
    assert first.text == "Hej Anna & co" and first.entities[0].type == "bold"
    assert anna.wait_for_text("Hej Anna").text == "Hej Anna & co"
    msg = anna.wait_for(lambda m: "Fråga 1" in m.text)
    assert msg.buttons == [["Alltid"], ["Aldrig"]]
    assert msg.is_from_bot and msg.sender_id == api.bot_user["id"]
    assert [m.text for m in anna.messages] == ["Hej Anna & co", "Fråga 1"]
    assert anna.last.message_id == second.message_id


def test_wait_for_times_out_with_transcript_and_skips_old_events(api: FakeBotAPI) -> None:
    anna = api.phone(1001, "Anna", started=True)
    run_bot(api, lambda bot: bot.send_message(1001, "Välkommen"))
    anna.wait_for_text("Välkommen")
    anna.send("hej")
    with pytest.raises(AssertionError, match=r"(?s)before the cursor.*Anna: #2 hej"):
        anna.wait_for_text("Välkommen", timeout=0.2)


def test_long_poll_returns_as_soon_as_phone_sends(api: FakeBotAPI) -> None:
    anna = api.phone(1001, "Anna")

    async def body(bot: Bot) -> tuple[float, tuple[Update, ...], float]:
        start = time.monotonic()
        assert await bot.get_updates(timeout=1) == ()
        idle = time.monotonic() - start
        once_polling(api, lambda: anna.send("/start abc"))
        start = time.monotonic()
        updates = await bot.get_updates(timeout=30)
        return idle, updates, time.monotonic() - start

    idle, updates, elapsed = run_bot(api, body)
    assert idle >= 0.9  # an empty long poll waits out its timeout
    assert elapsed < 30  # the send woke the waiting poll: it did not wait out its 30 s
    (update,) = updates
    assert update.message.text == "/start abc"
    assert update.message.from_user.id == 1001 and update.message.chat.type == "private"
    (entity,) = update.message.entities
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 6)


def test_offset_confirms_updates_and_limit_caps_batch(api: FakeBotAPI) -> None:
    anna = api.phone(1001, "Anna")
    for text in ("ett", "två", "tre"):
        anna.send(text)

    async def body(bot: Bot) -> Any:
        first = await bot.get_updates(limit=2)
        again = await bot.get_updates()
        rest = await bot.get_updates(offset=first[-1].update_id + 1)
        done = await bot.get_updates(offset=rest[-1].update_id + 1)
        return first, again, rest, done

    first, again, rest, done = run_bot(api, body)
    assert [u.message.text for u in first] == ["ett", "två"]
    assert [u.message.text for u in again] == ["ett", "två", "tre"]
    assert [u.message.text for u in rest] == ["tre"]
    assert done == () and api.pending_updates == []
    assert [u.update_id for u in again] == list(range(again[0].update_id, again[0].update_id + 3))


def test_second_long_poll_terminates_first_with_conflict(api: FakeBotAPI) -> None:
    async def body(bot: Bot) -> Any:
        # A second Bot, like a second bot process: PTB's getUpdates pool holds one connection.
        async with Bot(TOKEN, base_url=api.bot_url) as other:
            first = asyncio.create_task(bot.get_updates(timeout=5))
            await asyncio.to_thread(api.wait_for_long_poll)
            await other.get_updates(timeout=0)
            return await asyncio.gather(first, return_exceptions=True)

    (result,) = run_bot(api, body)
    assert isinstance(result, Conflict)


def test_edit_message_text_and_not_modified(api: FakeBotAPI) -> None:
    anna = api.phone(1001, "Anna", started=True)

    async def body(bot: Bot) -> Any:
        sent = await bot.send_message(1001, "Fråga 1", reply_markup=keyboard("Alltid"))
        await bot.edit_message_text("Fråga 1: Alltid", 1001, sent.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text("Fråga 1: Alltid", 1001, sent.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("x", 1001, sent.message_id + 10)
        await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=keyboard("Ändra"))
        return sent

    sent = run_bot(api, body)
    edited = anna.wait_for(lambda m: m.edit_date is not None and m.text == "Fråga 1: Alltid")
    assert edited.buttons == []  # editMessageText without reply_markup drops the keyboard
    assert anna.messages[0].message_id == sent.message_id
    assert anna.messages[0].buttons == [["Ändra"]]


def test_callback_tap_round_trip(api: FakeBotAPI) -> None:
    anna = api.phone(1001, "Anna", started=True)

    async def body(bot: Bot) -> Any:
        sent = await bot.send_message(1001, "Fråga 1", reply_markup=keyboard("Alltid", "Ibland"))
        query_id = await asyncio.to_thread(anna.tap, "Ibland")
        (update,) = await bot.get_updates(timeout=2)
        query = update.callback_query
        assert query.id == query_id
        assert query.data == "q1:Ibland" and query.from_user.id == 1001
        assert query.message.message_id == sent.message_id
        assert api.unanswered_callbacks == [query_id]
        await query.answer("Sparat", show_alert=True)
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await query.answer()
        return query_id

    query_id = run_bot(api, body)
    answer = api.wait_for_callback_answer(query_id, timeout=1)
    assert (answer.text, answer.show_alert) == ("Sparat", True)
    assert api.unanswered_callbacks == []
    assert len(api.calls_of("answerCallbackQuery")) == 2


def test_photo_and_document_bytes_arrive_intact(api: FakeBotAPI) -> None:
    anna = api.phone(1001, "Anna", started=True)
    csv = "namn;svar\nÅsa;Alltid\n".encode() + bytes(range(256))
    name = 'rapport "vecka 3" åäö.csv'

    async def body(bot: Bot) -> Any:
        await bot.send_photo(1001, PNG, caption="Diagram")
        await bot.send_document(1001, csv, filename=name, caption="Export")
        with pytest.raises(BadRequest, match=r"(?i)file must be non-empty"):
            await bot.send_document(1001, b"", filename="empty.csv")
        with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
            await bot.send_photo(1001, b"not an image")

    run_bot(api, body)
    photo, document = anna.messages
    assert photo.photo_bytes == PNG and photo.caption == "Diagram" and photo.kind == "photo"
    assert photo.raw["photo"][0]["width"] == 3 and photo.raw["photo"][0]["height"] == 2
    assert document.document_bytes == csv and document.document_name == name
    assert document.caption == "Export"


def test_bot_downloads_file_a_phone_sent(api: FakeBotAPI) -> None:
    anna = api.phone(1001, "Anna")
    anna.send_photo(PNG, caption="min bild")

    async def body(bot: Bot) -> bytes:
        (update,) = await bot.get_updates()
        assert update.message.caption == "min bild"
        file = await update.message.photo[-1].get_file()
        return bytes(await file.download_as_bytearray())

    assert run_bot(api, body) == PNG


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_flood_injection_raises_retry_after_without_sending(api: FakeBotAPI) -> None:
    anna = api.phone(1001, "Anna", started=True)
    api.inject_flood(method="sendMessage", times=2, retry_after=3)

    async def body(bot: Bot) -> list[Any]:
        errors = []
        for _ in range(2):
            with pytest.raises(RetryAfter) as info:
                await bot.send_message(1001, "hej")
            errors.append(info.value)
        await bot.send_message(1001, "hej")
        return errors

    errors = run_bot(api, body)
    for err in errors:
        value = err.retry_after
        assert (value if isinstance(value, dtm.timedelta) else dtm.timedelta(seconds=value)) == (
            dtm.timedelta(seconds=3)
        )
    assert [c.status for c in api.calls_of("sendMessage")] == [429, 429, 200]
    assert [m.text for m in anna.messages] == ["hej"]


def test_injected_errors_surface_as_network_errors(api: FakeBotAPI) -> None:
    anna = api.phone(1001, "Anna", started=True)
    api.inject_error("sendMessage", status=502)
    api.inject_error("sendMessage", status=None)
    api.inject_error("sendMessage", status=502, perform=True)

    async def body(bot: Bot) -> None:
        for _ in range(3):
            with pytest.raises(NetworkError):
                await bot.send_message(1001, "hej")

    run_bot(api, body)
    assert [c.status for c in api.calls_of("sendMessage")] == [502, 0, 502]
    assert [m.text for m in anna.messages] == ["hej"]  # only the "performed" one went out


def test_telegram_error_semantics(api: FakeBotAPI) -> None:
    api.phone(1001, "Anna", started=True)
    api.phone(1002, "Bo")

    async def body(bot: Bot) -> None:
        cases: list[tuple[type[Exception], str, Awaitable[Any]]] = [
            (BadRequest, "(?i)chat not found", bot.send_message(999, "hej")),
            (BadRequest, "(?i)message text is empty", bot.send_message(1001, " \n")),
            (BadRequest, "(?i)message is too long", bot.send_message(1001, "x" * 4097)),
            (BadRequest, "(?i)BUTTON_DATA_INVALID", bot.send_message(
                1001, "hej", reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("a", callback_data="x" * 65)]]))),
            (BadRequest, "(?i)can't parse entities", bot.send_message(
                1001, "1 < 2", parse_mode="HTML")),
            (BadRequest, "(?i)Character '.' is reserved", bot.send_message(
                1001, "Tack.", parse_mode="MarkdownV2")),
            (Forbidden, "(?i)can't initiate conversation", bot.send_message(1002, "hej")),
        ]
        for exc_type, text, call in cases:
            with pytest.raises(exc_type, match=text):
                await call
        assert (await bot.send_message(1001, "x" * 4096)).text == "x" * 4096
        with pytest.raises(Exception, match=r"(?i)Not Found"):
            await bot.do_api_request("noSuchMethod")

    run_bot(api, body)


def test_groups_commands_menu_and_leave_chat(api: FakeBotAPI) -> None:
    anna = api.phone(1001, "Anna")
    grp = api.group(chat_id=-100123, title="Kaffe", member=anna)
    grp.send("/start@finsam_test_bot")

    async def body(bot: Bot) -> Any:
        (update,) = await bot.get_updates()
        message = update.message
        assert (message.chat.type, message.chat.title, message.from_user.id) == (
            "supergroup", "Kaffe", 1001
        )
        assert message.entities[0].length == len("/start@finsam_test_bot")
        await bot.set_my_commands([BotCommand("start", "Starta")], language_code="sv")
        await bot.set_my_commands(
            [BotCommand("stop", "Sluta")], scope=BotCommandScopeChat(1001)
        )
        with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
            await bot.set_my_commands([BotCommand("Start", "versaler")])
        got = await bot.get_my_commands(language_code="sv")
        await bot.set_chat_menu_button()
        assert await bot.leave_chat(-100123)
        with pytest.raises(Forbidden, match=r"(?i)not a member"):
            await bot.send_message(-100123, "hej")
        return got

    got = run_bot(api, body)
    assert [(c.command, c.description) for c in got] == [("start", "Starta")]
    assert api.commands_for(language_code="sv") == [("start", "Starta")]
    assert api.commands_for({"type": "chat", "chat_id": 1001}) == [("stop", "Sluta")]
    assert len(api.commands) == 2
    assert api.left_chats == [-100123]
    assert api.pending_updates[-1]["my_chat_member"]["new_chat_member"]["status"] == "left"


def test_reply_keyboard_press(api: FakeBotAPI) -> None:
    anna = api.phone(1001, "Anna", started=True)
    markup = ReplyKeyboardMarkup([["Ja", "Nej"]], one_time_keyboard=True)
    run_bot(api, lambda bot: bot.send_message(1001, "Vill du?", reply_markup=markup))
    assert anna.keyboard == [["Ja", "Nej"]]
    anna.press("Ja")
    assert anna.keyboard == []
    with pytest.raises(AssertionError):
        anna.press("Nej")


def test_parse_modes_produce_telegram_entities() -> None:
    text, entities = parse_text("  <i>Hå</i>🙂<a href='https://x.se'>länk</a>  ", "HTML")
    assert text == "Hå🙂länk"
    assert entities == [
        {"type": "italic", "offset": 0, "length": 2},
        {"type": "text_link", "offset": 4, "length": 4, "url": "https://x.se"},
    ]
    text, entities = parse_text(r"*Fet* \- _kursiv_ \.", "MarkdownV2")
    assert text == "Fet - kursiv ."
    assert [e["type"] for e in entities] == ["bold", "italic"]
    with pytest.raises(EntityParseError, match="Unsupported start tag"):
        parse_text("<Anna>", "HTML")


def test_application_run_polling_against_fake(api: FakeBotAPI) -> None:
    anna = api.phone(1001, "Anna")

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            f"Fråga 1 ({' '.join(context.args or [])})", reply_markup=keyboard("Alltid")
        )

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"Svar: {query.data}")

    async def main() -> None:
        app = (
            Application.builder().token(TOKEN).base_url(api.bot_url)
            .base_file_url(api.file_url).build()
        )
        app.add_handler(CommandHandler("start", start))
        app.add_handler(CallbackQueryHandler(answer))
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(timeout=1, drop_pending_updates=True)
            await asyncio.to_thread(anna.send, "/start abc")
            await asyncio.to_thread(anna.wait_for_text, "Fråga 1 (abc)", 5)
            await asyncio.to_thread(anna.tap, "Alltid")
            await asyncio.to_thread(anna.wait_for_text, "Svar: q1:Alltid", 5)
            await app.updater.stop()
            await app.stop()

    asyncio.run(main())
    methods = [c.method for c in api.calls]
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
    assert methods[-1] == "getUpdates" and api.calls[-1].params.get("timeout") == 0
    # Stopping cancels the pending long poll client-side; it must not look like a second bot.
    assert 409 not in [c.status for c in api.calls]
    assert api.unanswered_callbacks == []


def test_injected_latency_delays_every_call_and_listeners_see_each_event(api: FakeBotAPI) -> None:
    phone = api.phone(4242, "Lat", started=True)
    seen: list[tuple[int, str]] = []
    api.add_listener(lambda chat_id, event: seen.append((chat_id, event.kind)))
    api.latency = 0.2

    async def body(bot: Bot) -> float:
        started = time.monotonic()
        await bot.send_message(4242, "hej")
        return time.monotonic() - started

    took = run_bot(api, body)
    # initialize() calls getMe first; each of the two calls takes at least the latency.
    assert took >= 0.2
    assert phone.last.text == "hej"
    assert (4242, "message") in seen


def test_the_injected_clock_moves_message_dates_without_waiting(api: FakeBotAPI) -> None:
    anna = api.phone(1001, "Anna")
    anna.send("först")
    api.advance_clock(3600)
    anna.send("en timme senare")

    async def body(bot: Bot) -> tuple[Update, ...]:
        return await bot.get_updates(timeout=0)

    first, second = run_bot(api, body)
    gap = second.message.date - first.message.date
    assert 3600 <= gap.total_seconds() <= 3601
