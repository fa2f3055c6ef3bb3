"""The coordinators' monthly summary: text, chart and workbook of the measurement year so far."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest
from PIL import Image

from analysis.periods import PeriodError
from analysis.sample import generate_sample
from analysis.summary import CAPTION_LIMIT, TEXT_LIMIT, build_monthly_summary
from tests.botapi.markup import parse_text

pytestmark = pytest.mark.pure

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NBSP = "\xa0"


class Frames:
    def __init__(self) -> None:
        self.responses: list[dict] = []
        self.answers: list[dict] = []

    def add(self, enkat, answers, *, month, insats="Steget", times=1):
        for _ in range(times):
            rid = f"r{len(self.responses)}"
            self.responses.append(
                {
                    "response_id": rid,
                    "enkat": enkat,
                    "version": 1,
                    "insats": insats,
                    "month": month,
                    "status": "complete",
                }
            )
            self.answers += [
                {"response_id": rid, "item_id": k, "value": v} for k, v in answers.items()
            ]

    def frames(self):
        return (
            pd.DataFrame(self.responses),
            pd.DataFrame(self.answers, columns=["response_id", "item_id", "value"]),
        )


def plain(text: str) -> str:
    """The text as Telegram shows it; raises like Telegram on broken HTML."""
    return parse_text(text, "HTML")[0]


@pytest.fixture(scope="module")
def sample():
    return generate_sample(5, years=(2024, 2025), participants_per_year=200)


@pytest.fixture(scope="module")
def summary(sample):
    return build_monthly_summary(*sample, "2025-03")


def test_summary_text_is_short_telegram_html(summary):
    assert len(summary.text) <= TEXT_LIMIT
    shown = plain(summary.text)
    assert shown.startswith("Månadsrapport för mars 2025")
    assert "Mätåret 2025 hittills (nov 2024–mars 2025)" in shown


def test_new_responses_are_counted_per_questionnaire_and_insats(sample, summary):
    responses, _ = sample
    march = responses[responses["month"] == "2025-03"]
    avslut = march[march["enkat"] == "deltagare-avslut"]
    biggest = avslut.groupby("insats").size().sort_values(ascending=False)
    name, count = biggest.index[0], int(biggest.iloc[0])
    line = next(s for s in plain(summary.text).splitlines() if s.startswith("Deltagare avslut:"))
    assert line.startswith(f"Deltagare avslut: {len(avslut)} (")
    assert f"{name} {count}" in line


def test_chart_caption_and_workbook_cover_the_year_so_far(summary):
    assert summary.chart_png.startswith(PNG_MAGIC)
    assert Image.open(io.BytesIO(summary.chart_png)).width >= 900
    assert len(summary.chart_caption) <= CAPTION_LIMIT
    assert "mätåret 2025 hittills" in summary.chart_caption
    assert summary.workbook_filename == "indikatorer-2025-hittills-till-2025-03.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(summary.workbook))
    assert wb["Deltagare avslut"]["A2"].value.startswith(
        "Mätåret 2025 hittills (nov 2024–mars 2025)"
    )
    assert summary.workbook_caption.startswith("Arbetsboken med alla siffror för mätåret 2025")
    assert summary.pdf is None  # the scheduled summary adds the PDF only when asked


def test_the_indicator_that_moved_most_is_named_with_its_change():
    f = Frames()
    # Indicator 1 (avslut 1): 50 % positive last year, 90 % now; indicator 2 barely moves.
    f.add(
        "deltagare-avslut", {"avslut-1": "alltid", "avslut-2": "alltid"}, month="2024-01", times=5
    )
    f.add(
        "deltagare-avslut", {"avslut-1": "aldrig", "avslut-2": "alltid"}, month="2024-01", times=5
    )
    f.add(
        "deltagare-avslut", {"avslut-1": "alltid", "avslut-2": "alltid"}, month="2025-01", times=9
    )
    f.add(
        "deltagare-avslut", {"avslut-1": "aldrig", "avslut-2": "aldrig"}, month="2025-01", times=1
    )
    text = plain(build_monthly_summary(*f.frames(), "2025-01").text)
    lines = text.splitlines()
    start = lines.index("Störst förändring (jämfört med samma månader förra mätåret)")
    first, second = lines[start + 1], lines[start + 2]
    assert first.startswith(
        f"• Indikator 1, deltagare avslut fråga 1: positiva 50{NBSP}% → 90{NBSP}% "
        "(n 10 → 10; +40 procentenheter)."
    )
    assert second.startswith("• Indikator 2, deltagare avslut fråga 2: positiva 100")
    assert "(n 10 → 10; −10 procentenheter)" in second


def test_without_last_year_it_compares_with_last_month():
    f = Frames()
    f.add("personal", {"personal-1": "lag"}, month="2024-11", times=6)
    f.add("personal", {"personal-1": "hog"}, month="2024-12", times=6)
    text = plain(build_monthly_summary(*f.frames(), "2024-12").text)
    assert "jämfört med året hittills förra månaden" in text
    assert f"0{NBSP}% → 50{NBSP}%" in text


def test_no_month_on_month_move_from_a_handful_of_new_responses():
    f = Frames()
    f.add("personal", {"personal-1": "lag"}, month="2024-11", times=6)
    f.add("personal", {"personal-1": "hog"}, month="2024-12", times=2)
    text = plain(build_monthly_summary(*f.frames(), "2024-12").text)
    # 0 % → 25 % would tell that both December answers were positive.
    assert "Störst förändring" not in text


def test_small_questionnaires_and_insatser_are_listed_as_too_few():
    f = Frames()
    f.add("deltagare-avslut", {"avslut-1": "ofta"}, month="2025-02", times=8)
    f.add("deltagare-avslut", {"avslut-1": "ofta"}, month="2025-02", insats="Lilla", times=2)
    f.add("chefsgrupp", {"chefsgrupp-1": "hog"}, month="2025-02", times=3)
    text = plain(build_monthly_summary(*f.frames(), "2025-02").text)
    assert "För få svar än" in text
    assert "Chefsgrupp: 3 svar hittills." in text
    assert "Insatser med få deltagarsvar: Lilla (deltagare avslut 2)." in text


def test_names_from_the_data_are_escaped():
    f = Frames()
    f.add("deltagare-avslut", {"avslut-1": "ofta"}, month="2025-02", insats="A&O <Unga>", times=6)
    for insats in ("A&O <Unga>", None):
        summary = build_monthly_summary(*f.frames(), "2025-02", insats=insats)
        assert "A&O <Unga>" in plain(summary.text)
        assert "&amp;O &lt;Unga&gt;" in summary.text


def test_an_insats_without_responses_says_so():
    f = Frames()
    f.add("deltagare-avslut", {"avslut-1": "ofta"}, month="2025-02", times=6)
    summary = build_monthly_summary(*f.frames(), "2025-02", insats="Ny insats")
    text = plain(summary.text)
    assert "Gäller insatsen Ny insats." in text
    # One sentence, and no empty chart, workbook or PDF.
    assert text.splitlines()[-1] == (
        "Inga svar under mätåret 2025 hittills (nov 2024–feb 2025), så det finns ingen "
        "rapport att skicka."
    )
    assert summary.chart_png is None and summary.workbook is None and summary.pdf is None


def test_many_insatser_still_fit_in_one_message():
    f = Frames()
    for i in range(300):
        f.add(
            "deltagare-avslut",
            {"avslut-1": "ofta"},
            month="2025-02",
            insats=f"En insats med ett mycket långt namn nummer {i} <&>",
            times=1,
        )
    summary = build_monthly_summary(*f.frames(), "2025-02")
    assert len(summary.text) <= TEXT_LIMIT
    assert "och 294 till" in plain(summary.text)


def test_bad_month_is_refused():
    f = Frames()
    with pytest.raises(PeriodError):
        build_monthly_summary(*f.frames(), "2025-13")


def test_a_move_needs_the_group_shown_in_both_periods_and_says_both_n():
    f = Frames()
    # Question 1: shown both years (n 6 → 8). Question 2: only 3 answered last year, so it
    # is hidden then and never compared, however much it seems to move.
    f.add("deltagare-avslut", {"avslut-1": "aldrig", "avslut-2": "aldrig"}, month="2024-01",
          times=3)
    f.add("deltagare-avslut", {"avslut-1": "alltid"}, month="2024-01", times=3)
    f.add("deltagare-avslut", {"avslut-1": "alltid", "avslut-2": "alltid"}, month="2025-01",
          times=8)
    text = plain(build_monthly_summary(*f.frames(), "2025-01").text)
    assert f"fråga 1: positiva 50{NBSP}% → 100{NBSP}% (n 6 → 8; +50 procentenheter)" in text
    assert "fråga 2:" not in text
