"""What the `enkatbot` command prints: results, and why a request could not be carried out.

Start-up checks, kontroll, backup, restore, gallring and the audit log say one Swedish
sentence per problem, saying what to do; never a secret.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.texts.personal import fill_storage_problem
from storage import StorageError, StorageProblem

ERROR_PREFIX = "enkatbot: {message}"
INTERRUPTED = "\nAvbrutet. Allt som hann sparas är sparat."

INSATS_CREATED = "Insatsen {name!r} är skapad."
NO_INSATSER = "Inga insatser ännu. Skapa en med: enkatbot insats add NAMN"
LINK_WITHDRAWN = "Länken är återkallad och kan inte längre användas."
UNKNOWN_LINK = "Den länken finns inte."
ROLE_GIVEN = "Användare {telegram_id} har nu rollen {role}."
NO_ROLE = "Användare {telegram_id} har ingen roll."
ROLE_REMOVED = "Användare {telegram_id} har inte längre någon roll."

# -- kontroll: the token, masked
TOKEN_NOT_SET = "(inte satt)"
TOKEN_MASKED = "{bot_id}:{dots} ({hidden} tecken dolda)"

UNKNOWN_ENKAT = "Okänd enkät {enkat!r}. Giltiga: {valid}."
NEED_USERNAME = (
    "Ange botens användarnamn i TELEGRAM_BOT_USERNAME, eller TELEGRAM_BOT_TOKEN "
    "så att det kan hämtas från Telegram."
)
GETME_FAILED = "Kunde inte fråga Telegram efter botens namn: {error}"

STORAGE_PROBLEMS: Mapping[StorageProblem, str] = {
    "newer_schema": (
        "Databasen {path} är från en nyare version av enkätboten "
        "(schema {version}); uppgradera programmet."
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
    "copy_missing": "Filen {path} finns inte.",
    "copy_unreadable": "Filen {path} är ingen läsbar SQLite-databas; välj en annan säkerhetskopia.",
    "copy_corrupt": (
        "Filen {path} är skadad (PRAGMA integrity_check hittade fel); välj en annan "
        "säkerhetskopia."
    ),
    "copy_newer": (
        "Filen {path} är från en nyare version av enkätboten (schema {version}); uppgradera "
        "programmet först."
    ),
    "copy_foreign": "Filen {path} är ingen databas från enkätboten; välj en annan fil.",
    "no_free_name": "Kunde inte hitta ett ledigt filnamn i {folder}.",
    "database_in_use": (
        "En enkätbot kör redan mot {path}; stoppa den först (till exempel: systemctl stop "
        "enkatbot)."
    ),
    "bad_month": "Månaden ska skrivas ÅÅÅÅ-MM, till exempel 2023-01, inte {raw!r}.",
    "unknown_action": "Okänd händelse i loggen: {action!r}.",
}
def storage_problem(exc: StorageError) -> str:
    """Return the line the command prints for a storage request that could not be carried out."""
    return fill_storage_problem(STORAGE_PROBLEMS, exc)

# -- enkatbot rapport ---------------------------------------------------------------------------

RAPPORT_ERROR = "enkatbot rapport: {message}"
RAPPORT_BUSY = "Andra rapporter skapades samtidigt. Försök igen om en stund."
RAPPORT_NO_DATABASE = "Databasen {db} finns inte. Ange rätt fil med --db eller ENKATBOT_DB."
RAPPORT_READING = "Läser svar från {db} …"
RAPPORT_COMPUTING = "Beräknar {period} …"
RAPPORT_DONE = "Klart: {files}"
RAPPORT_NO_SUMMARY_FILE = "Sammanfattningen {path} finns inte."
RAPPORT_SUMMARY_UNREADABLE = (
    "Kan inte läsa sammanfattningen {path}: spara den som text (UTF-8). ({error})"
)
RAPPORT_NEED_BOTH_ENDS = "Ange både --fran och --till, till exempel --fran 2023-03 --till 2023-06."
RAPPORT_MONTH_OR_RANGE = "Ange antingen --manad eller --fran och --till, inte båda."
RAPPORT_NEED_PERIOD = "Ange en period: --ar 2023, --manad 2023-11 eller --fran och --till."
RAPPORT_OUTSIDE_YEAR = "Perioden {period} ligger inte i {year}."
RAPPORT_UNKNOWN_FORMAT = "Kan inte avgöra formatet av {out!r}: ange --format ({formats})."
RAPPORT_THRESHOLD_BELOW_ONE = "Gränsen för små grupper (--troskel) måste vara minst 1."
RAPPORT_NO_ANSWERS_YET = "Insatsen {insats!r} har inga svar ännu."
RAPPORT_NO_INSATSER = "(inga insatser ännu)"
RAPPORT_UNKNOWN_INSATS = "Okänd insats {insats!r}. Insatser som finns: {names}."
RAPPORT_WRITING_WORKBOOK = "Skriver arbetsbok …"
RAPPORT_PDF_PAGE = "Sida för indikator {done}/{total} …"
RAPPORT_DRAWING = "Ritar diagram {done}/{total} …"
RAPPORT_PNG_NEEDS_FOLDER = (
    "Med --format png ska --out vara en mapp: varje diagram blir en egen PNG-fil."
)
RAPPORT_NO_CHARTS = "Inga diagram: det finns inga siffror att visa för perioden."
RAPPORT_WRITING_REPORT = "Skriver rapporten …"
RAPPORT_WRITING_CSV = "Skriver CSV …"
RAPPORT_WRITING_PDF = "Skriver PDF …"

TOKEN_MALFORMED = (
    "TELEGRAM_BOT_TOKEN ser inte ut som en token från @BotFather (den ser ut som "
    "123456789:AA…); kopiera den igen, utan mellanslag eller citattecken."
)
TOKEN_REJECTED = (
    "Telegram godkänner inte TELEGRAM_BOT_TOKEN; hämta en ny token hos @BotFather "
    "(/mybots → din bot → API Token) och lägg in den i inställningarna."
)
TELEGRAM_UNREACHABLE = (
    "Boten når inte Telegram på {url}; kontrollera serverns nätverk och brandvägg "
    "(utgående HTTPS) och starta boten igen."
)
TELEGRAM_FAILED = (
    "Telegram svarade med ett fel när boten kontrollerade sin token; försök igen om en stund."
)
FOLDER_NOT_WRITABLE = (
    "Mappen {folder} går inte att skriva i; ge botens användare skrivrätt till den "
    "(till exempel: chown enkatbot {folder}) eller ange en annan databas med ENKATBOT_DB."
)
DB_CANNOT_OPEN = (
    "Databasen {path} går inte att öppna; kontrollera att filen är en databas från "
    "enkätboten och att botens användare får läsa och skriva den."
)
DB_NOT_WRITABLE = (
    "Databasen {path} går inte att skriva till; kontrollera att disken inte är full och att "
    "filen och mappen inte är skrivskyddade."
)
NO_ADMIN = (
    "Varning: ingen administratör är inlagd, så ingen kan bjuda in personal i boten; lägg till "
    "dig själv med: enkatbot user add <ditt Telegram-id> --roll admin"
)
DB_MISSING = (
    "Databasen {path} finns inte; ange rätt fil med ENKATBOT_DB eller --db (på en server "
    "oftast /var/lib/enkatbot/enkatbot.db), eller kör kommandot i mappen där data/ finns."
)

DB_NOT_YET = "Databasen finns inte ännu; boten skapar den när den startar första gången."
KONTROLL_OK = "Allt ser bra ut."
KONTROLL_PROBLEMS = "Kontrollen hittade {n} problem (se ovan)."
HALSA_OK = "ok: databasen {path} går att läsa och skriva (schema {version})."

BACKUP_DONE = "Säkerhetskopian är sparad: {path} (läsbar bara för din användare)."
RESTORE_DONE = "Databasen {target} är återställd från {source}."
RESTORE_ASIDE = "Den tidigare databasen ligger kvar som {aside}; radera den när allt fungerar."
RESTORE_NOTE = (
    "Påbörjade enkäter följer aldrig med en säkerhetskopia: deltagare som inte var klara kan "
    "öppna sin länk igen och börja om."
)

GALLRA_NO_RULE = (
    "Ange vilka svar som ska gallras: --fore ÅÅÅÅ-MM, eller ENKATBOT_GALLRING_AR (antal år "
    "att spara svaren)."
)
GALLRA_DRY = "Torrkörning, inget raderades: {line}"
GALLRA_DONE = "Gallrat: {line}"

LOGG_EMPTY = "Loggen är tom."
LOGG_BAD_DATE = "Datumet ska skrivas ÅÅÅÅ-MM-DD, till exempel 2026-01-31, inte {raw!r}."
WRITE_FAILED_HINT = (
    "Databasen gick inte att skriva till; kontrollera att disken inte är full och att filen "
    "inte är skrivskyddad, och försök igen."
)


# -- enkatbot kontroll -------------------------------------------------------------------------

KONTROLL_SETTINGS = "Inställningar som gäller:"
KONTROLL_DATABASE = "Databas: {path}"
KONTROLL_COUNTS = (
    "Schemaversion: {version} (programmet kan {known})\n"
    "Insatser: {insatser}\n"
    "Öppna länkar: {open_links}\n"
    "Påbörjade enkäter: {unfinished}\n"
    "Svar: {responses}"
)
KONTROLL_NEXT_SUMMARY = "Nästa månadssammanfattning: {when:%Y-%m-%d %H:%M} ({timezone})"
KONTROLL_TELEGRAM_OK = "Telegram: svarar, boten heter @{username}"
KONTROLL_FAULT = "FEL: {fault}"
SECRET_SET = "(satt, dold)"
UNSET: Mapping[str, str] = {
    "api_url": "(Telegrams egen)",
    "bot_username": "(frågas från Telegram)",
    "admins": "(inga)",
    "forbund": "(inte satt)",
    "kontakt": "(inte satt)",
    "webhook_url": "(long polling)",
    "webhook_secret": "(slumpas)",
    "webb_url": "(ingen webbenkät)",
    "gallring_years": "(ingen gallring)",
}
"""What kontroll shows for a setting that is not set."""

# -- enkatbot historik -------------------------------------------------------------------------

HISTORIK_NO_FILE = "Filen {path} finns inte."
HISTORIK_NOT_UTF8 = "{path}: spara filen som CSV med teckenkodningen UTF-8."
HISTORIK_FAULT = "{path}: {fault}"
HISTORIK_IMPORTED = (
    "Importerade {rows} rader för mätår {years}. De visas som importerade siffror i "
    "jämförelser mellan åren."
)
HISTORIK_NONE = "Inga importerade år. Importera med: enkatbot historik import FIL"
HISTORIK_YEAR_LINE = "{year}\t{rows} rader\timporterade {imported}"
HISTORIK_NOTHING_TO_REMOVE = "Det finns inga importerade siffror för mätåret {year}."
HISTORIK_REMOVED = "Tog bort {rows} importerade rader för mätåret {year}."

# -- --help: the short line in a command list (HELP) and the text atop a command's page.
# Keyed by the command path and, for an option, its flag: "link create --antal".

HELP: Mapping[str, str] = {
    "insats": "hantera insatser",
    "insats add": "skapa en insats",
    "insats list": "visa insatser",
    "link": "enkätlänkar",
    "link create": "skapa länkar",
    "link create --insats": "insatsens namn",
    "link create --enkat": "en av: {ids}",
    "link create --antal": "hur många länkar (standard 1)",
    "link create --giltig-dagar": "hur många dagar länken gäller (standard 30)",
    "link create --anvandningar": "hur många gånger varje länk kan användas (standard 1)",
    "link create --qr": "skriv en QR-kod (PNG) per länk i MAPP",
    "link withdraw": "återkalla en länk",
    "link withdraw token": "länken eller dess kod",
    "user": "användare och roller",
    "user add": "ge en roll",
    "user add --roll": "standard: admin",
    "user list": "visa användare",
    "user remove": "ta bort roll",
    "chat": "prova en enkät i terminalen",
    "chat --enkat": "en av: {ids}",
    "chat --insats": "insatsens namn (standard: den enda, eller en provinsats)",
    "backup": "säkerhetskopiera databasen (går bra medan boten kör)",
    "backup path": "mappen kopian sparas i",
    "restore": "återställ databasen från en säkerhetskopia",
    "restore path": "säkerhetskopian (en .db-fil)",
    "gallra": "radera gamla svar enligt gallringsbeslutet",
    "gallra --fore": "radera svar från månader före denna",
    "gallra --torrkorning": "visa bara vad som skulle raderas",
    "gallra --historik": "radera också importerad historik för mätår före gränsen",
    "logg": "visa loggen över vad personalen har gjort",
    "logg --fran": "bara från och med detta datum",
    "historik": "tidigare års publicerade siffror",
    "historik import": "importera en CSV-fil",
    "historik list": "visa importerade år",
    "historik remove": "ta bort ett importerat år",
    "kontroll": "kontrollera inställningar, databas och Telegram",
    "kontroll --halsa": "bara databasen, utan att fråga Telegram (hälsokontroll för en container)",
    "--db": "databasfil (standard: ENKATBOT_DB eller data/enkatbot.db)",
    "rapport": "indikatorrapport för en period",
    "rapport --ar": "mätåret, t.ex. 2023 (nov 2022–okt 2023)",
    "rapport --manad": "en månad",
    "rapport --fran": "första månaden i ett intervall",
    "rapport --till": "sista månaden i ett intervall",
    "rapport --insats": "bara en insats (standard: alla)",
    "rapport --format": "md, csv, xlsx, png, html eller pdf (standard: efter filändelsen i --out)",
    "rapport --sammanfattning": (
        "en Markdown-fil med er egen sammanfattning, som läggs efter Metod (pdf, html, md)"
    ),
    "rapport --out": "fil, eller mapp för png",
    "rapport --db": "databasfil (standard: ENKATBOT_DB eller data/enkatbot.db)",
    "rapport --troskel": (
        "dölj grupper med färre svar än N (standard: ENKATBOT_SMA_GRUPPER eller 5)"
    ),
    "run": "starta boten",
}

DESCRIPTION: Mapping[str, str] = {
    "insats": "Hantera insatser.",
    "insats add": "Skapa en insats.",
    "insats list": "Visa alla insatser.",
    "link": "Skapa och återkalla länkar.",
    "link create": "Skapa en enkätlänk per deltagare. Skriver en t.me-länk per rad.",
    "link withdraw": "Återkalla en länk så att den inte kan användas.",
    "user": "Ge personal, samordnare och administratörer roller.",
    "user add": "Ge en Telegram-användare en roll.",
    "user list": "Visa användare och roller.",
    "user remove": "Ta bort en användares roll.",
    "chat": "Svara på en enkät i terminalen, med samma motor och databas som boten.",
    "backup": (
        "Skriv en säkerhetskopia av databasen i mappen SÖKVÄG, under ett nytt namn med datum "
        "och tid (skriver aldrig över en tidigare kopia), läsbar bara för din användare. "
        "Påbörjade enkäter följer inte med."
    ),
    "restore": (
        "Ersätt databasen med en säkerhetskopia. Kopian kontrolleras först (integritet och "
        "schemaversion); boten måste vara stoppad. Den gamla databasen flyttas åt sidan."
    ),
    "gallra": (
        "Radera svar från månader före --fore, eller äldre än ENKATBOT_GALLRING_AR år. "
        "Raderade svar skrivs över och databasen packas om, så att inget av dem finns kvar i "
        "filen. En rad skrivs i gallringsprotokollet (enkatbot logg)."
    ),
    "logg": (
        "Visa loggen: roller, inbjudningar, insatser, länkar, rapporter, gallring och "
        "återställningar, med vem och när (UTC)."
    ),
    "historik": "Importera, visa och ta bort tidigare års siffror från före enkätboten.",
    "historik import": (
        "Läs ett tidigare års publicerade siffror ur en CSV-fil med kolumnerna {columns} (som "
        "rapportens CSV-export, plus ar). Varje rad kontrolleras; är en rad fel importeras "
        "ingenting."
    ),
    "historik list": "Visa importerade år.",
    "historik remove": "Ta bort ett importerat mätår.",
    "kontroll": (
        "Gör samma kontroller som när boten startar och visa vad som gäller: inställningar "
        "(token dold), databas, schemaversion, antal insatser, öppna länkar, påbörjade "
        "enkäter och svar, och när månadssammanfattningen skickas nästa gång."
    ),
    "enkatbot": "Finsam enkätbot: anonyma enkäter i Telegram för samordningsförbund.",
    "rapport": (
        "Skriv indikatorrapporten för ett mätår (1 nov–31 okt, namngivet efter året det "
        "slutar), en månad eller ett intervall av månader. Format: csv, xlsx, html och pdf "
        "blir en fil; md blir en fil med diagrammen i en mapp bredvid; png skriver ett "
        "diagram per enkät och typ i mappen --out. Förbundets namn tas från ENKATBOT_FORBUND."
    ),
    "run": (
        "Kontrollera inställningarna, databasen och Telegram, och starta sedan boten (long "
        "polling, eller webhook om ENKATBOT_WEBHOOK_URL är satt)."
    ),
}
