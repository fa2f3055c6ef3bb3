"""Serving the bot over HTTP: the web survey and/or Telegram's webhook, through uvicorn.

Only `bot.app.run` imports this module, and only when ENKATBOT_WEBB_URL or
ENKATBOT_WEBHOOK_URL is set: a polling bot never loads Starlette, Jinja2 or uvicorn.
The bot's Application runs inside the web server's lifespan, in its event loop.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp
from telegram import Update

from bot.config import WEBHOOK_PATH, ConfigError, Settings, deep_link
from bot.context import BotApplication, Deps
from bot.delivery import TolerantBot, handle_update
from bot.survey import SurveyService
from bot.texts import drift
from web.app import WebConfig, create_app, server_config

log = logging.getLogger("enkatbot")

MAX_UPDATE_BYTES = 1 << 20

Running = Callable[[], AbstractAsyncContextManager[None]]
"""Runs the bot's Application (jobs; the webhook registered) for as long as the block lasts."""


def serve_bot(app: BotApplication, settings: Settings, secret: str, running: Running) -> None:
    """Serve the web survey (ENKATBOT_WEBB_URL) and/or the webhook until SIGTERM or SIGINT.

    With the web survey the webhook (if any) is on the web server's port; with a webhook and
    no web survey, the webhook alone is served on ENKATBOT_WEBHOOK_LISTEN:…_PORT. Raises
    ConfigError (one Swedish sentence) when the port cannot be had.
    """
    if settings.webb_url:
        sock = listening_socket(settings.webb_listen, settings.webb_port, "ENKATBOT_WEBB")
        serve(build_web(app, settings, secret, running), sock)
    else:
        sock = listening_socket(settings.webhook_listen, settings.webhook_port,
                                "ENKATBOT_WEBHOOK")
        serve(build_webhook(app, secret, running), sock)


def webhook_route(app: BotApplication, secret: str) -> Route:
    """Return the route at /telegram that feeds Telegram's POSTs to the bot.

    A POST without the secret token Telegram was given is refused with 403, as PTB's own
    webhook server does. Telegram sends an update again until it gets 200, so 200 comes only
    once the update has been handled; an update that cannot be read is acknowledged (and
    counted, never logged), or Telegram would send it again and again.
    """

    async def receive(request: Request) -> Response:
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), secret.encode()):
            return Response(status_code=403)
        body = await request.body()
        try:
            if len(body) > MAX_UPDATE_BYTES:
                raise ValueError("too large")
            update = Update.de_json(json.loads(body), app.bot)
            if not isinstance(update, Update):
                raise ValueError("not an update")
        except Exception as exc:
            if isinstance(app.bot, TolerantBot):
                app.bot.skip_unparseable(exc)
            return Response()
        app.bot.insert_callback_data(update)
        await handle_update(app, update)
        return Response()

    return Route(f"/{WEBHOOK_PATH}", receive, methods=["POST"])


def listening_socket(host: str, port: int, env_prefix: str = "ENKATBOT_WEBB") -> socket.socket:
    """Return a socket bound to host:port, or raise ConfigError saying what to change.

    `env_prefix` names the settings (…_LISTEN, …_PORT) the message tells the reader to change.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        what = drift.WEB_SERVER if env_prefix == "ENKATBOT_WEBB" else drift.WEBHOOK_SERVER
        raise ConfigError(drift.CANNOT_LISTEN.format(what=what, host=host, port=port,
                                                     reason=exc.strerror, prefix=env_prefix)
                          ) from exc
    sock.set_inheritable(True)
    return sock


def build_web(app: BotApplication, settings: Settings, secret: str, running: Running) -> ASGIApp:
    """Return the ASGI app serving the web survey (and the webhook), running `app` inside.

    The Application runs in the web server's lifespan: while the server runs, in its loop.
    """
    d: Deps = app.bot_data.deps
    assert settings.webb_url is not None

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with running():
            log.info("event=web_started")
            yield

    def telegram_link(token: str) -> str | None:
        try:
            username = app.bot.username
        except RuntimeError:  # the bot has not asked Telegram for its name yet
            return None
        return deep_link(username, token) if username else None

    routes = [webhook_route(app, secret)] if settings.webhook_url else []
    return create_app(
        SurveyService(d.service.store, remind=False),
        WebConfig(
            base_url=settings.webb_url, telegram_link=telegram_link,
            cookie_days=settings.expiry_days,
        ),
        routes=routes,
        lifespan=lifespan,
    )


def build_webhook(app: BotApplication, secret: str, running: Running) -> ASGIApp:
    """Return the ASGI app serving only the webhook (the web survey is off), running `app`."""

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with running():
            yield

    return Starlette(routes=[webhook_route(app, secret)], lifespan=lifespan)


def _after_serving(signum: int, frame: object) -> None:
    """Swallow the stop signal uvicorn raises again once it has shut down cleanly."""


def serve(asgi: ASGIApp, sock: socket.socket) -> None:
    """Serve `asgi` with uvicorn on `sock` until SIGTERM or SIGINT; the bot runs inside it."""
    server = uvicorn.Server(server_config(asgi))
    # uvicorn re-raises SIGTERM after a graceful stop; the default action would then kill the
    # process with the signal instead of the clean exit code 0 systemd expects.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _after_serving)
    asyncio.run(server.serve(sockets=[sock]))
    if not server.started:
        raise ConfigError(drift.SERVER_DID_NOT_START)


__all__ = ["build_web", "build_webhook", "serve_bot", "webhook_route"]
