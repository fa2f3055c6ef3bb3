"""What coordinators read around the indicator report (the report text itself is analysis')."""

from __future__ import annotations

CHOOSE_PERIOD = "Vilken period vill du se?"
PERIOD_THIS_MONTH = "Den här månaden hittills ({month})"
PERIOD_LAST_MONTH = "Förra månaden ({month})"
PERIOD_YEAR_SO_FAR = "Mätåret {year} hittills"
PERIOD_WHOLE_YEAR = "Hela mätåret {year}"
CHOOSE_INSATS = "Alla insatser eller en?"
ALL_INSATSER = "Alla insatser"
BUILDING = "Jag tar fram rapporten. Det tar några sekunder …"
STALE = "Den knappen gäller inte längre. Skriv /rapport för att börja om."
