"""A realistic, made-up data set in the storage contract's shape, for tests, screenshots, benches.

Several insatser (one so small that its figures are hidden), both participant questionnaires,
staff once a year, a few remittenter, and chefsgrupp and styrelse too few to report; answers
drift a little from year to year, some respondents skip or say Vet inte, some responses expire
half-way (partial), and a few participants give another gender or none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from questionnaires import model
from questionnaires.model import Questionnaire

DEFAULT_INSATSER: Mapping[str, float] = {
    "Steget vidare": 0.40,
    "Arbetslivsverkstan": 0.30,
    "Unga vuxna i arbete": 0.27,
    "Kraftsamling": 0.03,
}
"""Insatser and their share of the participants; Kraftsamling stays under the threshold."""

_GENDER = (("kvinna", 0.55), ("man", 0.36), ("annat", 0.03), ("vill_inte_svara", 0.03))
_STAFF_PER_INSATS = 9
_TEXTS = {
    1: (
        "Att jag får ta det i min egen takt.",
        "En arbetsplats som är anpassad efter mina behov.",
        "Rätt stöd och stöttning.",
        "Må bra och ha en stabil tillvaro som håller i vardagen.",
        "Att någon tror på mig.",
        "Det är viktigt att jag kan försörja mig.",
    ),
    2: (
        "Att känna att folk tror på mig och att jag kan förändra mitt mående.",
        "Jag har fått ta den tid jag behövt.",
        "Kände att jag blev lyssnad på och hörd. Det ger styrka.",
        "Aktiviteterna och samtalen med andra deltagare.",
        "Slussad till rätt kontakter.",
    ),
    3: (
        "Kan inte komma på något, personalen har varit fantastisk.",
        "Att få arbetsträningsplats snabbare.",
        "Mer samtalsstöd parallellt.",
        "Färre ändringar i schemat.",
        "Att ni hade lyssnat mer på vad jag ville göra.",
    ),
}


def generate_sample(
    seed: int = 0,
    years: Sequence[int] = (2023, 2024, 2025),
    *,
    participants_per_year: int = 300,
    insatser: Mapping[str, float] = DEFAULT_INSATSER,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return made-up (responses, answers) frames following the storage contract.

    `participants_per_year` participant responses are spread over the insatser by their share;
    pågående is used from the second year on (as a förbund starting it later would). The
    same seed always gives the same frames.
    """
    rng = np.random.default_rng(seed)
    questionnaires = model.load_all()
    responses: list[tuple[str, str, int, str, str, str]] = []
    answers: list[tuple[str, str, str | None]] = []
    counter = iter(range(10**9))

    def respond(q: Questionnaire, insats: str, month: str, mood: float, gendered: bool) -> None:
        rid = f"s{seed}-{next(counter):06x}"
        stop_at = int(rng.integers(1, len(q.items))) if rng.random() < 0.06 else None
        responses.append(
            (rid, q.id, q.version, insats, month, "partial" if stop_at else "complete")
        )
        given: dict[str, str | None] = {}
        for pos, item in enumerate(q.items):
            if stop_at is not None and pos >= stop_at:
                break
            if item.condition and given.get(item.condition.item) != item.condition.answer:
                continue
            value = _answer(rng, item, mood, gendered)
            given[item.id] = value
            answers.append((rid, item.id, value))

    first_year = min(years)
    for year in years:
        drift = 0.15 * (year - first_year) + float(rng.normal(0, 0.1))
        for insats, share in insatser.items():
            effect = float(rng.normal(0, 0.35))
            n_avslut = max(2, round(participants_per_year * share * 0.55))
            n_pagaende = round(participants_per_year * share * 0.45) if year > first_year else 0
            for enkat, count in (
                ("deltagare-avslut", n_avslut),
                ("deltagare-pagaende", n_pagaende),
            ):
                for _ in range(count):
                    month = _month(year, int(rng.integers(0, 12)))
                    mood = 0.6 + effect + drift + float(rng.normal(0, 0.9))
                    respond(questionnaires[enkat], insats, month, mood, True)
            if share >= 0.1:
                for _ in range(_STAFF_PER_INSATS + int(rng.integers(-2, 3))):
                    month = _month(year, int(rng.integers(10, 12)))
                    mood = 0.4 + effect + drift + float(rng.normal(0, 0.7))
                    respond(questionnaires["personal"], insats, month, mood, False)
        big = max(insatser, key=lambda k: insatser[k])
        for enkat, count in (("remittenter", 7), ("chefsgrupp", 4), ("styrelse", 3)):
            for _ in range(count):
                mood = 0.2 + drift + float(rng.normal(0, 0.8))
                respond(questionnaires[enkat], big, _month(year, 11), mood, False)

    r = pd.DataFrame(
        responses, columns=["response_id", "enkat", "version", "insats", "month", "status"]
    )
    a = pd.DataFrame(answers, columns=["response_id", "item_id", "value"])
    return r, a


def _month(year: int, index: int) -> str:
    """Return month `index` (0 = November) of measurement year `year` as "YYYY-MM"."""
    m = 11 + index
    return f"{year - 1}-{m:02d}" if m <= 12 else f"{year}-{m - 12:02d}"


def _answer(rng: np.random.Generator, item: model.Item, mood: float, gendered: bool) -> str | None:
    if item.background:
        if rng.random() < 0.04:
            return None
        labels = [label for label, _ in _GENDER]
        weights = [weight for _, weight in _GENDER]
        p = np.array(weights) / sum(weights)
        return str(rng.choice(labels, p=p))
    if item.type == "text":
        if not gendered or rng.random() > 0.4:
            return None
        number = int(item.id.rsplit("-", 1)[-1])
        return str(rng.choice(_TEXTS[number]))
    if rng.random() < 0.02:
        return None
    assert item.scale is not None
    if item.type == "yes_no":
        return "ja" if rng.random() < 0.72 + 0.08 * mood else "nej"
    if rng.random() < 0.04:
        return "vet_inte"
    # Six options from best (0) to worst (5); a better mood moves the answer towards 0.
    position = int(np.clip(round(2.2 - 1.3 * mood + rng.normal(0, 1.1)), 0, 5))
    counted = [o for o in item.scale.options if o.counts and o.band is not None]
    return counted[position].value
