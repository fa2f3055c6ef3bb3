"""Staff actions in the bot land in the audit log (who and when); participants never do.

Also /integritet, which names the förbund and its contact from the settings.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.texts import deltagare as t
from bot.texts import personal as p
from questionnaires.model import get
from tests.e2e import (
    ADMIN_ID,
    BOT_USERNAME,
    BotUnderTest,
    flat,
    open_survey,
    submit,
    walk,
)

pytestmark = pytest.mark.e2e

STAFF_ID = 730_004_002
PARTICIPANT_ID = 730_004_009


def answers() -> list[str]:
    """Return a full set of answers to deltagare-pagaende, free text included."""
    q = get("deltagare-pagaende")
    # Each item's own scale: some take the frequency labels, some the degree labels.
    rated = [item.scale.options[n % 6].label for n, item in enumerate(q.items[:8])
             if item.scale is not None]
    return [*rated, "Jag vill hitta ett jobb", t.BUTTON_SKIP, "Inget mer"]


def audit(bot: BotUnderTest) -> list[tuple[str, str, str]]:
    """Return the audit log as (actor, action, detail) rows, oldest first."""
    return [tuple(r) for r in bot.sql("SELECT actor, action, detail FROM audit_log ORDER BY id")]


def test_each_staff_action_is_logged_with_who_and_when(bot: BotUnderTest) -> None:
    began = datetime.now(UTC).replace(microsecond=0)
    bot.start()
    ada = bot.phone(ADMIN_ID, "Adelina")
    ada.send("/ny_insats Nya vägar")
    ada.wait_for_text(p.NEW_INSATS_DONE.format(name="Nya vägar"))
    assert audit(bot) == [(str(ADMIN_ID), "insats_skapad", "Nya vägar")]

    ada.send("/bjudin")
    choose = ada.wait_for_text(p.CHOOSE_ROLE)
    ada.tap("Personal", choose)
    invite = ada.wait_for(lambda m: m.message_id == choose.message_id and "t.me" in m.text)
    found = re.search(rf"https://t\.me/{BOT_USERNAME}\?start=(inv_[\w-]+)", invite.text)
    assert found is not None
    assert audit(bot)[-1] == (str(ADMIN_ID), "inbjudan_skapad", "roll staff")

    pia = bot.phone(STAFF_ID, "Pernilla")
    pia.send(f"/start {found.group(1)}")
    pia.wait_for_text("Välkommen! Du har nu rollen personal.")
    assert audit(bot)[-1] == (str(STAFF_ID), "inbjudan_anvand", "fick rollen staff")

    pia.send("/lank")
    choose = pia.wait_for_text(p.CHOOSE_INSATS)
    pia.tap("Nya vägar", choose)
    enkat = pia.wait_for(lambda m: m.message_id == choose.message_id and bool(m.buttons))
    pia.tap("Pågående (under insatsen)", enkat)
    created = pia.wait_for_text("Enkätlänk för Nya vägar, pågående.")
    token = re.search(r"start=([\w-]+)", created.text)
    assert token is not None
    assert audit(bot)[-1] == (
        str(STAFF_ID), "lankar_skapade", "1 länk, Nya vägar, deltagare-pagaende"
    )
    log = bot.sql("SELECT at, actor, action, detail FROM audit_log")
    assert all(token.group(1) not in " ".join(map(str, row)) for row in log)
    assert all(found.group(1) not in " ".join(map(str, row)) for row in log)
    for at, *_ in log:
        when = datetime.fromisoformat(at)
        assert began <= when <= datetime.now(UTC) + timedelta(seconds=1)


def test_participants_never_reach_the_audit_log(bot: BotUnderTest) -> None:
    bot.start()
    sam = bot.phone(PARTICIPANT_ID, "Samir")
    open_survey(sam, bot.link("deltagare-pagaende"))
    walk(sam, answers())
    submit(sam)
    rut = bot.phone(PARTICIPANT_ID + 1, "Ruth")
    open_survey(rut, bot.link("deltagare-pagaende"))
    walk(rut, answers()[:3])
    rut.send("/radera")
    rut.wait_for(lambda m: bool(m.buttons) and t.CONFIRM_DELETE in m.text)
    assert len(bot.responses()) == 1
    assert audit(bot) == []


def test_integritet_names_the_forbund_and_its_contact(bot: BotUnderTest) -> None:
    bot.start(ENKATBOT_FORBUND="Samordningsförbundet Norra Exempel",
              ENKATBOT_KONTAKT="dataskydd@exempel.se, 010-123 45 67")
    sam = bot.phone(PARTICIPANT_ID, "Samir")
    sam.send("/integritet")
    shown = sam.wait_for_text(t.PRIVACY.splitlines()[0])
    assert "Personuppgiftsansvarig är Samordningsförbundet Norra Exempel." in shown.text
    assert "Frågor om dina uppgifter: dataskydd@exempel.se, 010-123 45 67." in shown.text


def test_integritet_without_settings_points_to_staff(bot: BotUnderTest) -> None:
    bot.start()
    sam = bot.phone(PARTICIPANT_ID, "Samir")
    sam.send("/integritet")
    shown = sam.wait_for_text(t.PRIVACY.splitlines()[0])
    assert t.PRIVACY_NO_CONTACT in shown.text and "Personuppgiftsansvarig" not in shown.text
    assert flat(shown.buttons) == []
