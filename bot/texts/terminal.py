"""What a person trying a questionnaire in the terminal (`enkatbot chat`) reads.

The same journey as in Telegram, so most sentences are the participant's own
(`bot.texts.deltagare`); here are only those that speak of keys instead of buttons.
"""

from __future__ import annotations

from bot.texts import deltagare as t
from questionnaires.flow import Note
from questionnaires.model import Questionnaire

KEY_SKIP = "h"
KEY_BACK = "f"
KEY_PAUSE = "q"
KEY_SUBMIT = "s"
KEY_CHANGE = ("ä", "a")


def greeting(q: Questionnaire, question_count: int) -> str:
    """Return the greeting: purpose, time, the promises, and how to start and pause."""
    hello, length = t.greeting_intro(q, question_count)
    points = "".join(f"• {point}\n" for point in t.GREETING_POINTS)
    return (
        f"{hello}\n\n{length}\n\n{points}"
        f"• Skriv {KEY_PAUSE} och tryck Enter för att pausa.\n\n"
        "Tryck Enter när du är redo."
    )


FREE_TEXT_HINT = f"Skriv ditt svar och tryck Enter. Eller skriv {KEY_SKIP} för att hoppa över."
QUESTION_KEYS = (
    f"  {KEY_SKIP}. {t.BUTTON_SKIP}   {KEY_BACK}. {t.BUTTON_BACK}   {KEY_PAUSE}. Pausa"
)
FIRST_QUESTION_KEYS = f"  {KEY_SKIP}. {t.BUTTON_SKIP}   {KEY_PAUSE}. Pausa"
OVERVIEW_KEYS = (
    f"  {KEY_SUBMIT}. {t.BUTTON_SUBMIT}   {KEY_CHANGE[0]}. {t.BUTTON_CHANGE}   "
    f"{KEY_BACK}. {t.BUTTON_BACK}   {KEY_PAUSE}. Pausa"
)
CHOOSE_CHANGE = (
    "Vilket svar vill du ändra? Skriv frågans nummer och tryck Enter. "
    "Bara Enter tar dig tillbaka till översikten."
)
CONFIRM_DELETE_KEYS = "  j. Ja, radera mina svar   n. Nej, behåll dem"


def choose_a_number(options: int) -> str:
    """Return the nudge after a key that is not one of the question's choices."""
    return f"Skriv en siffra 1–{options}, {KEY_SKIP}, {KEY_BACK} eller {KEY_PAUSE}."


PAUSED = "Pausat. Dina svar är sparade. Kör samma kommando igen när du vill fortsätta."
USE_KEYS = "Svara med en av siffrorna eller bokstäverna under frågan. Här är frågan igen:"


def other_survey_first(name: str) -> str:
    """Return the note that an unfinished survey of another questionnaire goes first."""
    return f"Du har en påbörjad enkät, ”{name}”. Den fortsätter först."


NOTES: dict[Note, str] = {
    **t.NOTES,
    Note.PAUSED: PAUSED,
    Note.USE_BUTTONS: USE_KEYS,
    Note.STALE_BUTTON: USE_KEYS,
    Note.OLD_BUTTON: USE_KEYS,
    Note.ONLY_TEXT: FREE_TEXT_HINT,
}
"""The terminal's sentence for every note the journey's machine can give."""


def note_text(note: Note) -> str:
    """Return the sentence a person in the terminal reads for `note`."""
    return NOTES[note]
