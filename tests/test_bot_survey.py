"""A participant answers a whole survey in Telegram: both avslut branches, going back,
changing an answer from the overview, and Skicka in spending the link."""

from __future__ import annotations

import pytest

from bot.texts import deltagare as t
from questionnaires.model import get
from tests.e2e import (
    BotUnderTest,
    expected_answers,
    flat,
    is_question,
    open_survey,
    overview,
    question,
    reply,
    submit,
    wait_answered,
    walk,
)

pytestmark = pytest.mark.e2e

AVSLUT_JA = [
    "Kvinna", "Alltid", "För det mesta", "Ofta", "Ibland", "Sällan", "Inte alls", "Vet inte",
    "Ja", "I mycket hög grad", "I ganska hög grad",
    "Att jag får plugga på distans och i min egen takt",
    t.BUTTON_SKIP,
    "Mer tid med samma handläggare",
]
AVSLUT_NEJ = [*AVSLUT_JA[:8], "Nej", *AVSLUT_JA[11:]]


def test_avslut_ja_branch_to_the_end_and_the_link_is_spent(bot: BotUnderTest) -> None:
    bot.start()
    token = bot.link("deltagare-avslut")
    anna = bot.phone(730_001_001, "Annika")

    anna.send(f"/start {token}")
    greeting = anna.wait_for_text("Den har 14 frågor")
    assert "anonyma" in greeting.text and flat(greeting.buttons) == [t.BUTTON_START]
    anna.tap(t.BUTTON_START, greeting)
    asked = walk(anna, AVSLUT_JA)
    assert [m.text.split("\n")[0] for m in asked] == [f"Fråga {n} av 14" for n in range(1, 15)]
    # The questions are the instrument's own words, in its order.
    assert [m.text.split("\n")[1] for m in asked] == [i.text for i in get("deltagare-avslut").items]
    assert t.BUTTON_BACK not in flat(asked[0].buttons)
    assert all(t.BUTTON_BACK in flat(m.buttons) for m in asked[1:])

    shown = overview(anna)
    for n, item in enumerate(get("deltagare-avslut").items, 1):
        assert f"{n}. {item.text}" in shown.text
    assert "→ Hoppade över" in shown.text and "→ Vet inte" in shown.text
    submit(anna, shown)

    assert bot.responses() == [
        ("deltagare-avslut", "Steg framåt", expected_answers("deltagare-avslut", AVSLUT_JA))
    ]
    assert bot.session_answers(anna.user_id) is None
    assert bot.responses("in_progress") == [] and bot.responses("partial") == []

    anna.send(f"/start {token}")
    anna.wait_for_text(t.LINK_USED)
    anna.send("hej")
    anna.wait_for_text(t.NO_LINK)


def test_avslut_nej_branch_skips_9_and_10_to_the_end(bot: BotUnderTest) -> None:
    bot.start()
    bo = bot.phone(730_001_002, "Bosse")
    open_survey(bo, bot.link("deltagare-avslut"))
    walk(bo, AVSLUT_NEJ[:9])
    # After Nej on 8 the total shrinks to 12: questions 9 and 10 are never asked.
    for n, answer in zip(range(10, 13), AVSLUT_NEJ[9:], strict=True):
        msg = question(bo, n, 12)
        assert msg.text.split("\n")[1] == get("deltagare-avslut").items[n + 1].text
        reply(bo, msg, answer)
    shown = overview(bo)
    assert "Finns det en tillräcklig planering" not in shown.text
    assert "påbörjas inom rimlig tid" not in shown.text
    assert "9. Har ni påbörjat en planering" in shown.text and "→ Nej" in shown.text
    submit(bo, shown)

    (stored,) = bot.responses()
    assert stored[2] == expected_answers("deltagare-avslut", AVSLUT_NEJ)
    assert "avslut-9" not in stored[2] and "avslut-10" not in stored[2]
    assert stored[2]["avslut-8"] == "nej"


def test_going_back_changes_an_answer_and_returns_to_where_you_were(bot: BotUnderTest) -> None:
    bot.start()
    cia = bot.phone(730_001_003, "Cecilia")
    open_survey(cia, bot.link("deltagare-avslut"))
    walk(cia, ["Man", "Alltid"])
    third = question(cia, 3, 14)
    cia.tap(t.BUTTON_BACK, third)
    again = question(cia, 2, 14)
    assert t.BUTTON_BACK in flat(again.buttons)
    cia.tap(t.BUTTON_BACK, again)
    first = question(cia, 1, 14)
    assert t.BUTTON_BACK not in flat(first.buttons)
    # Changing an earlier answer leads back to where Cecilia left off, not through 2 again.
    cia.tap("Annat", first)
    third = question(cia, 3, 14)
    cia.tap(t.BUTTON_BACK, third)
    cia.tap("Sällan", question(cia, 2, 14))
    walk(cia, AVSLUT_JA[2:], first=3)
    # From the overview, Föregående asks the last question again.
    cia.tap(t.BUTTON_BACK, overview(cia))
    last = question(cia, 14, 14)
    cia.send("Kortare väntetider")
    wait_answered(cia, last, "Kortare väntetider")
    submit(cia)

    (stored,) = bot.responses()
    answers = ["Annat", "Sällan", *AVSLUT_JA[2:13], "Kortare väntetider"]
    assert stored[2] == expected_answers("deltagare-avslut", answers)


def test_changing_8_from_ja_to_nej_in_the_overview_drops_9_and_10(bot: BotUnderTest) -> None:
    bot.start()
    dan = bot.phone(730_001_004, "Dante")
    open_survey(dan, bot.link("deltagare-avslut"))
    walk(dan, AVSLUT_JA)
    before = overview(dan)
    assert "10. Finns det en tillräcklig planering" in before.text

    dan.tap(t.BUTTON_CHANGE, before)
    choose = dan.wait_for(lambda m: m.text == t.CHOOSE_CHANGE and bool(m.buttons))
    labels = flat(choose.buttons)
    assert len(labels) == 15 and labels[-1] == t.BUTTON_CANCEL_CHANGE
    (eight,) = [label for label in labels if label.startswith("9. Har ni påbörjat")]
    dan.tap(eight, choose)
    again = dan.wait_for(is_question(9, 14))
    assert "Har ni påbörjat en planering" in again.text
    assert flat(again.buttons)[:2] == ["Ja", "Nej"]
    dan.tap("Nej", again)
    wait_answered(dan, again, "Nej")

    after = overview(dan)
    assert "Finns det en tillräcklig planering" not in after.text
    assert "påbörjas inom rimlig tid" not in after.text
    assert "9. Har ni påbörjat en planering" in after.text
    assert "10. Vad är viktigt för dig" in after.text
    # 9 and 10 are gone from the database already, before Skicka in.
    answers = bot.session_answers(dan.user_id)
    assert answers is not None and answers["avslut-8"] == "nej"
    assert "avslut-9" not in answers and "avslut-10" not in answers

    # Cancelling a change shows the overview again and changes nothing.
    dan.tap(t.BUTTON_CHANGE, after)
    choose = dan.wait_for(lambda m: m.text == t.CHOOSE_CHANGE and bool(m.buttons))
    assert len(flat(choose.buttons)) == 13
    dan.tap(t.BUTTON_CANCEL_CHANGE, choose)
    submit(dan)
    (stored,) = bot.responses()
    assert stored[2] == expected_answers("deltagare-avslut", AVSLUT_NEJ)
