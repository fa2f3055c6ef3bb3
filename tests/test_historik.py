"""`enkatbot historik`: a förbund's earlier published years beside the bot's own, checked first.

The fixture tests/data/sodra-vanern-2023.csv carries the Södra Vänern report's 2023 figures
(shared/seeds/003_*.txt) in the export's columns plus `ar`; the first test checks every figure in
it against the seed text, so the import is tested on the published numbers themselves.
"""

from __future__ import annotations

import csv
import os
import re
from contextlib import closing
from pathlib import Path

import openpyxl
import pytest

from analysis.document import question_table
from analysis.figures import build_report
from analysis.historik import rows_from_storage
from analysis.periods import measurement_year
from analysis.sample import generate_sample
from enkatbot.main import main
from storage import Store
from tests.test_analysis_outputs import _fill

pytestmark = pytest.mark.storage

DATA = Path(__file__).parent / "data" / "sodra-vanern-2023.csv"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "003_d93a3e2ddc2b8e6e.txt"


def _seed_text() -> str:
    if not SEED.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the seed report is missing at {SEED}")
        pytest.skip(f"the seed report is not at {SEED}")
    return " ".join(SEED.read_text(encoding="utf-8").split())


def test_the_fixture_holds_the_published_2023_figures():
    seed = _seed_text()
    rows = list(csv.DictReader(DATA.open(encoding="utf-8")))
    checked = 0
    for r in rows:
        if r["n"] in ("", "0"):
            continue
        if r["ja"]:
            figures = f"(n={r['n']}) {r['ja']}% {r['nej']}% {r['svarsfrekvens']}%"
        else:
            figures = (
                f"(n={r['n']}) {r['negativt']}% {r['varken_eller']}% {r['positivt']}% "
                f"({r['klart_positivt']}%) {r['svarsfrekvens']}%"
            )
        label = "" if r["grupp"] == "samtliga" and r["enkat"] == "personal" else r["grupp"]
        assert re.search(rf"{label}\s*{re.escape(figures)}", seed, re.I), (r, figures)
        checked += 1
    assert checked == 41  # 10 avslut questions × 3 groups and 11 personal questions


@pytest.fixture
def db(db_path, monkeypatch):
    monkeypatch.delenv("ENKATBOT_DB", raising=False)
    monkeypatch.delenv("ENKATBOT_SMA_GRUPPER", raising=False)
    return db_path


def cli(capsys, db, *args):
    code = main(["--db", str(db), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_import_2023_then_2024_from_answers_shows_both_years(tmp_path, db, capsys):
    responses, answers = generate_sample(6, years=(2024,))
    _fill(db, responses, answers)
    code, out, err = cli(capsys, db, "historik", "import", str(DATA))
    assert code == 0, err
    assert "Importerade 79 rader för mätår 2023" in out
    code, out, _ = cli(capsys, db, "historik", "list")
    assert out.startswith("2023\t79 rader\timporterade ")

    with closing(Store(db)) as store:
        history = rows_from_storage(store.history_rows())
    report = build_report(responses, answers, measurement_year(2024), history=history)
    assert report.comparison_years == (2023,) and report.imported_years == (2023,)
    q1 = report.question("deltagare-avslut", 1)
    assert [(y.group, y.value, y.n, y.imported) for y in q1.earlier("samtliga")] == [
        ("samtliga", 95, 59, True)
    ]
    assert q1.earlier("kvinnor")[0].value == 97 and q1.earlier("män")[0].value == 95
    assert report.question("deltagare-avslut", 8).earlier()[0].value == 81  # Ja on 8
    assert report.question("personal", 9).earlier()[0].value == 100
    assert report.question("deltagare-pagaende", 1).earlier()[0].status == "inga_svar"
    # An insats report is not compared with förbund-level figures.
    one = build_report(responses, answers, measurement_year(2024), insats="Steget vidare",
                       history=history)
    assert one.comparison_years == ()

    out_file = tmp_path / "2024.xlsx"
    code, _, err = cli(capsys, db, "rapport", "--ar", "2024", "--out", str(out_file))
    assert code == 0, err
    ws = openpyxl.load_workbook(out_file)["Deltagare avslut"]
    header = next(r for r in ws.iter_rows() if r[0].value == "Fråga")
    names = [c.value for c in header]
    assert "Positivt / Ja 2023 (importerad)" in names
    col = names.index("Positivt / Ja 2023 (importerad)") + 1
    first = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == 1)
    assert ws.cell(first, col).value == pytest.approx(0.95)

    code, out, _ = cli(capsys, db, "historik", "remove", "--ar", "2023")
    assert code == 0 and "79" in out
    code, out, _ = cli(capsys, db, "historik", "list")
    assert "Inga importerade år" in out
    code, _, err = cli(capsys, db, "historik", "remove", "--ar", "2023")
    assert code == 2 and "inga importerade siffror för mätåret 2023" in err


def _broken(tmp_path: Path, line: int, **changes: str) -> Path:
    rows = list(csv.DictReader(DATA.open(encoding="utf-8")))
    rows[line - 2].update(changes)
    path = tmp_path / "fel.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize(
    ("line", "changes", "message"),
    [
        (23, {"fraga": "12"}, "Rad 23: deltagare-avslut har ingen fråga 12."),
        (23, {"enkat": "deltagare"}, "Rad 23: okänd enkät 'deltagare'."),
        (23, {"positivt": "80"}, "Rad 23: negativt + varken_eller + positivt blir 85 %"),
        (23, {"n": "70"}, "Rad 23: n (70) är större än tillfragade (59)."),
        (23, {"indikator": "2"}, "Rad 23: fråga 1 i deltagare-avslut hör till indikator 1"),
        (24, {"klart_positivt": "99"}, "Rad 24: klart_positivt (99 %) är större än positivt"),
        (25, {"grupp": "Kvinnor", "fraga": "1"}, "Rad 25: samma år, enkät, fråga och grupp som"),
    ],
)
def test_a_wrong_row_is_named_and_nothing_is_imported(tmp_path, db, capsys, line, changes, message):
    _fill(db, *generate_sample(6, years=(2024,), participants_per_year=20))
    code, _, err = cli(capsys, db, "historik", "import", str(_broken(tmp_path, line, **changes)))
    assert code == 2
    assert message in err, err
    assert "Inget importerades." in err
    assert cli(capsys, db, "historik", "list")[1].startswith("Inga importerade år")



def test_only_columns_holding_imported_figures_are_marked_imported():
    # The bot has its own 2023 avslut answers; pågående 2023 exists only in the import.
    rows = list(csv.DictReader(DATA.open(encoding="utf-8")))
    history = rows_from_storage([{k: (v or None) for k, v in r.items()} for r in rows])
    responses, answers = generate_sample(6, years=(2023, 2024))
    responses = responses[~((responses["enkat"] == "deltagare-pagaende")
                            & (responses["month"] < "2023-11"))]
    report = build_report(responses, answers, measurement_year(2024), history=history)
    avslut, _ = question_table(report, report.question("deltagare-avslut", 1))
    pagaende, _ = question_table(report, report.question("deltagare-pagaende", 1))
    assert "Positivt 2023" in avslut
    assert "Positivt 2023 (importerad)" in pagaende
    assert report.question("deltagare-avslut", 1).earlier()[0].imported is False
