"""The Swedish texts every report format shares: names, headings and what the figures mean.

One place for the coordinator-facing words, so the workbook, the documents and the charts say
the same thing in the same plain Swedish.
"""

from __future__ import annotations

from collections.abc import Mapping

from analysis.figures import Report
from analysis.formatting import number_text
from questionnaires import model

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


def short_name(enkat: str) -> str:
    """Return the short Swedish name of a questionnaire (its id when unknown)."""
    return SHORT_NAMES.get(enkat, enkat)


def insats_label(report: Report) -> str:
    """Return "Alla insatser" or "Insats: <name>"."""
    return "Alla insatser" if report.insats is None else f"Insats: {report.insats}"


def title(report: Report) -> str:
    """Return the report's title line."""
    return f"Indikatorrapport, {report.period.label}"


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
    for sid, name in (("frekvens", "Deltagare"), ("grad", "Personal och övriga")):
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
            "För få svar för att redovisas",
            f"Vi visar inga siffror för en grupp med färre än {t} svar. Vi döljer också siffror "
            "som annars skulle gå att räkna fram, till exempel genom att dra kvinnor och män "
            "från samtliga, eller genom att jämföra med en rapport som redan har lämnats ut "
            "(förra månadens, eller den för alla insatser). Då döljs hela gruppens rad, även "
            "antalen.",
        ),
        ("Inga svar", "Ingen svarade på frågan under perioden, så det finns inga procent."),
        (
            "Fritextsvar",
            f"Visas för samtliga i bokstavsordning och döljs om färre än {t} fick frågan. "
            "Personnummer, telefonnummer, e-postadresser, namn och adresser är maskerade.",
        ),
        (
            "Jämförelse",
            "Positivt (Ja för ja/nej-frågor) under tidigare mätår, 1 november–31 oktober, för "
            "samma grupp och exakt samma fråga. Jämförelse saknas när frågan inte fanns det "
            "året.",
        ),
    ]
