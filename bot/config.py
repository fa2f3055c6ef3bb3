"""Settings, read from environment variables (names are a contract: add, never rename)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from bot.texts import drift as t
from storage import default_db_path

BOTFATHER_HELP = t.BOTFATHER_HELP


class ConfigError(Exception):
    """A setting is missing or malformed; the message says how to fix it, in Swedish."""


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(t.NOT_AN_INTEGER.format(name=name, raw=raw)) from exc
    if value < minimum:
        raise ConfigError(t.BELOW_MINIMUM.format(name=name, minimum=minimum))
    return value


def _ids(raw: str | None) -> frozenset[int]:
    out: set[int] = set()
    for part in (raw or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.lstrip("-").isdigit():
            raise ConfigError(t.BAD_ADMIN_ID.format(part=part))
        out.add(int(part))
    return frozenset(out)


def _base_url(name: str, raw: str | None) -> str | None:
    value = (raw or "").strip().rstrip("/")
    if not value:
        return None
    if not value.startswith(("https://", "http://")) or "?" in value or "#" in value:
        raise ConfigError(t.BAD_BASE_URL.format(name=name, raw=raw))
    return value


class BotApiUrls(TypedDict, total=False):
    """PTB's keyword arguments for a Bot API server other than Telegram's own."""

    base_url: str
    base_file_url: str


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment."""

    token: str | None
    db_path: Path
    api_url: str | None = None
    bot_username: str | None = None
    admins: frozenset[int] = field(default_factory=frozenset)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    reminder_days: int = 2
    expiry_days: int = 14
    threshold: int = 5
    report_day: int = 1
    report_hour: int = 8
    report_minute: int = 0
    timezone: str = "Europe/Stockholm"
    link_valid_days: int = 30
    poll_timeout: int = 30
    remind_any_hour: bool = False
    webb_url: str | None = None
    webb_listen: str = "127.0.0.1"
    webb_port: int = 8080
    forbund: str | None = None
    """The samordningsförbund's name: on every report and in the participants' greeting."""
    kontakt: str | None = None
    """Who participants contact about their data (ENKATBOT_KONTAKT), named by /integritet."""
    gallring_years: int | None = None
    """Years to keep responses (ENKATBOT_GALLRING_AR); None keeps them."""

    @classmethod
    def from_env(cls) -> Settings:
        """Return the settings from the environment; raise ConfigError on a malformed value."""
        env = os.environ.get
        return cls(
            token=(env("TELEGRAM_BOT_TOKEN") or "").strip() or None,
            db_path=default_db_path(),
            api_url=(env("TELEGRAM_API_URL") or "").rstrip("/") or None,
            bot_username=(env("TELEGRAM_BOT_USERNAME") or "").lstrip("@") or None,
            admins=_ids(env("ENKATBOT_ADMINS")),
            webhook_url=env("ENKATBOT_WEBHOOK_URL") or None,
            webhook_secret=env("ENKATBOT_WEBHOOK_SECRET") or None,
            webhook_listen=env("ENKATBOT_WEBHOOK_LISTEN") or "127.0.0.1",
            webhook_port=_int("ENKATBOT_WEBHOOK_PORT", 8443, 1),
            reminder_days=_int("ENKATBOT_PAMINNELSE_DAGAR", 2, 1),
            expiry_days=_int("ENKATBOT_UTGANG_DAGAR", 14, 1),
            threshold=_int("ENKATBOT_SMA_GRUPPER", 5, 1),
            report_day=_int("ENKATBOT_RAPPORT_DAG", 1, 1),
            report_hour=_int("ENKATBOT_RAPPORT_TIMME", 8, 0),
            report_minute=_int("ENKATBOT_RAPPORT_MINUT", 0, 0),
            timezone=env("ENKATBOT_TIDSZON") or "Europe/Stockholm",
            link_valid_days=_int("ENKATBOT_LANK_GILTIG_DAGAR", 30, 1),
            poll_timeout=_int("ENKATBOT_POLL_TIMEOUT", 30, 0),
            # For tests and trials: remind at any hour, first check ~1 s after start.
            remind_any_hour=(env("ENKATBOT_PAMINNELSE_ALLTID") or "").strip().lower()
            in ("1", "true", "ja", "yes"),
            webb_url=_base_url("ENKATBOT_WEBB_URL", env("ENKATBOT_WEBB_URL")),
            webb_listen=env("ENKATBOT_WEBB_LISTEN") or "127.0.0.1",
            webb_port=_int("ENKATBOT_WEBB_PORT", 8080, 1),
            forbund=" ".join((env("ENKATBOT_FORBUND") or "").split()) or None,
            kontakt=" ".join((env("ENKATBOT_KONTAKT") or "").split()) or None,
            gallring_years=_int("ENKATBOT_GALLRING_AR", 0, 1) or None,
        )

    def bot_api_urls(self) -> BotApiUrls:
        """Return PTB's base_url and base_file_url for TELEGRAM_API_URL ({} for Telegram's own).

        With them the bot calls {TELEGRAM_API_URL}/bot{token}/{method}.
        """
        if not self.api_url:
            return {}
        return {"base_url": f"{self.api_url}/bot", "base_file_url": f"{self.api_url}/file/bot"}

    def require_token(self) -> str:
        """Return the bot token, or raise ConfigError telling how to get one from BotFather."""
        if not self.token:
            raise ConfigError(BOTFATHER_HELP)
        return self.token


WEBHOOK_PATH = "telegram"
"""The webhook's URL path under ENKATBOT_WEBHOOK_URL."""


def deep_link(username: str, token: str) -> str:
    """Return the Telegram deep link that opens the bot with `/start <token>`."""
    return f"https://t.me/{username}?start={token}"


def web_link(base_url: str, token: str) -> str:
    """Return the web survey's page for a link: `{ENKATBOT_WEBB_URL}/e/<token>`."""
    return f"{base_url.rstrip('/')}/e/{token}"


def survey_link(settings: Settings, username: str, token: str) -> str:
    """Return the link to hand a participant: the web page when the web is on, else Telegram's.

    The web page offers both channels, so it is the one link for everybody.
    """
    if settings.webb_url:
        return web_link(settings.webb_url, token)
    return deep_link(username, token)
