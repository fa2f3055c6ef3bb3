"""What participants read in the web survey: the same voice as the bot, du-form, klarspråk.

Sentences the bot and the web share (greeting, link problems, thanks, button labels) come from
`bot.texts.deltagare` so they exist once; only what is particular to a web page lives here.
"""

from __future__ import annotations

SITE_TITLE = "Enkät"
BUTTON_WEB = "Svara här i webbläsaren"
BUTTON_TELEGRAM = "Öppna i Telegram"
BUTTON_NEXT = "Nästa"
BUTTON_CHANGE_THIS = "Ändra det här svaret"
CHOOSE_CHANNEL = "Välj hur du vill svara:"
WEB_CHOICE_HINT = "Du behöver inte installera något eller logga in."
TELEGRAM_CHOICE_HINT = "Om du har Telegram kan du svara i appen i stället."
RESUME_HINT = (
    "Har du redan börjat svara i den här webbläsaren fortsätter du där du slutade."
)
GREETING_TITLE = "Välkommen"

FREE_TEXT_LABEL = "Ditt svar"
FREE_TEXT_HINT = "Skriv med egna ord. Du kan också trycka på Hoppa över."
OVERVIEW_FOOTER = (
    "Tryck på Skicka in när du är nöjd. Efter det går svaren inte att ändra."
)
CHOOSE_CHANGE = "Vilket svar vill du ändra?"
CHOOSE_CHANGE_HINT = "Välj frågan och tryck på Ändra det här svaret."
THANKS_TITLE = "Tack!"

ERROR_PICK_ONE = "Välj ett av svaren, eller tryck på Hoppa över."
ERROR_PICK_QUESTION = "Välj vilken fråga du vill ändra svaret på."
ERROR_PREFIX = "Fel:"

NOTE_STALE = "Den sidan var inte längre aktuell. Här är frågan du är på nu. Inget sparades fel."
NOTE_FIRST = "Det här är den första frågan."
NOTE_REPEATED = (
    "Du skrev samma svar som på förra frågan. Tryck på Nästa igen om du menar det, "
    "eller ändra texten."
)

ELSEWHERE_TITLE = "Enkäten är redan påbörjad"
ELSEWHERE_TELEGRAM = (
    "Den här enkäten har redan påbörjats i Telegram. Fortsätt gärna där, så hamnar alla dina "
    "svar på samma ställe."
)
ELSEWHERE_BROWSER = (
    "Den här enkäten har redan påbörjats i en annan webbläsare eller på en annan enhet. "
    "Fortsätt gärna där. Har du rensat webbläsaren kan du be personalen om en ny länk."
)
CONTINUE_IN_TELEGRAM = "Fortsätt i Telegram"

LINK_PROBLEM_TITLE = "Länken fungerar inte"
NO_SESSION_TITLE = "Vi hittar inte dina svar här"
NO_SESSION = (
    "Vi hittar ingen påbörjad enkät i den här webbläsaren. Öppna länken igen i samma "
    "webbläsare som du började i. Om du har rensat webbläsaren, eller har kakor avstängda, "
    "kan du be personalen om en ny länk."
)
OPEN_LINK_AGAIN = "Öppna länken igen"
FORM_EXPIRED_TITLE = "Sidan hade blivit gammal"
FORM_EXPIRED = (
    "Vi kunde inte ta emot det du skickade, eftersom sidan hade blivit gammal. "
    "Inget sparades. Öppna sidan igen och försök en gång till."
)
TOO_LARGE_TITLE = "Det du skickade var för stort"
TOO_LARGE = (
    "Det du skickade var för stort för att ta emot, så inget sparades. "
    "Skriv ett kortare svar och försök igen."
)
TOO_MANY_TITLE = "För många försök"
TOO_MANY = (
    "Det har kommit för många försök med länkar som inte finns. Vänta en stund och "
    "försök igen. Kontrollera att du har fått hela länken."
)
NOT_FOUND_TITLE = "Sidan finns inte"
NOT_FOUND = (
    "Den här sidan finns inte. För att svara på en enkät behöver du en länk eller QR-kod "
    "från personalen i din insats."
)
ERROR_TITLE = "Något gick fel"
ERROR = (
    "Något gick fel hos oss. Dina svar hittills är sparade. Vänta en stund och öppna "
    "sidan igen."
)
HOME_TITLE = "Enkäter från ditt samordningsförbund"
