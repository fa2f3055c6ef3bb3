"""The running bot keeps nothing of a participant once their survey is over (issue 9.5).

Every table the bot keeps in memory per chat (locks, queues, owed steps, cached chat keys,
python-telegram-bot's own bookkeeping) must let go of a chat when its participant is done:
otherwise memory grows with every participant for as long as the process runs, and chat ids
outlive the surveys they belong to. `make minne` measures the memory; this test names what
holds on.
"""

from __future__ import annotations

import asyncio
import gc
import types
from collections.abc import Iterable
from pathlib import Path

import pytest

from bot.app import build_application, running
from bot.config import Settings
from bot.texts import deltagare as t
from storage import open_store
from tests.botapi import FakeBotAPI, Phone
from tests.e2e import BOT_USERNAME, INSATS, TOKEN, flat, open_survey, overview, question

pytestmark = pytest.mark.botapi

FIRST_CHAT = 8_100_000_017
"""Chat ids no other number in the process is likely to equal by chance."""
PARTICIPANTS = 3
STEP = 20.0

SKIPPED = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
           types.CodeType, types.FrameType, types.CoroutineType, types.GeneratorType)
"""Not followed: classes, modules and code are shared by all, and a running frame's locals
are the work in progress, not what is kept."""


def holders(roots: Iterable[object], wanted: set[int]) -> list[str]:
    """Return the type names of containers reachable from `roots` that hold a `wanted` int."""
    seen: set[int] = set()
    stack = list(roots)
    found: list[str] = []
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, SKIPPED):
            continue
        seen.add(id(obj))
        for ref in gc.get_referents(obj):
            if type(ref) is int and ref in wanted:
                found.append(f"{type(obj).__name__} {ref}")
            elif not isinstance(ref, (str, bytes, int, float)):
                stack.append(ref)
    return found


def answer_and_submit(phone: Phone, token: str) -> None:
    """Open the link, skip or write every question, submit, and wait for the thanks."""
    open_survey(phone, token, STEP)
    n = 1
    while True:
        msg = phone.wait_for(
            lambda m: m.text.startswith(("Fråga ", t.OVERVIEW_TITLE)) and bool(m.buttons), STEP,
            consume=False,
        )
        if msg.text.startswith(t.OVERVIEW_TITLE):
            break
        msg = question(phone, n, timeout=STEP)
        if t.BUTTON_SKIP in flat(msg.buttons):
            phone.tap(t.BUTTON_SKIP, msg)
        else:
            phone.send("Att någon lyssnar.")
        n += 1
    phone.tap(t.BUTTON_SUBMIT, overview(phone, STEP))
    phone.wait_for_text(t.THANKS.split("\n")[0], STEP)


def test_nothing_in_the_running_bot_holds_the_chats_of_participants_who_are_done(tmp_path: Path):
    async def scenario() -> list[str]:
        with FakeBotAPI(token=TOKEN, bot_username=BOT_USERNAME) as api:
            settings = Settings(token=TOKEN, db_path=tmp_path / "e.db", api_url=api.base_url,
                                poll_timeout=1)
            store = open_store(settings.db_path)
            store.add_insats(INSATS)
            links = store.create_links(INSATS, "deltagare-pagaende", count=PARTICIPANTS)
            app = build_application(settings, store)
            chats = [FIRST_CHAT + n for n in range(PARTICIPANTS)]
            async with running(app, settings, secret=None):
                for chat, link in zip(chats, links, strict=True):
                    phone = api.phone(chat, first_name="Deltagare")
                    await asyncio.to_thread(answer_and_submit, phone, link)
                responses = store.db.execute("SELECT count(*) FROM response").fetchone()[0]
                assert responses == PARTICIPANTS
                # The last tap's handler may still be finishing (its replies went out before
                # it returned): wait, with a deadline, for every chat to be let go of.
                deadline = asyncio.get_running_loop().time() + STEP
                while (found := holders([app, store], set(chats))) and (
                        asyncio.get_running_loop().time() < deadline):
                    await asyncio.sleep(0.1)
                return found

    assert asyncio.run(scenario()) == []
