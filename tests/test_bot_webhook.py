"""Webhook mode: with ENKATBOT_WEBHOOK_URL set, the real bot registers its webhook with a secret
token, answers updates POSTed to it, and turns away POSTs without the secret."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from bot.texts import deltagare as t

pytestmark = pytest.mark.e2e

SECRET = "hemlig-webhook-nyckel_123"
PUBLIC_URL = "https://enkat.example.se/bot"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port: int, update: dict, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/telegram", data=json.dumps(update).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def _start_update(update_id: int, user_id: int, text: str) -> dict:
    user = {"id": user_id, "is_bot": False, "first_name": "Wilma"}
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Wilma"},
            "from": user,
            "text": text,
            "entities": entities,
        },
    }


def test_webhook_mode_registers_the_secret_and_only_trusts_it(bot):
    port = _free_port()
    token = bot.link("deltagare-pagaende")
    wilma = bot.api.phone(1001, "Wilma", started=True)
    bot.phones.append(wilma)
    bot.start(
        ENKATBOT_WEBHOOK_URL=PUBLIC_URL,
        ENKATBOT_WEBHOOK_SECRET=SECRET,
        ENKATBOT_WEBHOOK_LISTEN="127.0.0.1",
        ENKATBOT_WEBHOOK_PORT=str(port),
    )
    call = bot.api.wait_for_call("setWebhook", timeout=20)
    assert call.params["url"] == f"{PUBLIC_URL}/telegram"
    assert call.params["secret_token"] == SECRET
    assert not call.params.get("drop_pending_updates")
    assert bot.api.calls_of("getUpdates") == []  # no long polling beside the webhook

    deadline = time.monotonic() + 20
    while True:  # the webhook server comes up just after setWebhook
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            assert time.monotonic() < deadline, "the webhook server never listened"
            time.sleep(0.1)

    forged = _post(port, _start_update(1, 1001, f"/start {token}"), secret="fel")
    missing = _post(port, _start_update(2, 1001, f"/start {token}"), secret=None)
    assert forged == 403 and missing == 403

    # The refused posts started nothing: the first thing the bot says is the greeting for
    # the real one, which it handles after them.
    def post_the_real_one() -> None:
        assert _post(port, _start_update(3, 1001, f"/start {token}"), secret=SECRET) == 200

    greeting = wilma.expect_nothing_before(
        post_the_real_one, lambda m: t.BUTTON_START in m.content
    )
    assert greeting.buttons == [[t.BUTTON_START]]


def _post_raw(port: int, body: bytes, secret: str = SECRET) -> int:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/telegram", data=body,
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def _start_webhook_only(bot, port: int) -> None:
    bot.start(
        ENKATBOT_WEBHOOK_URL=PUBLIC_URL,
        ENKATBOT_WEBHOOK_SECRET=SECRET,
        ENKATBOT_WEBHOOK_LISTEN="127.0.0.1",
        ENKATBOT_WEBHOOK_PORT=str(port),
    )
    bot.api.wait_for_call("setWebhook", timeout=20)
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            assert time.monotonic() < deadline, "the webhook server never listened"
            threading.Event().wait(0.05)  # polling the port; the deadline bounds the wait


def test_webhook_without_the_web_acknowledges_garbage_and_answers_after_handling(bot):
    port = _free_port()
    token = bot.link("deltagare-pagaende")
    wilma = bot.api.phone(1001, "Wilma", started=True)
    bot.phones.append(wilma)
    _start_webhook_only(bot, port)

    # Refused, Telegram would send each of these again and again: acknowledged and counted.
    secret_name = "Annelie Svanström"
    garbage = [
        b"\xff\xfe not json at all",
        json.dumps(["Hej", secret_name]).encode(),
        json.dumps({"update_id": 5, "poll": {"id": "1", "question": secret_name}}).encode(),
    ]
    assert [_post_raw(port, body) for body in garbage] == [200, 200, 200]
    bot.wait_for_log("event=update_unparseable", after=2)
    assert "count=3" in bot.log
    assert secret_name not in bot.log and "Svanström" not in bot.log
    assert "Traceback" not in bot.log

    # A good update: by the time Telegram gets its 200, the greeting has been sent.
    assert _post(port, _start_update(6, 1001, f"/start {token}"), secret=SECRET) == 200
    assert any(t.BUTTON_START in m.content for m in wilma.messages)


def test_an_update_whose_webhook_post_died_with_the_bot_is_handled_once_when_resent(bot):
    port = _free_port()
    token = bot.link("deltagare-pagaende")
    wilma = bot.api.phone(1001, "Wilma", started=True)
    bot.phones.append(wilma)
    _start_webhook_only(bot, port)

    # The greeting is held in flight: Telegram has no 200 yet when the bot is killed.
    bot.api.hold("sendMessage")
    update = _start_update(7, 1001, f"/start {token}")
    answered: list[int] = []

    def post_until_it_dies() -> None:
        try:
            answered.append(_post(port, update, SECRET))
        except OSError:  # the connection died with the bot: no answer, as Telegram sees it
            answered.append(0)

    poster = threading.Thread(target=post_until_it_dies)
    poster.start()
    bot.api.wait_held("sendMessage")
    assert answered == []
    bot.kill()
    bot.api.release("sendMessage")
    poster.join(30)
    assert answered == [0]

    # Telegram sends it again to the restarted bot: the survey it started is shown, once,
    # and the link is not "already used" by the participant's own first try.
    _start_webhook_only(bot, port)
    assert _post(port, update, SECRET) == 200
    greetings = [m for m in wilma.messages if t.BUTTON_START in m.content]
    assert len(greetings) == 1 and greetings[0].buttons == [[t.BUTTON_START]]
    assert not any(m.text.startswith(t.LINK_USED[:30]) for m in wilma.messages)
    assert bot.sql("SELECT in_progress FROM link") == [(1,)]
    assert bot.session_answers(1001) == {}
