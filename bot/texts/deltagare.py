"""What participants read: short sentences, du-form, no jargon.

The question texts themselves come from the questionnaire files and are never reworded here.
"""

from __future__ import annotations

from questionnaires.engine import MAX_TEXT_LENGTH, OverviewLine
from questionnaires.flow import Note
from questionnaires.model import Questionnaire

BUTTON_START = "Börja"
BUTTON_VET_INTE = "Vet inte"
BUTTON_SKIP = "Hoppa över"
BUTTON_BACK = "← Föregående"
BUTTON_SUBMIT = "Skicka in"
BUTTON_CHANGE = "Ändra ett svar"
BUTTON_CANCEL_CHANGE = "← Tillbaka till översikten"
BUTTON_DELETE_YES = "Ja, radera mina svar"
BUTTON_DELETE_NO = "Nej, behåll dem"

ENKAT_PURPOSE = {
    "deltagare-pagaende": "om hur du upplever stödet du får just nu",
    "deltagare-avslut": "om hur du har upplevt stödet nu när det avslutas",
    "personal": "om hur samverkan fungerar i ditt arbete",
    "remittenter": "om hur samverkan kring insatsen fungerar",
    "chefsgrupp": "om hur samverkan mellan myndigheterna fungerar",
    "styrelse": "om hur förbundet följer upp och utvecklar samverkan",
}


GREETING_POINTS = (
    "Dina svar är anonyma. Ingen kan se vem som har svarat vad.",
    "Varje svar sparas direkt. Du kan sluta när du vill och fortsätta senare.",
    "Du kan hoppa över frågor du inte vill svara på.",
)
"""The promises every front end's greeting makes, in this order."""


def greeting_intro(
    q: Questionnaire, question_count: int, forbund: str | None = None
) -> tuple[str, str]:
    """Return the greeting's first two paragraphs: what the survey is, and how long it takes.

    `forbund` is the samordningsförbund's name (ENKATBOT_FORBUND), said when set.
    """
    purpose = ENKAT_PURPOSE.get(q.id, "om stödet i insatsen")
    minutes = max(2, round(question_count * 0.4))
    sender = f" från {forbund}" if forbund else ""
    return (
        f"Hej! Det här är en kort enkät{sender} {purpose}.",
        f"Den har {question_count} frågor och tar ungefär {minutes} minuter.",
    )


def greeting(q: Questionnaire, question_count: int, forbund: str | None = None) -> str:
    """Return the first message after a valid link: who asks, purpose, time, anonymity, stop."""
    hello, length = greeting_intro(q, question_count, forbund)
    points = "".join(f"• {point}\n" for point in GREETING_POINTS)
    return (
        f"{hello}\n\n{length}\n\n{points}"
        "• Skriv /avbryt för att pausa och /hjalp om du behöver hjälp.\n\n"
        f"Tryck på {BUTTON_START} när du är redo."
    )


def question_header(position: int, total: int) -> str:
    """Return the progress line shown above each question."""
    return f"Fråga {position} av {total}"


FREE_TEXT_HINT = "Skriv ditt svar som ett meddelande. Eller tryck på Hoppa över."
ANSWERED_PREFIX = "Ditt svar:"
SKIPPED = "Du hoppade över frågan."

OVERVIEW_TITLE = "Klart! Här är dina svar:"
OVERVIEW_SKIPPED = "Hoppade över"
OVERVIEW_NOT_ANSWERED = "Inte besvarad"


def overview_answer(line: OverviewLine) -> str:
    """Return the answer as the overview shows it: the label or text, or why there is none."""
    if line.state == "unanswered":
        return OVERVIEW_NOT_ANSWERED
    if line.label is None:
        return OVERVIEW_SKIPPED
    return line.label

OVERVIEW_FOOTER = (
    "Tryck på Skicka in när du är nöjd. Efter det går svaren inte att ändra."
)
CHOOSE_CHANGE = "Vilket svar vill du ändra? Tryck på frågan."
THANKS = (
    "Tack för dina svar! De är nu inskickade och anonyma.\n\n"
    "Länken är använd och du behöver inte göra något mer."
)

LINK_UNKNOWN = (
    "Den här länken känner vi inte igen. Kontrollera att du har fått hela länken, "
    "eller be personalen om en ny."
)
LINK_USED = "Den här länken har redan använts. Be personalen om en ny länk om du vill svara igen."
LINK_EXPIRED = "Den här länken har slutat gälla. Be personalen om en ny länk."
LINK_WITHDRAWN = "Den här länken är återkallad och kan inte användas. Be personalen om en ny."
LINK_ELSEWHERE = (
    "Den här enkäten har redan påbörjats i en webbläsare. Fortsätt gärna där, "
    "så hamnar alla dina svar på samma ställe. Öppna länken i samma webbläsare som förut."
)
LINK_PROBLEMS = {
    "elsewhere": LINK_ELSEWHERE,
    "unknown": LINK_UNKNOWN,
    "used": LINK_USED,
    "expired": LINK_EXPIRED,
    "withdrawn": LINK_WITHDRAWN,
}
NO_LINK = (
    "Hej! Här svarar du på enkäter från ditt samordningsförbund.\n\n"
    "För att börja behöver du en länk eller QR-kod från personalen i din insats."
)
ALREADY_STARTED_OTHER = (
    "Du har redan en enkät som inte är klar. Vi fortsätter med den. "
    "Den nya länken är orörd och kan användas senare."
)
WELCOME_BACK = "Välkommen tillbaka! Vi fortsätter där du slutade."

PAUSED = (
    "Pausat. Dina svar är sparade.\n\n"
    "Skriv /start eller något annat när du vill fortsätta."
)
NOTHING_TO_PAUSE = "Du har ingen pågående enkät just nu."
CONFIRM_DELETE = (
    "Vill du radera dina svar i den här enkäten? Det går inte att ångra. "
    "Länken kan sedan användas igen."
)
DELETED = "Dina svar är raderade. Du kan öppna länken igen om du vill börja om."
NOT_DELETED = "Inget raderades. Vi fortsätter där du var."
NOTHING_TO_DELETE = "Du har inga osparade svar att radera."

HELP = (
    "Så här fungerar enkäten:\n\n"
    "• Svara genom att trycka på knapparna under frågan.\n"
    "• Tryck på Hoppa över om du inte vill svara på en fråga.\n"
    "• Tryck på ← Föregående för att gå tillbaka.\n"
    "• /avbryt pausar. Dina svar är sparade och du kan fortsätta senare.\n"
    "• /radera tar bort dina svar i en enkät som inte är inskickad.\n"
    "• /integritet berättar hur dina svar hanteras."
)
PRIVACY = (
    "Så hanteras dina svar:\n\n"
    "• Svaren sparas utan ditt namn, ditt Telegram-konto eller din länk, och bara med vilken "
    "månad du svarade, inte dag eller tid.\n"
    "• När du skickar in får svaren ett nytt slumpat nummer och allt som kopplade dem till dig "
    "raderas. Sedan kan ingen se vilka svar som är dina: inte personalen som gav dig länken, "
    "inte de som sköter datorerna och säkerhetskopiorna, och inte de som läser rapporterna.\n"
    "• Medan enkäten inte är klar sparas den så att du kan fortsätta, och då går den att koppla "
    "till din chatt. Det raderas när du skickar in, när du skriver /radera, eller efter 14 dagar "
    "utan svar. Säkerhetskopior tar aldrig med en enkät som inte är klar.\n"
    "• Om du skriver ett personnummer, telefonnummer, en e-postadress, ditt namn eller "
    "din adress i ett svar döljs det innan svaret sparas.\n"
    "• Svaren redovisas bara sammanräknade. Grupper med färre än fem svar visas inte.\n\n"
    "Det här kan vi inte skydda:\n"
    "• Telegram vet att du skriver med boten och när, och chatten går genom Telegram. "
    "Dina svar finns kvar i chatten på din telefon tills du raderar den.\n"
    "• Om du skriver något om dig själv som vi inte känner igen, till exempel var du jobbar, "
    "kan det gå att förstå vem du är. Skriv hellre mindre än mer."
)
PRIVACY_CONTROLLER = "Personuppgiftsansvarig är {forbund}."
PRIVACY_CONTACT = "Frågor om dina uppgifter: {kontakt}."
PRIVACY_NO_CONTACT = "Frågor om dina uppgifter: fråga personalen som gav dig länken."


def privacy(forbund: str | None, kontakt: str | None) -> str:
    """Return /integritet's text, naming the förbund and its contact when they are set."""
    lines = [PRIVACY]
    if forbund:
        lines.append(PRIVACY_CONTROLLER.format(forbund=forbund))
    lines.append(PRIVACY_CONTACT.format(kontakt=kontakt) if kontakt else PRIVACY_NO_CONTACT)
    return "\n\n".join(lines)


USE_BUTTONS = "Svara genom att trycka på en av knapparna under frågan. Här är frågan igen:"
STALE_BUTTON = "Den knappen hör till en äldre fråga. Här är frågan du är på nu:"
OLD_BUTTON = "Den knappen hör till en äldre fråga. Frågan du är på nu står längst ner."
ONLY_TEXT = (
    "Jag kan bara läsa text. Skriv ditt svar med bokstäver, eller tryck på Hoppa över."
)
NOT_UNDERSTOOD_MEDIA = "Jag kan bara läsa text och knapptryck. Här är frågan du är på:"
EDITED_IGNORED = (
    "Jag såg att du ändrade ett meddelande. Ändringar sparas inte. "
    "Vill du ändra ett svar kan du göra det i översikten innan du skickar in."
)
TEXT_CUT = "Ditt svar var långt, så vi sparade de första {limit} tecknen."
TEXT_MASKED = (
    "Vi dolde ett personnummer, telefonnummer, en e-postadress, ett namn eller en adress "
    "i ditt svar, så att svaret förblir anonymt."
)
EMPTY_TEXT = "Svaret var tomt. Skriv några ord, eller tryck på Hoppa över."
FIRST_QUESTION = "Det här är den första frågan."
PRIVATE_ONLY = (
    "Hej! Jag fungerar bara i privata chattar, så att svaren förblir anonyma. "
    "Öppna din enkätlänk i en chatt direkt med mig. Jag lämnar den här gruppen nu."
)
REMINDER = (
    "Hej! Du har en enkät som inte är klar. Dina svar är sparade. "
    "Skriv /start när du vill fortsätta. Du behöver inte svara om du inte vill."
)
BUTTON_OF_ENDED_SURVEY = (
    "Den knappen hör till en enkät som redan är inskickad eller avslutad. "
    "Du behöver inte göra något mer. Vill du svara på en ny enkät behöver du en ny länk."
)
BUTTON_WITHOUT_MESSAGE = (
    "Den här knappen går inte att använda längre. Skriv /start så ser du var du är."
)
ERROR = (
    "Något gick fel hos oss. Svar som du redan har sett bekräftade är sparade. "
    "Försök igen om en stund."
)
NOT_SAVED = (
    "Ditt senaste svar kunde inte sparas just nu. Försök igen om en stund: "
    "tryck på svaret igen eller skriv det igen."
)
WRITTEN_BEFORE_QUESTION = (
    "Ditt meddelande skrevs innan den här frågan visades, så jag sparade det inte som svar. "
    "Här är frågan du är på nu. Skriv ditt svar igen om du vill:"
)
REPEATED_TEXT = (
    "Det där skrev du nyss som svar på förra frågan, så jag sparade det inte här. "
    "Här är frågan du är på nu. Menar du samma svar, skriv det en gång till:"
)

NOTES: dict[Note, str] = {
    Note.WELCOME_BACK: WELCOME_BACK,
    Note.ALREADY_STARTED_OTHER: ALREADY_STARTED_OTHER,
    Note.LINK_UNKNOWN: LINK_UNKNOWN,
    Note.LINK_USED: LINK_USED,
    Note.LINK_EXPIRED: LINK_EXPIRED,
    Note.LINK_WITHDRAWN: LINK_WITHDRAWN,
    Note.LINK_ELSEWHERE: LINK_ELSEWHERE,
    Note.NO_SURVEY: NO_LINK,
    Note.NO_SURVEY_HELP: HELP,
    Note.USE_BUTTONS: USE_BUTTONS,
    Note.STALE_BUTTON: STALE_BUTTON,
    Note.OLD_BUTTON: OLD_BUTTON,
    Note.BUTTON_OF_ENDED_SURVEY: BUTTON_OF_ENDED_SURVEY,
    Note.FIRST_QUESTION: FIRST_QUESTION,
    Note.EMPTY_TEXT: EMPTY_TEXT,
    Note.TEXT_MASKED: TEXT_MASKED,
    Note.TEXT_CUT: TEXT_CUT.format(limit=MAX_TEXT_LENGTH),
    Note.ONLY_TEXT: ONLY_TEXT,
    Note.NOT_UNDERSTOOD_MEDIA: NOT_UNDERSTOOD_MEDIA,
    Note.EDITED_IGNORED: EDITED_IGNORED,
    Note.WRITTEN_BEFORE_QUESTION: WRITTEN_BEFORE_QUESTION,
    Note.REPEATED_TEXT: REPEATED_TEXT,
    Note.PAUSED: PAUSED,
    Note.NOTHING_TO_PAUSE: NOTHING_TO_PAUSE,
    Note.NOTHING_TO_DELETE: NOTHING_TO_DELETE,
    Note.NOT_DELETED: NOT_DELETED,
    Note.DELETED: DELETED,
    Note.THANKS: THANKS,
}
"""The participant's sentence for every note the journey's machine can give."""


def note_text(note: Note) -> str:
    """Return the sentence a participant reads for `note`."""
    return NOTES[note]


COMMAND_MENU: tuple[tuple[str, str], ...] = (
    ("start", "Börja eller fortsätt en enkät"),
    ("hjalp", "Så fungerar enkäten"),
    ("integritet", "Hur dina svar hanteras"),
    ("avbryt", "Pausa enkäten"),
    ("radera", "Radera svar som inte är inskickade"),
)
"""The command menu Telegram shows a participant: (command, what it does)."""
