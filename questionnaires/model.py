"""The questionnaires as data: scales, indicators and items loaded from TOML and validated.

Nothing here does I/O beyond reading the TOML files, and nothing imports Telegram or storage.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

DATA_DIR = Path(__file__).resolve().parent

ItemType = Literal["scale", "yes_no", "text", "choice"]
Band = Literal["negativt", "varken_eller", "positivt", "ja", "nej"]

ITEM_TYPES: tuple[ItemType, ...] = ("scale", "yes_no", "text", "choice")
BANDS: tuple[Band, ...] = ("negativt", "varken_eller", "positivt", "ja", "nej")
QUESTIONNAIRE_IDS: tuple[str, ...] = (
    "deltagare-pagaende",
    "deltagare-avslut",
    "personal",
    "remittenter",
    "chefsgrupp",
    "styrelse",
)


class QuestionnaireError(ValueError):
    """A questionnaire file is broken; the message names the file, the item and the fault."""


@dataclass(frozen=True)
class Option:
    """One answer a respondent can choose: a stable stored `value` and the label they see."""

    value: str
    label: str
    band: Band | None = None
    klart_positivt: bool = False
    counts: bool = True


@dataclass(frozen=True)
class Scale:
    """An ordered set of options, e.g. Alltid … Aldrig, Vet inte."""

    id: str
    name: str
    options: tuple[Option, ...]

    def option(self, value: str) -> Option | None:
        """Return the option stored as `value`, or None when the scale has no such option."""
        for opt in self.options:
            if opt.value == value:
                return opt
        return None

    @property
    def values(self) -> tuple[str, ...]:
        """Return the stored values of all options, in display order."""
        return tuple(o.value for o in self.options)


@dataclass(frozen=True)
class Condition:
    """Ask an item only when an earlier item was answered with `answer`."""

    item: str
    answer: str


@dataclass(frozen=True)
class Item:
    """One question of a questionnaire."""

    id: str
    type: ItemType
    text: str
    number: int | None = None
    indicator: int | None = None
    scale: Scale | None = None
    condition: Condition | None = None
    background: bool = False

    @property
    def has_options(self) -> bool:
        """Return True when the item is answered by choosing an option (not free text)."""
        return self.scale is not None


@dataclass(frozen=True)
class Indicator:
    """One of the 16 national Finsam indicators."""

    number: int
    text: str
    measure: str = "enkat"


@dataclass(frozen=True)
class Questionnaire:
    """A versioned questionnaire: its items in the order they are asked."""

    id: str
    version: int
    name: str
    respondents: str
    items: tuple[Item, ...]
    _by_id: Mapping[str, Item] = field(default_factory=dict, repr=False, compare=False)
    items_since: int | None = None
    """The first version that asked exactly these items (None: only this version is known).

    A version that changed only how items are answered, say a scale, keeps every item, so the
    respondents of earlier versions were asked each of them too."""

    @property
    def versions_with_these_items(self) -> range:
        """Return the versions known to have asked every item of this one."""
        return range(self.items_since or self.version, self.version + 1)

    def item(self, item_id: str) -> Item:
        """Return the item with this id; raise KeyError when there is none."""
        return self._by_id[item_id]

    def has_item(self, item_id: str) -> bool:
        """Return True when the questionnaire has an item with this id."""
        return item_id in self._by_id

    def index(self, item_id: str) -> int:
        """Return the position of the item in asking order (0-based)."""
        for i, it in enumerate(self.items):
            if it.id == item_id:
                return i
        raise KeyError(item_id)

    @property
    def background_item(self) -> Item | None:
        """Return the background (kön) item, or None for questionnaires that ask none."""
        return next((it for it in self.items if it.background), None)

    @property
    def splits_by_gender(self) -> bool:
        """Return True when reports split this questionnaire into samtliga, kvinnor and män."""
        return self.background_item is not None

    def __iter__(self) -> Iterator[Item]:
        """Iterate over the items in asking order."""
        return iter(self.items)


def _fail(path: Path, where: str, fault: str) -> QuestionnaireError:
    return QuestionnaireError(f"{path.name}: {where}: {fault}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise QuestionnaireError(f"{path.name}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise QuestionnaireError(f"{path.name}: cannot be read: {exc.strerror}") from exc


def load_scales(path: Path | None = None) -> dict[str, Scale]:
    """Load and validate the scales file; return the scales by id."""
    path = path or DATA_DIR / "scales.toml"
    raw = _read_toml(path)
    scales: dict[str, Scale] = {}
    for sid, body in raw.items():
        if not isinstance(body, dict) or not isinstance(body.get("options"), list):
            raise _fail(path, f"scale {sid!r}", "needs a list of options")
        opts: list[Option] = []
        seen: set[str] = set()
        for i, o in enumerate(body["options"], 1):
            where = f"scale {sid!r}, option {i}"
            value, label = o.get("value"), o.get("label")
            if not isinstance(value, str) or not value.strip():
                raise _fail(path, where, "empty value")
            if not isinstance(label, str) or not label.strip():
                raise _fail(path, where, "empty label")
            if value in seen:
                raise _fail(path, where, f"duplicate value {value!r}")
            seen.add(value)
            band = o.get("band")
            if band is not None and band not in BANDS:
                raise _fail(path, where, f"unknown band {band!r} (valid: {', '.join(BANDS)})")
            opts.append(
                Option(
                    value=value,
                    label=label,
                    band=band,
                    klart_positivt=bool(o.get("klart_positivt", False)),
                    counts=bool(o.get("counts", True)),
                )
            )
        if not opts:
            raise _fail(path, f"scale {sid!r}", "has no options")
        scales[sid] = Scale(id=sid, name=str(body.get("name", sid)), options=tuple(opts))
    return scales


def load_indicators(path: Path | None = None) -> dict[int, Indicator]:
    """Load the 16 indicators; return them by number."""
    path = path or DATA_DIR / "indicators.toml"
    raw = _read_toml(path)
    result: dict[int, Indicator] = {}
    for i, body in enumerate(raw.get("indicator", []), 1):
        nr, text = body.get("number"), body.get("text")
        if not isinstance(nr, int) or nr in result:
            raise _fail(path, f"indicator {i}", f"missing or duplicate number {nr!r}")
        if not isinstance(text, str) or not text.strip():
            raise _fail(path, f"indicator {nr}", "empty text")
        result[nr] = Indicator(number=nr, text=text, measure=str(body.get("measure", "enkat")))
    return result


def load_questionnaire(
    path: Path,
    scales: Mapping[str, Scale] | None = None,
    indicators: Mapping[int, Indicator] | None = None,
) -> Questionnaire:
    """Load one questionnaire file and validate it; return the Questionnaire.

    Raises QuestionnaireError naming the file, the item and the fault: an unknown scale, a
    condition on an unknown or later item, a duplicate id, an empty text, and so on.
    """
    scales = load_scales() if scales is None else scales
    indicators = load_indicators() if indicators is None else indicators
    raw = _read_toml(path)
    qid = raw.get("id")
    if not isinstance(qid, str) or not qid:
        raise _fail(path, "header", "missing id")
    version = raw.get("version")
    if not isinstance(version, int) or version < 1:
        raise _fail(path, "header", "version must be a whole number ≥ 1")
    items_since = raw.get("items_since")
    if items_since is not None and (
        not isinstance(items_since, int) or not 1 <= items_since <= version
    ):
        raise _fail(path, "header", "items_since must be a version from 1 to version")
    default_scale = raw.get("scale")
    if default_scale is not None and default_scale not in scales:
        raise _fail(path, "header", f"unknown scale {default_scale!r}")
    raw_items = raw.get("item")
    if not isinstance(raw_items, list) or not raw_items:
        raise _fail(path, "header", "has no items")

    items: list[Item] = []
    by_id: dict[str, Item] = {}
    numbers: set[int] = set()
    for pos, body in enumerate(raw_items, 1):
        iid = body.get("id")
        if not isinstance(iid, str) or not iid.strip():
            raise _fail(path, f"item {pos}", "missing id")
        where = f"item {iid!r}"
        if iid in by_id:
            raise _fail(path, where, "duplicate id")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _fail(path, where, "empty text")
        itype = body.get("type")
        if itype not in ITEM_TYPES:
            raise _fail(path, where, f"unknown type {itype!r} (valid: {', '.join(ITEM_TYPES)})")
        number = body.get("number")
        if number is not None:
            if not isinstance(number, int) or number < 1:
                raise _fail(path, where, f"bad number {number!r}")
            if number in numbers:
                raise _fail(path, where, f"duplicate number {number}")
            numbers.add(number)
        indicator = body.get("indicator")
        if indicator is not None and indicator not in indicators:
            raise _fail(path, where, f"unknown indicator {indicator!r}")
        scale: Scale | None = None
        if itype != "text":
            sid = body.get("scale") or ("ja_nej" if itype == "yes_no" else None)
            if sid is None and itype == "scale":
                sid = default_scale
            if sid is None:
                raise _fail(path, where, "needs a scale")
            if sid not in scales:
                raise _fail(path, where, f"unknown scale {sid!r} (valid: {', '.join(scales)})")
            scale = scales[sid]
        elif "scale" in body:
            raise _fail(path, where, "a free-text item cannot have a scale")
        condition: Condition | None = None
        if "condition" in body:
            c = body["condition"]
            if not isinstance(c, dict) or "item" not in c or "answer" not in c:
                raise _fail(path, where, "condition needs item and answer")
            target = by_id.get(c["item"])
            if target is None:
                later = any(o.get("id") == c["item"] for o in raw_items)
                fault = "a later item" if later else "an unknown item"
                raise _fail(path, where, f"condition on {fault} {c['item']!r}")
            if target.scale is None or target.scale.option(c["answer"]) is None:
                raise _fail(path, where, f"condition answer {c['answer']!r} is not an option")
            condition = Condition(item=c["item"], answer=c["answer"])
        item = Item(
            id=iid,
            type=itype,
            text=text.strip(),
            number=number,
            indicator=indicator,
            scale=scale,
            condition=condition,
            background=bool(body.get("background", False)),
        )
        items.append(item)
        by_id[iid] = item
    return Questionnaire(
        id=qid,
        version=version,
        name=str(raw.get("name", qid)),
        respondents=str(raw.get("respondents", qid)),
        items=tuple(items),
        _by_id=by_id,
        items_since=items_since,
    )


@cache
def load_all() -> dict[str, Questionnaire]:
    """Load every shipped questionnaire; return them by id, in the instrument's order."""
    scales = load_scales()
    indicators = load_indicators()
    result: dict[str, Questionnaire] = {}
    for qid in QUESTIONNAIRE_IDS:
        path = DATA_DIR / f"{qid}.toml"
        q = load_questionnaire(path, scales, indicators)
        if q.id != qid:
            raise _fail(path, "header", f"id {q.id!r} does not match the file name")
        result[qid] = q
    return result


def get(questionnaire_id: str) -> Questionnaire:
    """Return the shipped questionnaire with this id.

    Raises QuestionnaireError listing the valid ids when there is none.
    """
    all_q = load_all()
    if questionnaire_id not in all_q:
        raise QuestionnaireError(
            f"okänd enkät {questionnaire_id!r}; giltiga: {', '.join(all_q)}"
        )
    return all_q[questionnaire_id]


@cache
def indicators() -> dict[int, Indicator]:
    """Return the 16 indicators by number."""
    return load_indicators()
