"""`enkatbot insats`, `enkatbot link` and `enkatbot user`: insatser, survey links and roles."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.config import Settings, survey_link
from bot.qr import write_qr
from bot.texts import logg
from enkatbot import texts
from enkatbot.common import CliError, open_db, settings
from questionnaires.model import QUESTIONNAIRE_IDS, get
from storage import ROLES
from storage.audit import COMMAND_LINE


def resolve_bot_username(settings: Settings) -> str:
    """Return the bot's username: TELEGRAM_BOT_USERNAME, else asked of the Bot API (getMe)."""
    if settings.bot_username:
        return settings.bot_username
    if not settings.token:
        raise CliError(texts.NEED_USERNAME)
    # Lazy: python-telegram-bot is only needed when the username must be asked of Telegram.
    from telegram import Bot

    async def fetch() -> str:
        async with Bot(settings.token or "", **settings.bot_api_urls()) as bot:
            return bot.username

    try:
        return asyncio.run(fetch())
    except Exception as exc:
        raise CliError(texts.GETME_FAILED.format(error=exc)) from exc


def check_enkat(enkat: str) -> None:
    """Raise CliError unless `enkat` names a questionnaire (and it loads)."""
    if enkat not in QUESTIONNAIRE_IDS:
        raise CliError(texts.UNKNOWN_ENKAT.format(enkat=enkat, valid=", ".join(QUESTIONNAIRE_IDS)))
    get(enkat)


def cmd_insats_add(args: argparse.Namespace) -> int:
    """Create an insats."""
    store = open_db(args, create=True)
    insats = store.add_insats(args.name)
    store.log_action(COMMAND_LINE, "insats_skapad", insats.name)
    print(texts.INSATS_CREATED.format(name=insats.name))
    return 0


def cmd_insats_list(args: argparse.Namespace) -> int:
    """List the insatser."""
    insatser = open_db(args).list_insatser()
    if not insatser:
        print(texts.NO_INSATSER)
    for i in insatser:
        print(i.name)
    return 0


def cmd_link_create(args: argparse.Namespace) -> int:
    """Create survey links and print one deep link per participant."""
    check_enkat(args.enkat)
    current = settings(args)
    store = open_db(args)
    store.require_insats(args.insats)
    username = resolve_bot_username(current)
    tokens = store.create_links(
        args.insats,
        args.enkat,
        count=args.antal,
        valid_days=args.giltig_dagar,
        uses=args.anvandningar,
    )
    store.log_action(
        COMMAND_LINE, "lankar_skapade", logg.LINKS_CREATED.format(
            count=len(tokens), insats=args.insats, enkat=args.enkat)
    )
    width = len(str(len(tokens)))
    for n, token in enumerate(tokens, 1):
        url = survey_link(current, username, token)
        if args.qr:
            path = write_qr(url, Path(args.qr) / f"lank-{n:0{width}d}.png")
            print(f"{url}\t{path}")
        else:
            print(url)
    return 0


def cmd_link_withdraw(args: argparse.Namespace) -> int:
    """Withdraw a link (the token, or the whole t.me link)."""
    token = args.token.rsplit("start=", 1)[-1].rstrip("/").rsplit("/e/", 1)[-1]
    store = open_db(args)
    if not store.withdraw_link(token):
        raise CliError(texts.UNKNOWN_LINK)
    store.log_action(COMMAND_LINE, "lank_aterkallad", logg.LINK_WITHDRAWN)
    print(texts.LINK_WITHDRAWN)
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    """Give a Telegram user a role."""
    store = open_db(args, create=True)
    store.add_user(args.telegram_id, args.roll)
    store.log_action(COMMAND_LINE, "roll_given", logg.ROLE_GIVEN.format(
        telegram_id=args.telegram_id, role=args.roll))
    print(texts.ROLE_GIVEN.format(telegram_id=args.telegram_id, role=args.roll))
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    """List users and roles."""
    for telegram_id, role in open_db(args).users():
        print(f"{telegram_id}\t{role}")
    return 0


def cmd_user_remove(args: argparse.Namespace) -> int:
    """Take away a user's role."""
    store = open_db(args)
    if not store.remove_user(args.telegram_id):
        raise CliError(texts.NO_ROLE.format(telegram_id=args.telegram_id))
    store.log_action(COMMAND_LINE, "roll_borttagen", logg.ROLE_REMOVED.format(
        telegram_id=args.telegram_id))
    print(texts.ROLE_REMOVED.format(telegram_id=args.telegram_id))
    return 0


def register(sub: Any) -> None:
    """Add `insats`, `link` and `user` to an argparse subparsers object."""
    ins = sub.add_parser(
        "insats", help=texts.HELP["insats"], description=texts.DESCRIPTION["insats"]
    )
    ins_sub = ins.add_subparsers(dest="action", required=True, metavar="ÅTGÄRD")
    p = ins_sub.add_parser(
        "add", help=texts.HELP["insats add"], description=texts.DESCRIPTION["insats add"]
    )
    p.add_argument("name", metavar="NAMN")
    p.set_defaults(func=cmd_insats_add)
    p = ins_sub.add_parser(
        "list", help=texts.HELP["insats list"], description=texts.DESCRIPTION["insats list"]
    )
    p.set_defaults(func=cmd_insats_list)

    link = sub.add_parser("link", help=texts.HELP["link"], description=texts.DESCRIPTION["link"])
    link_sub = link.add_subparsers(dest="action", required=True, metavar="ÅTGÄRD")
    p = link_sub.add_parser(
        "create",
        help=texts.HELP["link create"],
        description=texts.DESCRIPTION["link create"],
    )
    p.add_argument("--insats", required=True, help=texts.HELP["link create --insats"])
    p.add_argument(
        "--enkat",
        required=True,
        help=texts.HELP["link create --enkat"].format(ids=', '.join(QUESTIONNAIRE_IDS)),
    )
    p.add_argument("--antal", type=int, default=1, help=texts.HELP["link create --antal"])
    p.add_argument(
        "--giltig-dagar", dest="giltig_dagar", type=int, default=30,
        help=texts.HELP["link create --giltig-dagar"],
    )
    p.add_argument(
        "--anvandningar", type=int, default=1,
        help=texts.HELP["link create --anvandningar"],
    )
    p.add_argument("--qr", metavar="MAPP", help=texts.HELP["link create --qr"])
    p.set_defaults(func=cmd_link_create)
    p = link_sub.add_parser("withdraw", help=texts.HELP["link withdraw"],
                            description=texts.DESCRIPTION["link withdraw"])
    p.add_argument("token", metavar="LÄNK", help=texts.HELP["link withdraw token"])
    p.set_defaults(func=cmd_link_withdraw)

    usr = sub.add_parser("user", help=texts.HELP["user"],
                         description=texts.DESCRIPTION["user"])
    usr_sub = usr.add_subparsers(dest="action", required=True, metavar="ÅTGÄRD")
    p = usr_sub.add_parser(
        "add", help=texts.HELP["user add"], description=texts.DESCRIPTION["user add"]
    )
    p.add_argument("telegram_id", type=int, metavar="TELEGRAM_ID")
    p.add_argument("--roll", choices=ROLES, default="admin", help=texts.HELP["user add --roll"])
    p.set_defaults(func=cmd_user_add)
    p = usr_sub.add_parser(
        "list", help=texts.HELP["user list"], description=texts.DESCRIPTION["user list"]
    )
    p.set_defaults(func=cmd_user_list)
    p = usr_sub.add_parser(
        "remove", help=texts.HELP["user remove"], description=texts.DESCRIPTION["user remove"]
    )
    p.add_argument("telegram_id", type=int, metavar="TELEGRAM_ID")
    p.set_defaults(func=cmd_user_remove)
