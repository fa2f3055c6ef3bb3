"""The report's outputs (csv, xlsx, png, md, html) and the `enkatbot rapport` command."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter
from PIL import Image

from analysis.charts import report_charts
from analysis.document import render_html, render_markdown, write_markdown
from analysis.figures import build_report
from analysis.periods import measurement_year
from analysis.sample import generate_sample
from analysis.table import CSV_COLUMNS, csv_text
from analysis.workbook import build_workbook, workbook_bytes
from enkatbot.main import main
from storage import Store
from tests.test_analysis_seed import build_seed_frames

pytestmark = pytest.mark.outputs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NBSP = "\xa0"


@pytest.fixture(scope="module")
def seed_frames():
    return build_seed_frames()


@pytest.fixture(scope="module")
def seed_report(seed_frames):
    return build_report(*seed_frames, measurement_year(2023))


@pytest.fixture(scope="module")
def sample_frames():
    return generate_sample(3, years=(2023, 2024), participants_per_year=150)


@pytest.fixture(scope="module")
def sample_report(sample_frames):
    return build_report(*sample_frames, measurement_year(2024))


@pytest.fixture(scope="module")
def sample_charts(sample_report):
    return report_charts(sample_report)


# --- csv ------------------------------------------------------------------------------------


def test_csv_has_exactly_the_agreed_columns_and_the_seed_figures(seed_report):
    text = csv_text(seed_report)
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames) == CSV_COLUMNS
    assert CSV_COLUMNS == (
        "enkat",
        "fraga",
        "indikator",
        "grupp",
        "tillfragade",
        "n",
        "negativt",
        "varken_eller",
        "positivt",
        "klart_positivt",
        "ja",
        "nej",
        "svarsfrekvens",
        "undertryckt",
    )
    rows = list(reader)
    by_key = {(r["enkat"], r["fraga"], r["grupp"]): r for r in rows}
    q10 = by_key[("deltagare-avslut", "10", "samtliga")]
    assert (q10["tillfragade"], q10["n"], q10["negativt"], q10["varken_eller"]) == (
        "48",
        "40",
        "5",
        "8",
    )
    assert (q10["positivt"], q10["klart_positivt"], q10["svarsfrekvens"]) == ("88", "80", "83")
    assert (q10["ja"], q10["nej"], q10["undertryckt"], q10["indikator"]) == ("", "", "false", "6")
    assert by_key[("deltagare-avslut", "10", "män")]["svarsfrekvens"] == "88"
    q8 = by_key[("deltagare-avslut", "8", "kvinnor")]
    assert (q8["ja"], q8["nej"], q8["positivt"]) == ("77", "23", "")
    personal = [r for r in rows if r["enkat"] == "personal"]
    assert {r["grupp"] for r in personal} == {"samtliga"} and len(personal) == 11
    empty = by_key[("styrelse", "1", "samtliga")]
    assert (empty["n"], empty["positivt"], empty["svarsfrekvens"]) == ("0", "", "")


def test_csv_leaves_suppressed_cells_empty(sample_frames):
    report = build_report(*sample_frames, measurement_year(2024), insats="Kraftsamling")
    rows = list(csv.DictReader(io.StringIO(csv_text(report))))
    hidden = [r for r in rows if r["undertryckt"] == "true"]
    assert hidden
    for r in hidden:
        assert all(r[c] == "" for c in CSV_COLUMNS[4:13])


# --- xlsx -----------------------------------------------------------------------------------


def _reopen(report):
    return openpyxl.load_workbook(io.BytesIO(workbook_bytes(report)))


def _find_rows(ws, number):
    """The group rows of question `number`: from its number cell down to the next blank."""
    start = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == number)
    rows = []
    r = start
    while ws.cell(r, 3).value in ("Samtliga", "Kvinnor", "Män"):
        rows.append(r)
        r += 1
    return rows


def test_workbook_has_a_sheet_per_respondent_group_free_texts_and_about(seed_report):
    wb = _reopen(seed_report)
    assert wb.sheetnames == [
        "Deltagare pågående",
        "Deltagare avslut",
        "Personal",
        "Remittenter",
        "Chefsgrupp",
        "Styrelse",
        "Fritextsvar",
        *(f"Fritext Deltagare avslut {n}" for n in (1, 2, 3)),
        "Per insats",
        "Om rapporten",
    ]
    about = " ".join(str(c.value) for row in wb["Om rapporten"].iter_rows() for c in row if c.value)
    assert "Svarsfrekvens" in about and "0,5 avrundas uppåt" in about


def test_workbook_stores_percentages_as_formatted_fractions(seed_report):
    ws = _reopen(seed_report)["Deltagare avslut"]
    headers = [
        c.value
        for c in next(r for r in ws.iter_rows(min_row=1, max_row=10) if r[0].value == "Fråga")
    ]
    col = {h: i + 1 for i, h in enumerate(headers)}
    samtliga, kvinnor, man = _find_rows(ws, 10)
    assert ws.cell(samtliga, 2).value == "Kommer det som är planerat att påbörjas inom rimlig tid?"
    assert ws.cell(samtliga, col["Tillfrågade"]).value == 48
    assert ws.cell(samtliga, col["n"]).value == 40
    positivt = ws.cell(samtliga, col["Positivt"])
    assert positivt.value == pytest.approx(0.88) and positivt.number_format == "0 %"
    assert ws.cell(samtliga, col["Klart positivt"]).number_format == "(0 %)"
    assert ws.cell(kvinnor, col["Svarsfrekvens"]).value == pytest.approx(0.79)
    assert ws.cell(man, col["Svarsfrekvens"]).value == pytest.approx(0.88)
    ja = ws.cell(_find_rows(ws, 8)[0], col["Ja"])
    assert ja.value == pytest.approx(0.81) and ja.number_format == "0 %"


def test_workbook_columns_are_wide_enough_for_their_numbers(sample_report):
    wb = _reopen(sample_report)
    for ws in wb.worksheets[:6]:
        merged = {c for rng in ws.merged_cells.ranges for c in rng.cells}
        for row in ws.iter_rows(min_row=4):
            for cell in row:
                if cell.value is None or (cell.row, cell.column) in merged:
                    continue
                width = ws.column_dimensions[get_column_letter(cell.column)].width
                if isinstance(cell.value, float):
                    shown = (
                        f"({round(cell.value * 100)} %)"
                        if "(" in cell.number_format
                        else (f"{round(cell.value * 100)} %")
                    )
                    assert width >= len(shown) + 1, (ws.title, cell.coordinate)
                elif isinstance(cell.value, int):
                    assert width >= len(str(cell.value)) + 1, (ws.title, cell.coordinate)


def test_workbook_headers_have_room_for_two_lines(sample_report):
    # "Varken eller" and "Klart positivt" wrap; a one-line row would show only half of them.
    ws = _reopen(sample_report)["Deltagare avslut"]
    headers = [r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Fråga"]
    assert len(headers) == 8
    for r in headers:
        assert ws.row_dimensions[r].height >= 30
        assert ws.cell(r, 7).value == "Varken eller" and ws.cell(r, 7).alignment.wrap_text


def test_workbook_says_when_figures_are_hidden_and_hides_small_free_texts(sample_frames):
    report = build_report(*sample_frames, measurement_year(2024), insats="Kraftsamling")
    wb = _reopen(report)
    values = [c.value for row in wb["Deltagare avslut"].iter_rows() for c in row]
    assert "För få svar för att redovisas" in values
    assert not any(isinstance(v, float) for v in values)
    texts = [c.value for row in wb["Fritextsvar"].iter_rows(min_row=5) for c in row if c.value]
    assert "För få svar för att redovisas" in texts


def test_workbook_free_texts_are_listed_in_alphabetical_order(sample_report):
    ws = build_workbook(sample_report)["Fritextsvar"]
    rows = [(r[0].value, r[1].value, r[2].value) for r in ws.iter_rows(min_row=5)]
    question, answers = None, []
    for enkat, text, answer in rows:
        if enkat == "Deltagare avslut" and text and text.startswith("Vad är viktigt"):
            question = text
            answers = [answer]
        elif question and enkat is None and text is None:
            answers.append(answer)
        elif question:
            break
    assert len(answers) > 5
    assert answers == sorted(answers, key=str.casefold)


# --- charts ---------------------------------------------------------------------------------


def test_charts_are_pngs_per_questionnaire_with_figures(sample_charts):
    names = [c.filename for c in sample_charts]
    assert "deltagare-avslut-fordelning.png" in names
    assert "deltagare-avslut-jamforelse.png" in names
    # Chefsgrupp and styrelse never reach the threshold in the sample: nothing to draw.
    assert not any(n.startswith(("chefsgrupp", "styrelse")) for n in names)
    for chart in sample_charts:
        assert chart.png.startswith(PNG_MAGIC)
        image = Image.open(io.BytesIO(chart.png))
        assert image.width >= 900 and 300 <= image.height <= 3000


def test_no_comparison_chart_without_earlier_figures(seed_report):
    # 2022 has a single avslut response (hidden) and no staff: nothing to draw across years.
    assert seed_report.comparison_years == (2022,)
    names = [c.filename for c in report_charts(seed_report)]
    assert names == ["deltagare-avslut-fordelning.png", "personal-fordelning.png"]


# --- md and html ----------------------------------------------------------------------------


def test_markdown_has_every_indicator_the_tables_and_linked_charts(tmp_path, seed_report):
    files = write_markdown(seed_report, tmp_path / "rapport.md", report_charts(seed_report))
    text = files[0].read_text(encoding="utf-8")
    for n in range(1, 17):
        assert f"## Indikator {n}\n" in text
    assert "Mäts genom registerstudie" in text
    row = f"| Samtliga | 48 | 40 | 5{NBSP}% | 8{NBSP}% | 88{NBSP}% | (80{NBSP}%) | 83{NBSP}% |"
    assert row in text
    for link in re.findall(r"\]\((rapport-diagram/[^)]+\.png)\)", text):
        assert (tmp_path / link).read_bytes().startswith(PNG_MAGIC)
    assert len(files) == 3
    assert "inga svar under perioden" in text


def test_markdown_escapes_free_text(seed_frames):
    responses, answers = seed_frames
    answers = answers.copy()
    answers.loc[len(answers)] = {
        "response_id": "a000",
        "item_id": "avslut-fritext-3",
        "value": "Mer *tid* | [länk](x)",
    }
    report = build_report(responses, answers, measurement_year(2023))
    text = render_markdown(report, [], "img")
    assert r"- Mer \*tid\* \| \[länk\]\(x\)" in text


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_and_escapes_free_text(seed_frames):
    responses, answers = seed_frames
    answers = answers.copy()
    answers.loc[len(answers)] = {
        "response_id": "a000",
        "item_id": "avslut-fritext-2",
        "value": "<script>alert(1)</script> bra",
    }
    report = build_report(responses, answers, measurement_year(2023))
    page = render_html(report, report_charts(report))
    assert "<script>" not in page and "&lt;script&gt;" in page
    parser = _Collect()
    parser.feed(page)
    images = [a for t, a in parser.tags if t == "img"]
    assert len(images) == 2
    assert all(a["src"].startswith("data:image/png;base64,") and a["alt"] for a in images)
    assert not [a for t, a in parser.tags if t in ("link", "script")]
    assert "@media print" in page
    assert (
        "Fråga 10, deltagare avslut: Kommer det som är planerat att påbörjas inom rimlig tid?"
        in "".join(parser.text)
    )


# --- the command ----------------------------------------------------------------------------


def _fill(db: Path, responses, answers) -> None:
    store = Store(db)
    ids = {name: store.add_insats(name).id for name in sorted(set(responses["insats"]))}
    rows = responses.assign(insats_id=responses["insats"].map(ids))
    store.db["response"].insert_all(
        {
            "id": r.response_id,
            "enkat": r.enkat,
            "version": int(r.version),
            "insats_id": int(r.insats_id),
            "month": r.month,
            "status": r.status,
        }
        for r in rows.itertuples()
    )
    store.db["answer"].insert_all(
        {
            "response_id": a.response_id,
            "item_id": a.item_id,
            "value": None if pd.isna(a.value) else str(a.value),
        }
        for a in answers.itertuples()
    )
    store.add_insats("Ny insats utan svar")
    store.close()


@pytest.fixture
def seed_db(db_path, seed_frames, monkeypatch):
    monkeypatch.delenv("ENKATBOT_DB", raising=False)
    monkeypatch.delenv("ENKATBOT_SMA_GRUPPER", raising=False)
    _fill(db_path, *seed_frames)
    return db_path


def rapport(capsys, db, *args):
    code = main(["--db", str(db), "rapport", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_rapport_csv_from_the_database(tmp_path, seed_db, capsys):
    out = tmp_path / "ut" / "rapport.csv"
    code, _, err = rapport(capsys, seed_db, "--ar", "2023", "--out", str(out))
    assert code == 0, err
    assert "Läser svar" in err and "Beräknar mätåret 2023 (nov 2022–okt 2023)" in err
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    q9 = next(
        r for r in rows if (r["enkat"], r["fraga"], r["grupp"]) == ("personal", "9", "samtliga")
    )
    assert (q9["n"], q9["positivt"], q9["svarsfrekvens"]) == ("7", "100", "88")


def test_rapport_db_after_the_subcommand_and_threshold_from_env(
    tmp_path, seed_db, capsys, monkeypatch
):
    monkeypatch.setenv("ENKATBOT_SMA_GRUPPER", "9")
    out = tmp_path / "r.csv"
    code = main(["rapport", "--ar", "2023", "--out", str(out), "--db", str(seed_db)])
    assert code == 0, capsys.readouterr().err
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    personal = [r for r in rows if r["enkat"] == "personal"]
    assert personal and all(r["undertryckt"] == "true" for r in personal)
    code = main(
        ["rapport", "--ar", "2023", "--out", str(out), "--db", str(seed_db), "--troskel", "5"]
    )
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert all(r["undertryckt"] == "false" for r in rows if r["enkat"] == "personal")


def test_rapport_png_writes_a_folder_of_charts_with_progress(tmp_path, seed_db, capsys):
    out = tmp_path / "diagram"
    code, _, err = rapport(capsys, seed_db, "--ar", "2023", "--format", "png", "--out", str(out))
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == [
        "deltagare-avslut-fordelning.png",
        "personal-fordelning.png",
    ]
    assert "Ritar diagram 1/2 …" in err and "Ritar diagram 2/2 …" in err
    code, _, err = rapport(
        capsys, seed_db, "--ar", "2023", "--format", "png", "--out", str(tmp_path / "en.png")
    )
    assert code == 2 and "mapp" in err


@pytest.mark.parametrize("fmt", ["xlsx", "html", "md"])
def test_rapport_writes_each_document_format(tmp_path, seed_db, seed_frames, capsys, fmt):
    out = tmp_path / f"rapport.{fmt}"
    code, _, err = rapport(capsys, seed_db, "--ar", "2023", "--insats", "steget", "--out", str(out))
    assert code == 0, err
    assert out.stat().st_size > 1000
    if fmt == "xlsx":
        assert "Skriver arbetsbok" in err
        responses = seed_frames[0]
        expected = (
            (responses["insats"] == "Steget")
            & (responses["enkat"] == "deltagare-avslut")
            & responses["month"].between("2022-11", "2023-10")
        ).sum()
        assert openpyxl.load_workbook(out)["Deltagare avslut"]["A2"].value.endswith(
            f"Insats: Steget. {expected} svar."
        )
    if fmt == "md":
        assert (tmp_path / "rapport-diagram").is_dir()


def test_rapport_month_and_range(tmp_path, seed_db, capsys):
    out = tmp_path / "m.csv"
    assert rapport(capsys, seed_db, "--manad", "2023-10", "--out", str(out))[0] == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert next(r for r in rows if r["enkat"] == "personal")["tillfragade"] == "8"
    code, _, err = rapport(
        capsys, seed_db, "--fran", "2022-11", "--till", "2023-01", "--out", str(out)
    )
    assert code == 0 and "Beräknar nov 2022–jan 2023" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--manad", "2023-13"], "Ogiltig månad"),
        (["--fran", "2023-01"], "både --fran och --till"),
        (["--fran", "2023-06", "--till", "2023-01"], "slutar"),
        ([], "Ange en period"),
        (["--ar", "2023", "--manad", "2024-02"], "ligger inte i mätåret 2023"),
        (["--ar", "2023", "--troskel", "0"], "minst 1"),
    ],
)
def test_rapport_refuses_bad_periods_in_swedish(tmp_path, seed_db, capsys, args, message):
    code, _, err = rapport(capsys, seed_db, *args, "--out", str(tmp_path / "r.csv"))
    assert code == 2
    assert message in err
    assert not (tmp_path / "r.csv").exists()


def test_rapport_unknown_insats_lists_the_valid_ones(tmp_path, seed_db, capsys):
    code, _, err = rapport(
        capsys, seed_db, "--ar", "2023", "--insats", "Finns ej", "--out", str(tmp_path / "r.csv")
    )
    assert code == 2
    assert "Okänd insats 'Finns ej'" in err
    # Swedish alphabetical order: y before ä.
    assert "Ny insats utan svar, Nästa steg, Steget" in err
    code, _, err = rapport(
        capsys,
        seed_db,
        "--ar",
        "2023",
        "--insats",
        "ny insats utan svar",
        "--out",
        str(tmp_path / "r.csv"),
    )
    assert code == 2 and "har inga svar ännu" in err


def test_rapport_missing_database_is_a_clear_error(tmp_path, capsys):
    missing = tmp_path / "finns-inte.db"
    code, _, err = rapport(capsys, missing, "--ar", "2023", "--out", str(tmp_path / "r.csv"))
    assert code == 2
    assert "finns inte" in err and str(missing) in err
    assert not missing.exists()


def test_rapport_needs_a_format_it_can_tell(tmp_path, seed_db, capsys):
    code, _, err = rapport(capsys, seed_db, "--ar", "2023", "--out", str(tmp_path / "rapport"))
    assert code == 2 and "--format" in err


def test_each_free_text_question_has_a_sheet_to_code_themes_in(sample_report):
    wb = _reopen(sample_report)
    ws = wb["Fritext Deltagare avslut 3"]
    assert ws["A1"].value == "Vad kunde ha varit annorlunda?"
    assert [c.value for c in ws[4]] == ["Nr", "Svar", "Tema 1", "Tema 2", "Tema 3", "Kommentar"]
    answers = [ws.cell(r, 2).value for r in range(5, ws.max_row + 1)]
    ft = next(f for f in sample_report.free_texts if f.text == "Vad kunde ha varit annorlunda?"
              and f.enkat == "deltagare-avslut")
    assert answers == list(ft.answers) and len(answers) > 5
    assert all(ws.cell(r, c).value is None for r in range(5, ws.max_row + 1) for c in (3, 4, 5, 6))


def test_a_free_text_sheet_of_a_small_group_holds_no_answer(sample_frames):
    report = build_report(*sample_frames, measurement_year(2024), insats="Kraftsamling")
    ws = _reopen(report)["Fritext Deltagare avslut 1"]
    assert ws["B5"].value == "För få svar för att redovisas"
    assert ws.max_row == 5


def test_rapport_pdf_with_forbund_summary_and_progress(tmp_path, db_path, capsys, monkeypatch):
    from pypdf import PdfReader

    from analysis.sample import generate_sample

    monkeypatch.delenv("ENKATBOT_DB", raising=False)
    monkeypatch.setenv("ENKATBOT_FORBUND", "Samordningsförbundet Provdalen")
    _fill(db_path, *generate_sample(2))
    summary = tmp_path / "sammanfattning.md"
    summary.write_text("Deltagarna är **nöjda** med stödet.\n", encoding="utf-8")
    out = tmp_path / "rapport.pdf"
    code, _, err = rapport(
        capsys, db_path, "--ar", "2025", "--out", str(out), "--sammanfattning", str(summary)
    )
    assert code == 0, err
    assert "Skriver PDF …" in err and "Sida för indikator 16/16 …" in err
    first = " ".join(PdfReader(out).pages[0].extract_text().split())
    assert first.startswith("Indikatorrapport 2025 Samordningsförbundet Provdalen")
    assert "Sammanfattning Deltagarna är nöjda med stödet." in first

    code, _, err = rapport(
        capsys, db_path, "--ar", "2025", "--out", str(out), "--sammanfattning",
        str(tmp_path / "saknas.md"),
    )
    assert code == 2 and "Sammanfattningen" in err and "finns inte" in err


def test_html_and_markdown_open_with_inledning_metod_and_the_summary(tmp_path, seed_report):
    from analysis.document import render_html, render_markdown

    summary = "# Sammanfattning\n\nDeltagarna är **nöjda** <alla>.\n\n- En punkt\n"
    md = render_markdown(seed_report, [], "d", summary)
    order = [md.index(h) for h in ("## Inledning", "## Metod", "## Sammanfattning",
                                   "## Indikator 1")]
    assert order == sorted(order)
    assert "Period: Mätåret 2023 (nov 2022–okt 2023). Alla insatser." in md
    assert "Under perioden ställdes 2 av de 6 enkäterna." in md
    assert md.count("Sammanfattning") == 1
    page = render_html(seed_report, [], summary)
    assert "<h2>Metod</h2>" in page
    assert "<p>Deltagarna är <strong>nöjda</strong> &lt;alla&gt;.</p>" in page
    assert "<ul><li>En punkt</li></ul>" in page
