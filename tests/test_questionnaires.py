"""The shipped questionnaires carry the national instrument exactly, and broken files are named.

The instrument document (shared/domain/instrument.md, beside the clone) is the source of truth:
its tables are parsed here and compared with the TOML files in both directions, so a reworded,
missing or extra question fails a test instead of silently breaking year-on-year comparisons.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from questionnaires.model import (
    QUESTIONNAIRE_IDS,
    QuestionnaireError,
    indicators,
    load_all,
    load_questionnaire,
)

pytestmark = pytest.mark.pure

INSTRUMENT = Path(__file__).resolve().parents[2] / "shared" / "domain" / "instrument.md"
PARTICIPANTS = ("deltagare-pagaende", "deltagare-avslut")
TYPES = {"S": "scale", "JN": "yes_no", "T": "text"}
CONDITION_NOTE = re.compile(r"\s*—\s*\*\*only after Ja on (\d+)\*\*\s*$")


@pytest.fixture(scope="module")
def instrument() -> str:
    if not INSTRUMENT.is_file():
        # CI always has shared/ beside the clone: there a missing document is a failure,
        # never a silent skip of the checks that keep the questions unreworded.
        if os.environ.get("CI"):
            pytest.fail(f"the instrument document is missing at {INSTRUMENT}")
        pytest.skip(
            f"the instrument document is not at {INSTRUMENT}; the exact-text checks need "
            "shared/ checked out beside the clone"
        )
    return INSTRUMENT.read_text(encoding="utf-8")


def _section(doc: str, heading: str) -> str:
    """Return the text under a markdown heading, up to the next heading of any level."""
    m = re.search(rf"^#+ {re.escape(heading)}\s*$(.*?)(?=^#+ |\Z)", doc, re.M | re.S)
    assert m, f"heading {heading!r} not found in {INSTRUMENT.name}"
    return m.group(1)


def _table(text: str) -> list[list[str]]:
    """Return the body rows of the first markdown table in `text`, cells stripped."""
    rows: list[str] = []
    for ln in text.splitlines():
        if ln.strip().startswith("|"):
            rows.append(ln.strip())
        elif rows:  # the first table has ended
            break
    cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
    return [r for r in cells[1:] if not all(set(c) <= set("-: ") for c in r)]


def _instrument_items(doc: str, qid: str) -> list[dict]:
    items = []
    for nr, ind, typ, text in _table(_section(doc, qid)):
        m = CONDITION_NOTE.search(text)
        items.append(
            {
                "number": int(nr),
                "indicator": int(ind),
                "type": TYPES[typ],
                "text": CONDITION_NOTE.sub("", text),
                "after_ja_on": int(m.group(1)) if m else None,
            }
        )
    return items


def _free_texts(doc: str) -> list[str]:
    m = re.search(r"three free-text questions.*?\n((?:- [^\n]*\n)+)", doc, re.S)
    assert m, "the free-text questions are not where the test expects them"
    return [ln[2:].strip() for ln in m.group(1).splitlines()]


def _kon_choices(doc: str) -> list[str]:
    m = re.search(r"asked for kön with the choices (.+?)\.", doc, re.S)
    assert m, "the kön choices are not where the test expects them"
    return [c.strip() for c in re.split(r",\s*", " ".join(m.group(1).split()))]


def test_all_six_questionnaires_load():
    qs = load_all()
    assert list(qs) == list(QUESTIONNAIRE_IDS)
    assert len(qs) == 6
    for qid, q in qs.items():
        assert q.id == qid
        assert q.version >= 1
        assert q.items, qid


@pytest.mark.parametrize("qid", QUESTIONNAIRE_IDS)
def test_numbered_items_match_the_instrument_exactly(instrument, qid):
    expected = _instrument_items(instrument, qid)
    assert expected, f"no table parsed for {qid}"
    q = load_all()[qid]
    shipped = {it.number: it for it in q.items if it.number is not None}

    assert sorted(shipped) == [e["number"] for e in expected], (
        f"{qid}: numbered items differ from the instrument"
    )
    for e in expected:
        it = shipped[e["number"]]
        where = f"{qid} question {e['number']} ({it.id})"
        assert it.text == e["text"], f"{where}: text differs from the instrument"
        assert it.indicator == e["indicator"], f"{where}: indicator"
        assert it.type == e["type"], f"{where}: type"
        if e["after_ja_on"] is None:
            assert it.condition is None, f"{where}: has a condition the instrument lacks"
        else:
            assert it.condition is not None, f"{where}: should be asked only after Ja"
            target = q.item(it.condition.item)
            assert target.number == e["after_ja_on"]
            assert it.condition.answer == "ja"


@pytest.mark.parametrize("qid", QUESTIONNAIRE_IDS)
def test_no_unnumbered_item_besides_kon_and_the_free_texts(instrument, qid):
    q = load_all()[qid]
    extra = [it for it in q.items if it.number is None]
    if qid not in PARTICIPANTS:
        assert extra == [], f"{qid} asks questions that are not in the instrument"
        assert not q.splits_by_gender
        return
    background = [it for it in extra if it.background]
    texts = [it for it in extra if it.type == "text"]
    assert len(background) == 1, "participants are asked kön and nothing else about themselves"
    assert len(background) + len(texts) == len(extra)
    assert [it.text for it in texts] == _free_texts(instrument)


@pytest.mark.parametrize("qid", PARTICIPANTS)
def test_participant_questionnaires_end_with_the_three_free_texts(instrument, qid):
    q = load_all()[qid]
    wanted = _free_texts(instrument)
    assert len(wanted) == 3
    tail = q.items[-3:]
    assert [it.text for it in tail] == wanted
    assert all(it.type == "text" and it.scale is None for it in tail)


@pytest.mark.parametrize("qid", PARTICIPANTS)
def test_kon_choices(instrument, qid):
    choices = _kon_choices(instrument)
    assert choices == ["Kvinna", "Man", "Annat", "Vill inte svara"]
    kon = load_all()[qid].background_item
    assert kon is not None and kon.scale is not None
    assert [o.label for o in kon.scale.options] == choices
    assert kon.condition is None


def test_sixteen_indicator_texts(instrument):
    section = _section(instrument, "The 16 indicators")
    listed = {}
    for m in re.finditer(r"^(\d+)\. (.+)$", section, re.M):
        text = re.sub(r"\s*\*\(.*\)\*\s*$", "", m.group(2))
        listed[int(m.group(1))] = text
    assert sorted(listed) == list(range(1, 17))
    shipped = indicators()
    assert sorted(shipped) == list(range(1, 17))
    for nr, text in listed.items():
        assert shipped[nr].text == text, f"indicator {nr} differs from the instrument"
    assert shipped[11].measure == "registerstudie"
    used = {it.indicator for q in load_all().values() for it in q.items}
    assert 11 not in used, "indicator 11 is measured by a register study, not a question"


BAND_WORDS = {
    "Positivt, Klart positivt": ("positivt", True, True),
    "Positivt": ("positivt", False, True),
    "Varken eller": ("varken_eller", False, True),
    "Negativt": ("negativt", False, True),
    "not counted in n": (None, False, False),
}


def test_scale_labels_and_bands(instrument):
    rows = _table(_section(instrument, "Scales and bands"))
    assert len(rows) == 7
    qs = load_all()
    frekvens = qs["deltagare-avslut"].item("avslut-1").scale
    grad = qs["personal"].item("personal-1").scale
    assert frekvens is not None and grad is not None
    assert [o.label for o in frekvens.options] == [r[0] for r in rows]
    assert [o.label for o in grad.options] == [r[1] for r in rows]
    for scale in (frekvens, grad):
        for opt, row in zip(scale.options, rows, strict=True):
            band, klart, counts = BAND_WORDS[row[2]]
            assert (opt.band, opt.klart_positivt, opt.counts) == (band, klart, counts), (
                f"{scale.id}: {opt.label} is not in band {row[2]!r}"
            )


def test_yes_no_is_ja_nej():
    for q in load_all().values():
        for it in q.items:
            if it.type == "yes_no":
                assert it.scale is not None
                assert [o.label for o in it.scale.options] == ["Ja", "Nej"]
                assert [o.band for o in it.scale.options] == ["ja", "nej"]


def test_item_ids_are_unique_across_questionnaires():
    ids = [it.id for q in load_all().values() for it in q.items]
    assert len(ids) == len(set(ids))


# -- broken files ------------------------------------------------------------------------------

HEADER = 'id = "prov"\nversion = 1\nscale = "frekvens"\n'


def _item(iid: str, text: str = "Fråga?", typ: str = "scale", extra: str = "") -> str:
    return f'\n[[item]]\nid = "{iid}"\ntype = "{typ}"\ntext = "{text}"\n{extra}'


def _load_broken(tmp_path: Path, body: str, name: str = "trasig.toml") -> str:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    with pytest.raises(QuestionnaireError) as err:
        load_questionnaire(path)
    return str(err.value)


def test_a_valid_small_file_loads(tmp_path):
    path = tmp_path / "hel.toml"
    path.write_text(
        HEADER
        + _item("q1", typ="yes_no")
        + _item("q2", extra='condition = { item = "q1", answer = "ja" }\n'),
        encoding="utf-8",
    )
    q = load_questionnaire(path)
    assert [it.id for it in q.items] == ["q1", "q2"]


def test_unknown_scale_is_named(tmp_path):
    msg = _load_broken(tmp_path, HEADER + _item("q1") + _item("q2", extra='scale = "nope"\n'))
    assert "trasig.toml" in msg
    assert "'q2'" in msg
    assert "unknown scale 'nope'" in msg
    assert "frekvens" in msg  # lists the valid ones


def test_condition_on_unknown_item_is_named(tmp_path):
    body = HEADER + _item("q1", extra='condition = { item = "finns-inte", answer = "ja" }\n')
    msg = _load_broken(tmp_path, body)
    assert "trasig.toml" in msg
    assert "'q1'" in msg
    assert "unknown item 'finns-inte'" in msg


def test_condition_on_later_item_is_named(tmp_path):
    body = (
        HEADER
        + _item("q1", extra='condition = { item = "q2", answer = "ja" }\n')
        + _item("q2", typ="yes_no")
    )
    msg = _load_broken(tmp_path, body)
    assert "trasig.toml" in msg
    assert "'q1'" in msg
    assert "later item 'q2'" in msg


def test_duplicate_id_is_named(tmp_path):
    msg = _load_broken(tmp_path, HEADER + _item("q1") + _item("q2") + _item("q1"))
    assert "trasig.toml" in msg
    assert "'q1'" in msg
    assert "duplicate id" in msg


def test_empty_text_is_named(tmp_path):
    msg = _load_broken(tmp_path, HEADER + _item("q1") + _item("q2", text="   "))
    assert "trasig.toml" in msg
    assert "'q2'" in msg
    assert "empty text" in msg


def test_unknown_type_is_named(tmp_path):
    msg = _load_broken(tmp_path, HEADER + _item("q1", typ="radio"))
    assert "trasig.toml" in msg
    assert "'q1'" in msg
    assert "unknown type 'radio'" in msg
    assert "yes_no" in msg  # lists the valid ones


def test_bad_toml_is_named(tmp_path):
    body = HEADER + _item("q1") + '\n[[item]]\nid = "q2\ntext = "Fråga?"\n'
    msg = _load_broken(tmp_path, body)
    assert "trasig.toml" in msg
    assert "not valid TOML" in msg
    assert re.search(r"line \d+", msg), "the message should say on which line"


def _scale_table(doc: str) -> dict[str, dict[str, set[int]]]:
    """Return {questionnaire: {"frekvens"|"grad": item numbers}} from instrument.md's table."""
    m = re.search(r"Which scale each participant item takes.*?\n\n(\|.*?)\n\n", doc, re.S)
    assert m, "the table of which scale each item takes is not in the instrument document"
    out: dict[str, dict[str, set[int]]] = {}
    for qid, freq, degree in _table(m.group(1)):
        numbers = {
            sid: {int(x) for x in re.findall(r"\b\d+\b", re.sub(r"\*.*?\*", "", cell))}
            for sid, cell in (("frekvens", freq), ("grad", degree))
        }
        out[qid.strip("`")] = numbers
    return out


@pytest.mark.parametrize("qid", QUESTIONNAIRE_IDS)
def test_every_scale_item_takes_the_scale_the_instrument_gives(instrument, qid):
    table = _scale_table(instrument)
    assert set(table) == set(PARTICIPANTS)
    assert "degree scale throughout" in instrument
    q = load_all()[qid]
    scale_items = {it.number: it for it in q.items if it.type == "scale"}
    for number, it in scale_items.items():
        if qid in table:
            wanted = "grad" if number in table[qid]["grad"] else "frekvens"
            assert number in table[qid][wanted], f"{qid} {number} is in neither column"
        else:
            wanted = "grad"
        assert it.scale is not None and it.scale.id == wanted, (
            f"{qid} question {number} ({it.id}) takes {it.scale and it.scale.id}, "
            f"the instrument says {wanted}"
        )
    if qid in table:
        listed = table[qid]["frekvens"] | table[qid]["grad"]
        assert listed == set(scale_items), f"{qid}: the table lists {sorted(listed)}"


def test_changing_an_items_scale_made_a_new_version_with_the_same_ids_and_bands():
    qs = load_all()
    assert qs["deltagare-pagaende"].version >= 2
    assert qs["deltagare-avslut"].version >= 2
    scales = {it.scale.id: it.scale for q in qs.values() for it in q.items if it.scale}
    bands = {
        sid: [(o.band, o.klart_positivt, o.counts) for o in scales[sid].options]
        for sid in ("frekvens", "grad")
    }
    assert bands["frekvens"] == bands["grad"]
