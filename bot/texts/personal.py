"""What staff, coordinators and administrators read in the bot."""

from __future__ import annotations

from collections.abc import Mapping

from storage import StorageError, StorageProblem

ROLE_NAMES = {"admin": "administratör", "coordinator": "samordnare", "staff": "personal"}
ENKAT_CHOICES = (
    ("deltagare-pagaende", "Pågående (under insatsen)"),
    ("deltagare-avslut", "Avslut (när insatsen slutar)"),
    ("personal", "Personal (till kollegor)"),
)

NOT_ALLOWED = (
    "Det här kommandot är bara för personal i insatserna. "
    "Be en administratör om en inbjudan om du ska ha tillgång."
)
NEEDS_ADMIN = "Det här kan bara en administratör göra."
NEEDS_COORDINATOR = "Det här kan bara samordnare och administratörer göra."
NO_INSATSER = (
    "Det finns inga insatser ännu. En administratör skapar en med /ny_insats NAMN."
)
CHOOSE_INSATS = "Vilken insats gäller länken?"
CHOOSE_ENKAT = "Insats: {insats}\nVilken enkät ska deltagaren svara på?"
LINK_CREATED = (
    "Enkätlänk för {insats}, {enkat}.\n"
    "Den kan användas en gång och gäller till {expires}.\n\n"
    "{url}\n\n"
    "Vidarebefordra länken till deltagaren, eller låt hen skanna QR-koden."
)
LINK_DONE = "Länk skapad: {insats}, {enkat}."
QR_CAPTION = "QR-kod för {insats}, {enkat}. Gäller till {expires}."
INSATSER_TITLE = "Insatser:"
NEW_INSATS_USAGE = "Skriv namnet efter kommandot, till exempel: /ny_insats Steg framåt"
NEW_INSATS_DONE = "Insatsen {name} är skapad. Personal kan nu skapa länkar till den med /lank."
CHOOSE_ROLE = "Vilken roll ska den inbjudna få?"
INVITE_CREATED = (
    "Inbjudan som {role}. Den kan användas en gång och gäller i 7 dagar:\n\n{url}\n\n"
    "Skicka länken till personen. När hen öppnar den får hen rollen."
)
INVITE_BAD = "Inbjudan gäller inte längre. Be om en ny."
WELCOME_ROLE = "Välkommen! Du har nu rollen {role}.\n\n{help}"
SUBSCRIBED = (
    "Du får nu månadsrapporten den 1:a varje månad. Skriv /avprenumerera för att sluta."
)
UNSUBSCRIBED = "Du får inte längre månadsrapporten. Skriv /prenumerera för att börja igen."
STALE = "Den knappen gäller inte längre. Börja om med kommandot."

HELP = {
    "staff": (
        "Som personal kan du:\n"
        "/lank – skapa en enkätlänk och QR-kod till en deltagare\n"
        "/insatser – se insatserna\n"
        "/hjalp – den här hjälpen"
    ),
    "coordinator": (
        "Som samordnare kan du:\n"
        "/rapport – få indikatorrapporten nu\n"
        "/prenumerera och /avprenumerera – månadsrapporten den 1:a varje månad\n"
        "/lank – skapa en enkätlänk och QR-kod\n"
        "/insatser – se insatserna"
    ),
    "admin": (
        "Som administratör kan du:\n"
        "/ny_insats NAMN – skapa en insats\n"
        "/bjudin – bjuda in personal, samordnare eller administratörer\n"
        "/rapport – få indikatorrapporten nu\n"
        "/prenumerera och /avprenumerera – månadsrapporten\n"
        "/lank – skapa en enkätlänk och QR-kod\n"
        "/insatser – se insatserna"
    ),
}

STORAGE_PROBLEMS: Mapping[StorageProblem, str] = {
    "newer_schema": (
        "Databasen är från en nyare version av enkätboten (schema {version}). "
        "Be den som sköter boten att uppgradera programmet."
    ),
    "insats_name_empty": "Insatsen behöver ett namn.",
    "insats_name_too_long": "Namnet får vara högst {limit} tecken.",
    "insats_name_taken": "Det finns redan en insats som heter {name!r}.",
    "unknown_insats": "Okänd insats {name!r}. Insatser som finns: {names}.",
    "below_one": "Antal, användningar och giltighetsdagar måste vara minst 1.",
    "unknown_role": "Okänd roll {role!r}; giltiga: {roles}.",
    "link_not_open": "Länken kan inte öppnas.",
    "link_used": "Länken har redan använts.",
    "session_exists": "Det finns redan en påbörjad enkät i den här chatten.",
    "no_session": "Det finns ingen påbörjad enkät i den här chatten.",
    # Backup, restore and gallring are done on the command line; should one of these ever
    # reach staff in the bot, they get a sentence that sends them to IT.
    "copy_missing": "Säkerhetskopian finns inte. Be den som sköter boten om hjälp.",
    "copy_unreadable": "Säkerhetskopian går inte att läsa. Be den som sköter boten om hjälp.",
    "copy_corrupt": "Säkerhetskopian är skadad. Be den som sköter boten om hjälp.",
    "copy_newer": (
        "Säkerhetskopian är från en nyare version av enkätboten (schema {version}). "
        "Be den som sköter boten att uppgradera programmet."
    ),
    "copy_foreign": "Filen är ingen databas från enkätboten. Be den som sköter boten om hjälp.",
    "no_free_name": "Säkerhetskopian kunde inte sparas. Be den som sköter boten om hjälp.",
    "database_in_use": "Databasen används av boten just nu. Försök igen senare.",
    "bad_month": "Månaden ska skrivas ÅÅÅÅ-MM, till exempel 2023-01.",
    "unknown_action": "Något gick fel hos oss. Be den som sköter boten om hjälp.",
}
NO_INSATSER_YET = "(inga ännu)"


def storage_problem(exc: StorageError) -> str:
    """Return the sentence staff read for a storage request that could not be carried out."""
    return fill_storage_problem(STORAGE_PROBLEMS, exc)


def fill_storage_problem(templates: Mapping[StorageProblem, str], exc: StorageError) -> str:
    """Return `exc` worded by one audience's `templates`, its lists written out in Swedish."""
    details = dict(exc.details)
    if "names" in details:
        details["names"] = ", ".join(details["names"]) or NO_INSATSER_YET
    if "roles" in details:
        details["roles"] = ", ".join(details["roles"])
    return templates[exc.problem].format(**details)


STAFF_COMMAND_MENU: tuple[tuple[str, str], ...] = (
    ("lank", "Skapa en enkätlänk och QR-kod"),
    ("insatser", "Visa insatserna"),
)
"""Staff's commands, added to the participants' menu: (command, what it does)."""
ADMIN_COMMAND_MENU: tuple[tuple[str, str], ...] = (
    ("ny_insats", "Skapa en insats"),
    ("bjudin", "Bjud in personal eller samordnare"),
)
"""Administrators' commands, added to the coordinators' menu."""
