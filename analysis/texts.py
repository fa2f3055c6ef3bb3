"""The Swedish texts every report format shares: names, headings and what the figures mean.

One place for the coordinator-facing words, so the workbook, the documents and the charts say
the same thing in the same plain Swedish.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from analysis.formatting import number_text
from questionnaires import model

if TYPE_CHECKING:
    # Only for annotations: the texts stay importable without pandas (the bot's start-up).
    from analysis.figures import QuestionFigures, Report

# -- periods: how a report's period is named, and why one cannot be used --
PERIOD_SPAN = "{start}–{end}"
PERIOD_YEAR = "mätåret {year} ({span})"
PERIOD_YEAR_SO_FAR = "mätåret {year} hittills ({span})"
PERIOD_MONTH_SO_FAR = "{month} (hittills)"
PERIOD_BAD_MONTH = "Ogiltig månad {text!r}: skriv den som ÅÅÅÅ-MM, till exempel 2023-11."
PERIOD_ENDS_BEFORE_START = "Perioden slutar ({end}) innan den börjar ({start})."
PERIOD_BAD_YEAR = "Ogiltigt mätår {year}: ange ett årtal som 2023."

INGA_SVAR = "Inga svar"
FOR_FA_SVAR = "För få svar för att redovisas"
JAMFORELSE_SAKNAS = "jämförelse saknas"
REGISTERSTUDIE = "Mäts genom registerstudie"
YEAR_SO_FAR = "Mätåret {year} hittills"
WHOLE_YEAR = "Hela mätåret {year}"

SHORT_NAMES: Mapping[str, str] = {
    "deltagare-pagaende": "Deltagare pågående",
    "deltagare-avslut": "Deltagare avslut",
    "personal": "Personal",
    "remittenter": "Remittenter",
    "chefsgrupp": "Chefsgrupp",
    "styrelse": "Styrelse",
}
"""Short questionnaire names: sheet names, chart titles, table captions."""

BAND_HEADINGS: Mapping[str, str] = {
    "negativt": "Negativt",
    "varken_eller": "Varken eller",
    "positivt": "Positivt",
    "klart_positivt": "Klart positivt",
    "ja": "Ja",
    "nej": "Nej",
}

KLART_POSITIVT_IN_TABLE = "(Klart positivt)"
"""Klart positivt in a table: in brackets, as it is a part of Positivt."""

COL_FRAGA = "Fråga"
COL_FRAGETEXT = "Frågetext"
COL_GRUPP = "Grupp"
COL_TILLFRAGADE = "Tillfrågade"
COL_N = "n"
COL_SVARSFREKVENS = "Svarsfrekvens"
COL_ENKAT = "Enkät"
COL_SVAR = "Svar"
COL_VARAV_AVBRUTNA = "Varav avbrutna"
COL_INSATS = "Insats"
COL_LANKAR = "Länkar utdelade"
COL_PABORJADE = "Påbörjade"
COL_INSKICKADE = "Inskickade"
COL_ANDEL_BESVARADE = "Andel besvarade länkar"
INSATS_COLUMNS = (COL_INSATS, COL_ENKAT, COL_SVAR, COL_LANKAR, COL_PABORJADE, COL_INSKICKADE,
                  COL_ANDEL_BESVARADE)
"""The per-insats table's headings, in order."""
COL_NR = "Nr"
CHART_POSITIVT_LEGEND = "Positivt (inom parentes: klart positivt)"
MAIN_BAND_BOTH = "Positivt / Ja"
"""The compared band named in a sheet that holds both scale and ja/nej-frågor."""
LEGEND_BANDS = ("negativt", "varken_eller", "positivt", "ja", "nej")
"""The bands a chart legend names, in order."""


def band_columns(kind: str) -> list[str]:
    """Return the band headings of a question's table: Ja, Nej, or the four scale bands."""
    if kind == "yes_no":
        return [BAND_HEADINGS["ja"], BAND_HEADINGS["nej"]]
    return [BAND_HEADINGS["negativt"], BAND_HEADINGS["varken_eller"],
            BAND_HEADINGS["positivt"], KLART_POSITIVT_IN_TABLE]


def main_band(kind: str) -> str:
    """Return the band earlier years are compared on: Ja for ja/nej-frågor, else Positivt."""
    return BAND_HEADINGS["ja"] if kind == "yes_no" else BAND_HEADINGS["positivt"]


def question_label(q: QuestionFigures) -> str:
    """Return a question's number and questionnaire: "Fråga 3, avslut"."""
    return f"Fråga {q.number}, {short_name(q.enkat).lower()}"


def question_heading(q: QuestionFigures) -> str:
    """Return the heading of a question block: its number, questionnaire and exact text."""
    return f"{question_label(q)}: {q.text}"


NOTHING_SHOWN = "{label}: {inga_svar} under perioden."
"""A question with no answers in the period, said in place of its table."""


def short_name(enkat: str) -> str:
    """Return the short Swedish name of a questionnaire (its id when unknown)."""
    return SHORT_NAMES.get(enkat, enkat)


def insats_label(report: Report) -> str:
    """Return "Alla insatser" or "Insats: <name>"."""
    return "Alla insatser" if report.insats is None else f"Insats: {report.insats}"


def title(report: Report) -> str:
    """Return the report's title line, with the förbund when it is known."""
    line = f"Indikatorrapport, {report.period.label}"
    return f"{line}, {report.forbund}" if report.forbund else line


IMPORTED = "importerad"


def year_heading(main: str, year: int, questions: Iterable[QuestionFigures]) -> str:
    """Return a comparison column's heading, "Positivt 2023", marked when imported.

    Marked when any of the `questions` under the column shows an imported figure that year.
    """
    heading = f"{main} {year}"
    imported = any(y.imported for q in questions for y in q.comparison if y.year == year)
    return f"{heading} ({IMPORTED})" if imported else heading


def _band_members() -> dict[str, dict[str, list[str]]]:
    # Read from the scales, never hard-coded: the labels may be replaced by NNS's official ones.
    scales = model.load_scales()
    out: dict[str, dict[str, list[str]]] = {}
    for sid in ("frekvens", "grad"):
        scale = scales.get(sid)
        if scale is None:
            continue
        per: dict[str, list[str]] = {}
        for opt in scale.options:
            key = opt.band if opt.counts and opt.band else "inte_i_n"
            per.setdefault(key, []).append(opt.label)
            if opt.klart_positivt:
                per.setdefault("klart_positivt", []).append(opt.label)
        out[sid] = per
    return out


def about(report: Report) -> list[tuple[str, str]]:
    """Return the "Om rapporten" text as (heading, paragraph) pairs."""
    t = report.threshold
    counts = ", ".join(
        f"{short_name(q.id).lower()} {number_text(q.respondents)}"
        for q in report.questionnaires
        if q.respondents
    )
    bands = _band_members()
    scale_lines = []
    for sid, name in (
        ("frekvens", "Frekvensskalan (deltagarnas frågor)"),
        (
            "grad",
            "Gradskalan (personal och övriga, och deltagarfrågorna pågående 6 och avslut 6, 9 "
            "och 10)",
        ),
    ):
        per = bands.get(sid, {})
        scale_lines.append(
            f"{name}: Positivt = {', '.join(per.get('positivt', []))}; "
            f"Klart positivt = {', '.join(per.get('klart_positivt', []))}; "
            f"Varken eller = {', '.join(per.get('varken_eller', []))}; "
            f"Negativt = {', '.join(per.get('negativt', []))}; "
            f"räknas inte i n: {', '.join(per.get('inte_i_n', []))}."
        )
    return [
        ("Rapporten", f"{title(report)}. {insats_label(report)}."),
        (
            "Svar",
            f"{number_text(report.total_respondents)} svar under perioden"
            + (f" ({counts})." if counts else ".")
            + " Svar från den som slutade innan enkäten var klar räknas också.",
        ),
        (
            "Indikatorerna",
            "Rapporten följer de 16 indikatorerna för finansiell samordning (NNS). Frågorna "
            "ställs med exakt samma ord varje år så att åren går att jämföra. Indikator 11 mäts "
            "genom registerstudie och har inga enkätfrågor.",
        ),
        (
            "Tillfrågade",
            "De som fick frågan. Frågorna 9 och 10 i avslutsenkäten ställs bara till den som "
            "svarade Ja på fråga 8.",
        ),
        ("n", "De som svarade på skalan. Vet inte och överhoppade frågor räknas inte."),
        (
            "Negativt, Varken eller, Positivt",
            "Andelen av n. Klart positivt (inom parentes) är en del av Positivt. "
            + " ".join(scale_lines),
        ),
        ("Ja och Nej", "Andelen av n för frågor som besvaras med ja eller nej."),
        ("Svarsfrekvens", "n delat med antalet tillfrågade."),
        (
            "Avrundning",
            "Procent avrundas till hela tal, och 0,5 avrundas uppåt. Därför kan summan bli "
            "99 eller 101 %.",
        ),
        (
            "Kvinnor och män",
            "Efter svaret på frågan om kön. Den som svarade Annat eller Vill inte svara, eller "
            "inte svarade, räknas bara i Samtliga.",
        ),
        (
            FOR_FA_SVAR,
            f"Vi visar inga siffror för en grupp med färre än {t} svar. Vi döljer också siffror "
            "som annars skulle gå att räkna fram, till exempel genom att dra kvinnor och män "
            "från samtliga, eller genom att jämföra med en rapport som redan har lämnats ut "
            "(förra månadens, eller den för alla insatser). Då döljs hela gruppens rad, även "
            "antalen.",
        ),
        (INGA_SVAR, "Ingen svarade på frågan under perioden, så det finns inga procent."),
        (
            "Fritextsvar",
            f"Visas för samtliga i bokstavsordning och döljs om färre än {t} fick frågan. "
            "Personnummer, telefonnummer, e-postadresser, namn och adresser är maskerade.",
        ),
        *(
            [
                (
                    "Importerade siffror",
                    "Kolumner märkta importerad visar siffror för mätår före enkätboten, "
                    "hämtade ur förbundets tidigare publicerade rapporter (enkatbot historik "
                    "import). De gäller hela förbundet och visas bara i rapporter för alla "
                    "insatser.",
                )
            ]
            if report.imported_years
            else []
        ),
        (
            "Jämförelse",
            "Positivt (Ja för ja/nej-frågor) under tidigare mätår, 1 november–31 oktober, för "
            "samma grupp och exakt samma fråga. Jämförelse saknas när frågan inte fanns det "
            "året.",
        ),
    ]


INTRODUCTION = (
    "Indikatorer för finansiell samordning är ett instrument framtaget av Nationella nätverket "
    "för samordningsförbund (NNS). Med det kan ett samordningsförbund följa sin egen "
    "verksamhetsutveckling över tid och ge förbundet och dess parter stöd för att förbättra "
    "samordningen av de arbetslivsinriktade rehabiliteringsinsatserna. Instrumentet har 16 "
    "indikatorer. De mäts med enkäter till deltagare (under och efter en insats), personal, "
    "remittenter, parternas chefsgrupp och styrelsen, utom indikator 11 som mäts genom "
    "registerstudie. Frågorna ställs med exakt samma ord varje år så att åren går att jämföra."
)
"""The report's introduction to the indicators (Inledning)."""


def document_title(report: Report) -> str:
    """Return the document's title, e.g. "Indikatorrapport 2025" or "… november 2025"."""
    if report.period.kind == "ar":
        return f"Indikatorrapport {report.period.measurement_year}"
    return "Indikatorrapport"


def period_line(report: Report) -> str:
    """Return "Period: …" with the period stated exactly, and the insats."""
    label = report.period.label
    return f"Period: {label[:1].upper()}{label[1:]}. {insats_label(report)}."


def _numbers(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"fråga {numbers[0]}"
    return "frågorna " + ", ".join(map(str, numbers[:-1])) + f" och {numbers[-1]}"


def hidden_groups(report: Report, enkat: str) -> dict[str, list[int]]:
    """Return the question numbers per group ("samtliga", "kvinnor", "män") that were hidden."""
    out: dict[str, list[int]] = {}
    for q in report.questions_in_questionnaire_order(enkat):
        for g in q.groups:
            if g.undertryckt:
                out.setdefault(g.group, []).append(q.number)
    return out


def method(report: Report) -> list[str]:
    """Return the Metod section as paragraphs, generated from the data of the period."""
    asked = [q for q in report.questionnaires if q.respondents]
    not_asked = [q for q in report.questionnaires if not q.respondents]
    label = report.period.label
    paragraphs = [
        f"Enkätundersökningen omfattar {label}. Deltagare, personal och övriga svarar anonymt "
        "i Telegram via en personlig länk eller QR-kod från insatsen. Ett svar sparas med "
        "enkät, insats och månad, aldrig med namn eller Telegram-id."
    ]
    if not asked:
        paragraphs.append(f"Inga enkäter besvarades under {label}.")
        return paragraphs
    parts = []
    for q in asked:
        part = f"{short_name(q.id).lower()} {number_text(q.respondents)}"
        if q.partial:
            part += f" (varav {number_text(q.partial)} avbrutna)"
        parts.append(part)
    paragraphs.append(
        f"Under perioden ställdes {len(asked)} av de 6 enkäterna. Totalt kom "
        f"{number_text(report.total_respondents)} svar: {', '.join(parts)}. Ett avbrutet svar "
        "är en enkät som deltagaren slutade svara på innan den var klar; de frågor som hann "
        "besvaras räknas."
    )
    if not_asked:
        paragraphs.append(
            "Dessa enkäter ställdes inte under perioden: "
            + ", ".join(short_name(q.id).lower() for q in not_asked)
            + "."
        )
    few = []
    for q in asked:
        hidden = hidden_groups(report, q.id)
        numbers = [x.number for x in report.questions_in_questionnaire_order(q.id)]
        if hidden.get("samtliga") == numbers:
            few.append(f"{short_name(q.id)}: hela enkäten ({number_text(q.respondents)} svar).")
            continue
        for group in ("samtliga", "kvinnor", "män"):
            if group in hidden:
                few.append(f"{short_name(q.id)}, {group}: {_numbers(hidden[group])}.")
    if few:
        paragraphs.append(
            f"{FOR_FA_SVAR} (färre än {report.threshold}, eller siffror som "
            "annars skulle gå att räkna fram): " + " ".join(few)
        )
    else:
        paragraphs.append(
            f"Alla grupper hade minst {report.threshold} svar, så inga siffror behövde döljas."
        )
    return paragraphs


# -- the coordinators' summary (Telegram HTML; values are escaped by the caller) ---------------

SUMMARY_MONTHLY_HEADING = "Månadsrapport för {month}"
SUMMARY_PERIOD_HEADING = "Rapport för {period}"
SUMMARY_APPLIES_TO = "Gäller {who}."
SUMMARY_ALL_INSATSER = "alla insatser"
SUMMARY_ONE_INSATS = "insatsen {insats}"
SUMMARY_NO_ANSWERS = "Inga svar under {period}, så det finns ingen rapport att skicka."
SUMMARY_NEW_HEADING = "<b>Nya svar i {month}</b>"
SUMMARY_NO_NEW = "Inga nya svar den här månaden."
SUMMARY_YEAR_SO_FAR_HEADING = "<b>" + YEAR_SO_FAR + "</b> ({months})"
SUMMARY_TOTAL = "{total} svar: {counts}."
SUMMARY_ANSWERS_HEADING = "<b>Svar</b>"
SUMMARY_COUNT = "{enkat}: {n}"
SUMMARY_COUNT_PARTIAL = " (varav {partial} avbrutna)"
SUMMARY_MORE_INSATSER = "{rest} till"
SUMMARY_POSITIVE = "{enkat}: {percent} positiva svar, alla frågor tillsammans."
SUMMARY_MOVES_HEADING = "<b>Störst förändring</b> (jämfört med {basis})"
SUMMARY_MOVE = (
    "• Indikator {indicator}, {enkat} fråga {number}: positiva {before} → {now} "
    "(n {n_before} → {n_now}; {sign}{change} procentenheter). <i>{indicator_text}</i>"
)
SUMMARY_SAME_MONTHS_LAST_YEAR = "samma månader förra mätåret"
SUMMARY_SAME_MONTHS_LAST_YEAR_OF = "samma månader förra mätåret ({period})"
SUMMARY_YEAR_SO_FAR_LAST_MONTH = "året hittills förra månaden"
SUMMARY_TOO_FEW_HEADING = "<b>För få svar</b>"
SUMMARY_TOO_FEW_YET_HEADING = "<b>För få svar än</b>"
SUMMARY_TOO_FEW = "{enkat}: {n} svar."
SUMMARY_TOO_FEW_YET = "{enkat}: {n} svar hittills."
SUMMARY_SMALL_GROUPS = (
    "Grupper med färre än {threshold} svar visas inte, så att ingen kan pekas ut."
)
SUMMARY_FEW_PARTICIPANTS = "Insatser med få deltagarsvar: {insatser}."
SUMMARY_FEW_PARTICIPANTS_MORE = "Insatser med få deltagarsvar: {insatser} och {more} till."
SUMMARY_MONTHLY_DOCUMENTS = (
    "Diagram, arbetsbok och rapport med hela mätåret hittills kommer här under."
)
SUMMARY_PERIOD_DOCUMENTS = "Diagrammet, arbetsboken och rapporten som PDF kommer här under."
SUMMARY_WORKBOOK_CAPTION = "Arbetsboken med alla siffror för {what}."
SUMMARY_PDF_CAPTION = "Rapporten som PDF, {what}."
SUMMARY_CHART_CAPTION = (
    "{enkat}, {period}: negativa, varken eller och positiva svar per fråga. {who}. "
    "Alla enkäter finns i arbetsboken och rapporten."
)


def summary_who(insats: str | None, *, first: bool = False) -> str:
    """Return whom a summary covers ("alla insatser", "insatsen X"); capitalised when `first`."""
    who = SUMMARY_ALL_INSATSER if insats is None else SUMMARY_ONE_INSATS.format(insats=insats)
    return who[0].upper() + who[1:] if first else who


# -- enkatbot historik import: why a file of earlier years' figures cannot be imported --
HISTORY_ROW = "Rad {line}: {problem} Inget importerades."
HISTORY_FILE = "{problem} Inget importerades."
HISTORY_PROBLEMS: Mapping[str, str] = {
    "not_integer": "{column} ska vara ett heltal, inte {value!r}.",
    "below": "{column} ska vara minst {lo}, inte {number}.",
    "outside": "{column} ska vara mellan {lo} och {hi}, inte {number}.",
    "missing_columns": "kolumnerna {missing} saknas. Filen ska ha kolumnerna {required}.",
    "unknown_columns": "okända kolumner {unknown}.",
    "duplicate_row": "samma år, enkät, fråga och grupp som rad {first}.",
    "no_rows": "Filen har inga rader med siffror.",
    "unknown_enkat": "okänd enkät {enkat!r}. Giltiga: {valid}.",
    "unknown_question": "{enkat} har ingen fråga {fraga}.",
    "wrong_indicator": "fråga {fraga} i {enkat} hör till indikator {right}, inte {given}.",
    "unknown_group": "gruppen {grupp!r} finns inte för {enkat} (giltiga: {valid}).",
    "half_counts": "ange både tillfragade och n (eller inget av dem för en dold grupp).",
    "n_above_asked": "n ({n}) är större än tillfragade ({tillfragade}).",
    "wrong_rate": (
        "svarsfrekvens {given} % stämmer inte med n / tillfragade "
        "({n} av {tillfragade} är {expected} %)."
    ),
    "yes_no_with_scale": "en ja/nej-fråga har inte kolumnerna {columns}.",
    "scale_with_yes_no": "en skalfråga har inte kolumnerna {columns}.",
    "percent_without_answers": "procent utan svar (n är 0).",
    "bands_missing": "ange {bands} när n är {n}.",
    "bands_not_100": "{bands} blir {total} %, inte 100 %.",
    "klart_above_positivt": "klart_positivt ({klart} %) är större än positivt ({positivt} %).",
}
"""Each fault a history file can have, worded for the one who imports it."""
