"""`enkatbot chat`: answer a questionnaire in the terminal, through the same engine and storage.

A second front end to `bot.survey`, for trying the bot without Telegram: buttons become
numbered choices. Every answer is committed before the next question is printed, so a killed
process resumes where it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from bot.survey import Current, SurveyService
from bot.texts import deltagare as t
from questionnaires import engine
from questionnaires.textclean import clean_text
from storage import Store

TERMINAL_CHAT_ID = -1
"""The terminal's stand-in for a chat id: never a private Telegram chat (those are positive)."""

PROVINSATS = "Provkörning i terminalen"


def _ask(prompt: str, read: Callable[[], str], out: TextIO) -> str | None:
    out.write(prompt)
    out.flush()
    try:
        return read().strip()
    except EOFError:
        return None


def _show_question(cur: Current, out: TextIO) -> list[str]:
    item = cur.item
    assert item is not None
    prog = cur.progress
    out.write("\n")
    if prog is not None:
        out.write(t.question_header(prog.position, prog.total) + "\n")
    out.write(item.text + "\n")
    values: list[str] = []
    if item.scale is not None:
        for i, opt in enumerate(item.scale.options, 1):
            out.write(f"  {i}. {opt.label}\n")
            values.append(opt.value)
    else:
        out.write(t.FREE_TEXT_HINT + "\n")
    out.write(f"  h. {t.BUTTON_SKIP}   f. {t.BUTTON_BACK}   q. Pausa\n")
    return values


def _show_overview(cur: Current, out: TextIO) -> list[str]:
    out.write("\n" + t.OVERVIEW_TITLE + "\n")
    ids: list[str] = []
    for i, line in enumerate(engine.overview(cur.q, cur.state), 1):
        out.write(f"  {i}. {line.item.text}\n     → {t.overview_answer(line)}\n")
        ids.append(line.item.id)
    out.write("\n" + t.OVERVIEW_FOOTER + "\n")
    out.write(f"  s. {t.BUTTON_SUBMIT}   ä. {t.BUTTON_CHANGE}   f. {t.BUTTON_BACK}   q. Pausa\n")
    return ids


def run_chat(
    store: Store,
    enkat: str,
    insats: str | None,
    *,
    read: Callable[[], str] = input,
    out: TextIO,
) -> int:
    """Run the questionnaire in the terminal; return the process exit code."""
    service = SurveyService(store, remind=False)
    chat_id = TERMINAL_CHAT_ID
    cur = service.load(chat_id)
    if cur is not None:
        out.write(t.WELCOME_BACK + "\n")
        if cur.q.id != enkat:
            out.write(f"(Du har en påbörjad enkät {cur.q.name!r}; den fortsätter först.)\n")
    else:
        if insats is None:
            existing = store.list_insatser()
            if len(existing) == 1:
                insats = existing[0].name
            else:
                insats = PROVINSATS
                if store.get_insats(PROVINSATS) is None:
                    store.add_insats(PROVINSATS)
        token = store.create_links(insats, enkat, count=1, valid_days=1)[0]
        opened = service.open_link(chat_id, token)
        assert opened.current is not None
        cur = opened.current
    if cur.stage == "greeting":
        total = len(engine.asked_items(cur.q, cur.state.answers))
        out.write("\n" + t.greeting(cur.q, total).replace("Tryck på", "Tryck Enter för att") + "\n")
        if _ask("> ", read, out) is None:
            out.write(t.PAUSED_TERMINAL + "\n")
            return 0
        cur = service.begin(chat_id, cur)

    while True:
        item = cur.item
        if item is None:
            ids = _show_overview(cur, out)
            choice = _ask("> ", read, out)
            if choice is None or choice.lower() == "q":
                out.write(t.PAUSED_TERMINAL + "\n")
                return 0
            if choice.lower() == "s":
                service.submit(chat_id)
                out.write("\n" + t.THANKS + "\n")
                return 0
            if choice.lower() == "f":
                cur = service.back(chat_id, cur)
            elif choice.lower() in ("ä", "a"):
                pick = _ask(t.CHOOSE_CHANGE + " (nummer) > ", read, out)
                if pick and pick.isdigit() and 1 <= int(pick) <= len(ids):
                    cur = service.goto(chat_id, cur, ids[int(pick) - 1])
            continue
        values = _show_question(cur, out)
        choice = _ask("> ", read, out)
        if choice is None or choice.lower() == "q":
            out.write(t.PAUSED_TERMINAL + "\n")
            return 0
        if choice.lower() == "h":
            cur = service.answer(chat_id, cur, None)
        elif choice.lower() == "f":
            before = cur.state.current
            cur = service.back(chat_id, cur)
            if cur.state.current == before:
                out.write(t.FIRST_QUESTION + "\n")
        elif values:
            if choice.isdigit() and 1 <= int(choice) <= len(values):
                cur = service.answer(chat_id, cur, values[int(choice) - 1])
            else:
                out.write(f"Skriv en siffra 1–{len(values)}, h, f eller q.\n")
        else:
            cleaned = clean_text(choice)
            if not cleaned.text:
                out.write(t.EMPTY_TEXT + "\n")
                continue
            cur = service.answer(chat_id, cur, cleaned.text)
            if cleaned.masked:
                out.write(t.TEXT_MASKED + "\n")
            if cleaned.truncated:
                out.write(t.TEXT_CUT.format(limit=engine.MAX_TEXT_LENGTH) + "\n")
