"""What coordinators read around the indicator report (the report text itself is analysis')."""

from __future__ import annotations

CHOOSE_PERIOD = "Vilken period vill du se?"
PERIOD_LAST_MONTH = "Senaste månaden ({month}) och mätåret hittills"
PERIOD_YEAR_SO_FAR = "Mätåret {year} hittills"
PERIOD_LAST_YEAR = "Hela mätåret {year}"
CHOOSE_INSATS = "Alla insatser eller en?"
ALL_INSATSER = "Alla insatser"
BUILDING = "Jag tar fram rapporten. Det tar några sekunder …"
STALE = "Den knappen gäller inte längre. Skriv /rapport för att börja om."
