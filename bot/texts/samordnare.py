"""What coordinators read around the indicator report (the report text itself is analysis')."""

from __future__ import annotations

from analysis import texts as analysis_texts

CHOOSE_PERIOD = "Vilken period vill du se?"
PERIOD_THIS_MONTH = "Den här månaden hittills ({month})"
PERIOD_LAST_MONTH = "Förra månaden ({month})"
PERIOD_YEAR_SO_FAR = analysis_texts.YEAR_SO_FAR  # the same words as the report's heading
PERIOD_WHOLE_YEAR = analysis_texts.WHOLE_YEAR
CHOOSE_INSATS = "Alla insatser eller en?"
ALL_INSATSER = "Alla insatser"
BUILDING = "Jag tar fram rapporten. Det tar några sekunder …"
BUSY = (
    "Flera rapporter togs fram samtidigt, så den här kunde inte kontrolleras mot dem. "
    "Försök igen om en stund med /rapport."
)
STALE = "Den knappen gäller inte längre. Skriv /rapport för att börja om."


COMMAND_MENU: tuple[tuple[str, str], ...] = (
    ("rapport", "Indikatorrapporten nu"),
    ("prenumerera", "Få månadsrapporten"),
    ("avprenumerera", "Sluta få månadsrapporten"),
)
"""Coordinators' commands, added to the staff's menu: (command, what it does)."""
