"""The PDF a board receives: A4, page numbers, embedded fonts, searchable exact question texts,
laid out by indicator, opening with the förbund, the period, Inledning, Metod and Sammanfattning,
and no question's table split across pages."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from pypdf import PdfReader

from analysis.figures import build_report
from analysis.pdf import build_pdf
from analysis.periods import measurement_year, single_month
from analysis.sample import generate_sample
from questionnaires.model import load_all

pytestmark = pytest.mark.outputs

FORBUND = "Samordningsförbundet Provdalen"
A4 = (595.28, 841.89)  # points


@pytest.fixture(scope="module")
def sample():
    return generate_sample(3)


@pytest.fixture(scope="module")
def report(sample):
    return replace(build_report(*sample, measurement_year(2025)), forbund=FORBUND)


@pytest.fixture(scope="module")
def pages(report) -> list[str]:
    pdf = build_pdf(report, "## Våra slutsatser\n\nDeltagarna är **nöjda**.\n\n- Fler länkar\n")
    reader = PdfReader(io.BytesIO(pdf))
    for page in reader.pages:
        box = page.mediabox
        assert (round(float(box.width), 1), round(float(box.height), 1)) == (
            round(A4[0], 1),
            round(A4[1], 1),
        )
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert "/FontFile2" in descriptor, f"{font['/BaseFont']} is not embedded"
            fonts.add(str(font["/BaseFont"]))
    assert any("DejaVuSans" in f for f in fonts)
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def test_it_opens_like_the_published_reports(pages):
    first = pages[0]
    assert first.startswith(
        f"Indikatorrapport 2025 {FORBUND} Period: Mätåret 2025 (nov 2024–okt 2025)"
    )
    order = [first.index(h) for h in ("Inledning", "Metod", "Sammanfattning", "Våra slutsatser")]
    assert order == sorted(order)
    assert "Deltagarna är nöjda." in first
    assert "Under perioden ställdes 6 av de 6 enkäterna." in first
    assert re.search(r"deltagare avslut \d+ \(varav \d+ avbrutna\)", first)
    # Chefsgrupp (4) and styrelse (3) have too few answers: Metod names them.
    assert "Chefsgrupp: hela enkäten (4 svar)." in first


def test_every_page_is_numbered_and_carries_the_forbund(pages):
    for number, text in enumerate(pages, 1):
        assert f"Sida {number} av {len(pages)}" in text
        assert FORBUND in text


def test_indicators_in_order_with_every_question_text_exact(pages, report):
    text = " ".join(pages)
    positions = [text.index(f"Indikator {n} ") for n in range(1, 17)]
    assert positions == sorted(positions)
    eleven = text[positions[10] : positions[11]]
    assert "Mäts genom registerstudie" in eleven
    for q in report.questions():
        heading = f"Fråga {q.number}, "
        assert f"{q.text}" in text, f"{q.enkat} {q.number}: text not found as written"
        assert heading in text


def test_no_question_table_is_split_across_pages(pages):
    for number, text in enumerate(pages, 1):
        headings = len(re.findall(r"Fråga \d+, [a-zåäö ]+:", text))
        tables = text.count("Svarsfrekvens")
        if "Om rapporten" in text:
            continue  # the explanation of the columns also says "Svarsfrekvens"
        assert headings == tables, f"page {number}: {headings} question headings, {tables} tables"


def test_a_month_with_hidden_groups_says_so_in_metod():
    responses, answers = generate_sample(4)
    report = build_report(responses, answers, single_month("2025-03"))
    reader = PdfReader(io.BytesIO(build_pdf(report)))
    first = " ".join(reader.pages[0].extract_text().split())
    assert "Period: Mars 2025." in first
    assert "För få svar för att redovisas" in first
    assert "Sammanfattning" not in first  # no file, no section


def test_question_texts_in_the_pdf_are_the_instruments(pages):
    text = " ".join(pages)
    for q in load_all().values():
        for it in q.items:
            if it.number is not None:
                assert it.text in text
