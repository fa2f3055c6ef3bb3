"""Roles in the bot: a stranger is refused, an admin invites staff, staff hand out a link, and
a participant uses it."""

from __future__ import annotations

import re

import pytest

from bot.texts import deltagare as t
from bot.texts import personal as p
from tests.e2e import (
    ADMIN_ID,
    BOT_USERNAME,
    BotUnderTest,
    expect_no_reply,
    expected_answers,
    flat,
    open_survey,
    submit,
    walk,
)

pytestmark = pytest.mark.e2e

PARTICIPANT_MENU = ["start", "hjalp", "integritet", "avbryt", "radera"]
PAGAENDE = [
    "Vill inte svara", "För det mesta", "Alltid", "Ibland", "Ofta", "Vet inte", "I låg grad",
    "Aldrig", "En lugn plats att vara på", t.BUTTON_SKIP, "Fler träffar i veckan",
]


def test_the_default_menu_has_the_participant_commands(bot: BotUnderTest) -> None:
    bot.start()
    assert [c for c, _ in bot.api.commands_for()] == PARTICIPANT_MENU
    admin_menu = [c for c, _ in bot.api.commands_for({"type": "chat", "chat_id": ADMIN_ID})]
    assert admin_menu[: len(PARTICIPANT_MENU)] == PARTICIPANT_MENU
    assert {"lank", "insatser", "rapport", "ny_insats", "bjudin"} <= set(admin_menu)


def test_a_stranger_is_refused_politely(bot: BotUnderTest) -> None:
    bot.start()
    olle = bot.phone(730_003_001, "Olle")
    for command, refusal in [
        ("/lank", p.NOT_ALLOWED),
        ("/insatser", p.NOT_ALLOWED),
        ("/ny_insats Hemliga projektet", p.NEEDS_ADMIN),
        ("/bjudin", p.NEEDS_ADMIN),
        ("/rapport", p.NEEDS_COORDINATOR),
        ("/prenumerera", p.NEEDS_COORDINATOR),
    ]:
        olle.send(command)
        assert olle.wait_for(lambda m: bool(m.text)).text == refusal, command
    olle.send(f"/start inv_{'A' * 22}")
    olle.wait_for_text(p.INVITE_BAD)
    expect_no_reply(olle)
    assert bot.sql("SELECT count(*) FROM insats") == [(1,)]
    assert bot.sql("SELECT count(*) FROM user") == [(0,)]
    assert bot.sql("SELECT count(*) FROM subscription") == [(0,)]
    assert bot.api.commands_for({"type": "chat", "chat_id": olle.user_id}) == []


def test_admin_invites_staff_who_makes_a_link_that_a_participant_uses(bot: BotUnderTest) -> None:
    bot.start()
    ada = bot.phone(ADMIN_ID, "Adelina")
    ada.send("/ny_insats Nya vägar")
    ada.wait_for_text(p.NEW_INSATS_DONE.format(name="Nya vägar"))
    ada.send("/bjudin")
    choose = ada.wait_for_text(p.CHOOSE_ROLE)
    assert flat(choose.buttons) == ["Personal", "Samordnare", "Administratör"]
    ada.tap("Personal", choose)
    invite = ada.wait_for(lambda m: m.message_id == choose.message_id and "t.me" in m.text)
    assert invite.buttons == []
    found = re.search(rf"https://t\.me/{BOT_USERNAME}\?start=(inv_[\w-]+)", invite.text)
    assert found is not None, invite.text
    invite_token = found.group(1)

    pia = bot.phone(730_003_002, "Pernilla")
    pia.send(f"/start {invite_token}")
    welcome = pia.wait_for_text("Välkommen! Du har nu rollen personal.")
    assert "/lank" in welcome.text
    assert bot.sql("SELECT telegram_id, role FROM user") == [(pia.user_id, "staff")]
    menu = [c for c, _ in bot.api.commands_for({"type": "chat", "chat_id": pia.user_id})]
    assert menu == [*PARTICIPANT_MENU, "lank", "insatser"]

    # An invite works once.
    rut = bot.phone(730_003_003, "Ruth")
    rut.send(f"/start {invite_token}")
    rut.wait_for_text(p.INVITE_BAD)
    rut.send("/lank")
    rut.wait_for_text(p.NOT_ALLOWED)

    # Staff may make links but not insatser or invites.
    pia.send("/ny_insats Egen insats")
    pia.wait_for_text(p.NEEDS_ADMIN)
    pia.send("/bjudin")
    pia.wait_for_text(p.NEEDS_ADMIN)
    pia.send("/insatser")
    listing = pia.wait_for_text(p.INSATSER_TITLE)
    assert listing.text == f"{p.INSATSER_TITLE}\n• Nya vägar\n• Steg framåt"

    pia.send("/lank")
    choose = pia.wait_for_text(p.CHOOSE_INSATS)
    assert flat(choose.buttons) == ["Nya vägar", "Steg framåt"]
    pia.tap("Nya vägar", choose)
    enkat = pia.wait_for(lambda m: m.message_id == choose.message_id and bool(m.buttons))
    assert flat(enkat.buttons) == [label for _, label in p.ENKAT_CHOICES]
    pia.tap("Pågående (under insatsen)", enkat)
    created = pia.wait_for_text("Enkätlänk för Nya vägar, pågående.")
    found = re.search(rf"https://t\.me/{BOT_USERNAME}\?start=([\w-]+)", created.text)
    assert found is not None, created.text
    qr = pia.wait_for(lambda m: m.kind == "photo")
    assert qr.photo_bytes is not None and qr.photo_bytes.startswith(b"\x89PNG\r\n\x1a\n")
    assert qr.caption is not None and qr.caption.startswith("QR-kod för Nya vägar, pågående.")
    assert [m.text for m in pia.messages if m.message_id == choose.message_id] == [
        p.LINK_DONE.format(insats="Nya vägar", enkat="pågående")
    ]

    # Forged or outdated staff buttons make nothing and say so.
    for data in ("L:i:999", "L:e:999:0", "L:e:1:7", "L:x"):
        pia.tap_data(choose.message_id, data)
        pia.wait_for_text(p.STALE)
    refused = bot.api.wait_for_callback_answer(pia.tap_data(choose.message_id, "B:admin"))
    assert (refused.text, refused.show_alert) == (p.NEEDS_ADMIN, True)
    ada.tap_data(invite.message_id, "B:superuser")
    ada.wait_for_text(p.STALE)
    assert bot.sql("SELECT count(*) FROM link") == [(1,)]
    assert bot.sql("SELECT count(*) FROM invite") == [(1,)]

    sam = bot.phone(730_003_004, "Samuel")
    sam.send(f"/start {found.group(1)}")
    sam.wait_for_text("Den har 11 frågor")
    sam.tap(t.BUTTON_START)
    walk(sam, PAGAENDE)
    submit(sam)
    assert bot.responses() == [
        ("deltagare-pagaende", "Nya vägar", expected_answers("deltagare-pagaende", PAGAENDE))
    ]
    sam.send(f"/start {found.group(1)}")
    sam.wait_for_text(t.LINK_USED)


def test_staff_can_also_answer_a_survey_themselves(bot: BotUnderTest) -> None:
    """A staff member who opens a participant link gets the survey, not the staff menu."""
    bot.start()
    ada = bot.phone(ADMIN_ID, "Adelina")
    ada.send("hej")
    assert ada.wait_for(lambda m: bool(m.text)).text == p.HELP["admin"]
    open_survey(ada, bot.link("deltagare-pagaende"))
    walk(ada, PAGAENDE)
    submit(ada)
    assert len(bot.responses()) == 1
