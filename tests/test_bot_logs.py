"""The bot's log says what happened without saying who answered what, even when things fail."""

from __future__ import annotations

import re

import pytest

from bot.texts import deltagare as t
from tests.e2e import (
    TOKEN,
    BotUnderTest,
    open_survey,
    question,
    sensitive_inputs,
    submit,
    walk,
)

pytestmark = pytest.mark.e2e

ANSWERS = [
    "Vill inte svara", "För det mesta", "Sällan", "Aldrig", "Vet inte", "Alltid", "I viss mån",
    "Ofta", "Ja", "I låg grad", "Inte alls",
    "Min handläggare Birgitta Lundqvist på Arbetsförmedlingen Lidköping",
    "Jag heter Kristoffer och mitt nummer är 19850412-1234",
    "Hemlig synpunkt om praktikplatsen på Volvo",
]


def test_the_log_holds_no_answer_name_chat_id_or_token_even_after_errors(
    bot: BotUnderTest,
) -> None:
    bot.start()
    token = bot.link()
    kris = bot.phone(730_007_001, "Kristoffer")
    open_survey(kris, token)
    walk(kris, ANSWERS[:5])
    sixth = question(kris, 6, 14)

    # The next question cannot be sent: the bot shows it again by itself once it can.
    bot.api.inject_error("editMessageText", status=502)
    kris.tap(ANSWERS[5], sixth)
    question(kris, 7, 14)
    kris.send("/start")
    kris.wait_for_text(t.WELCOME_BACK)
    # The long poll breaks once: PTB logs it with a traceback, which must not hold the token.
    bot.api.inject_error("getUpdates", status=None)
    walk(kris, ANSWERS[6:], first=7)
    submit(kris)

    log = bot.log
    # No line per answer: which items were asked, and how many, shows the 8 → 9–10 branch.
    assert "event=answer" not in log and "item=" not in log
    assert "event=send_failed" in log and "event=submitted" in log
    assert TOKEN not in log and TOKEN.split(":")[1] not in log
    secrets = [
        str(kris.user_id), kris.name, token, *ANSWERS,
        "Birgitta", "Lundqvist", "Lidköping", "19850412", "Volvo",
        "vill_inte_svara", "for_det_mesta", "sallan", "aldrig", "vet_inte", "ibland",
    ]
    assert set(sensitive_inputs(kris)) >= {token, ANSWERS[1], ANSWERS[-1]}
    for secret in secrets:
        assert re.search(rf"(?<!\w){re.escape(secret)}(?!\w)", log) is None, secret
    # Chats are told apart by a short keyed hash, the same one across the whole conversation.
    assert len(set(re.findall(r"chat=([0-9a-f]+)", log))) == 1
