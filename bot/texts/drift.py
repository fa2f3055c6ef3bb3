"""What IT reads when the bot's settings are wrong: one Swedish sentence saying what to do."""

from __future__ import annotations

BOTFATHER_HELP = (
    "TELEGRAM_BOT_TOKEN saknas.\n"
    "Så får du en token: öppna Telegram, skriv till @BotFather, skicka /newbot och följ "
    "instruktionerna. Du får en token som ser ut ungefär som 123456789:AA…\n"
    "Starta sedan boten med:  TELEGRAM_BOT_TOKEN=<din token> make run"
)
NOT_AN_INTEGER = "{name} ska vara ett heltal, inte {raw!r}."
BELOW_MINIMUM = "{name} ska vara minst {minimum}."
BAD_ADMIN_ID = "ENKATBOT_ADMINS ska vara Telegram-id:n med komma emellan, inte {part!r}."
BAD_BASE_URL = (
    "{name} ska vara en adress som börjar med https://, till exempel "
    "https://enkat.exempel.se, inte {raw!r}."
)
WEB_SERVER = "Webbenkäten"
WEBHOOK_SERVER = "Webhooken"
CANNOT_LISTEN = (
    "{what} kan inte lyssna på {host}:{port} ({reason}). Välj en ledig port med {prefix}_PORT "
    "eller en annan adress med {prefix}_LISTEN."
)
SERVER_DID_NOT_START = (
    "Boten kunde inte starta sin webbserver. Läs loggen ovan, rätta inställningen och "
    "starta igen."
)
