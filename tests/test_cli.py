"""The `enkatbot` command, run in-process through enkatbot.main, against a real database file."""

from __future__ import annotations

import argparse
import io
import re
import typing
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from bot.texts import deltagare as t
from bot.texts import personal
from enkatbot import terminal
from enkatbot import texts as cli_texts
from enkatbot.main import build_parser, main
from questionnaires.model import QUESTIONNAIRE_IDS
from storage import StorageError, StorageProblem, Store

pytestmark = pytest.mark.storage

USERNAME = "finsam_test_bot"
LINK = re.compile(rf"^https://t\.me/{USERNAME}\?start=([A-Za-z0-9_-]+)$")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", USERNAME)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("ENKATBOT_DB", raising=False)


@pytest.fixture
def run(db_path, capsys):
    """Run `enkatbot --db <tmp> ARGS…`; return (exit code, stdout, stderr)."""

    def _run(*args: str) -> tuple[int, str, str]:
        code = main(["--db", str(db_path), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return _run


# -- insatser ----------------------------------------------------------------------------------


def test_insats_add_and_list(run, db_path):
    code, out, err = run("insats", "list")
    assert code == 2 and "finns inte" in err and not db_path.exists()
    Store(db_path).close()
    code, out, _ = run("insats", "list")
    assert code == 0 and "Inga insatser" in out
    assert run("insats", "add", "Steget vidare")[0] == 0
    assert run("insats", "add", "Arbetslivsresursen")[0] == 0
    code, out, _ = run("insats", "list")
    assert code == 0
    assert out.splitlines() == ["Arbetslivsresursen", "Steget vidare"]


def test_insats_add_twice_is_refused(run):
    run("insats", "add", "Steget vidare")
    code, _, err = run("insats", "add", "steget vidare")
    assert code != 0
    assert "finns redan" in err


# -- links and QR codes ------------------------------------------------------------------------


def _decode_qr(img: Image.Image) -> str | None:
    """Return the text of a QR code with a real decoder, or None when none is installed."""
    try:
        import cv2
        import numpy as np
    except ImportError:
        pass
    else:
        text, _, _ = cv2.QRCodeDetector().detectAndDecode(np.array(img.convert("L")))
        return text or ""
    try:
        from pyzbar.pyzbar import decode
    except ImportError:
        return None
    found = decode(img)
    return found[0].data.decode() if found else ""


def _qr_modules_encode(img: Image.Image, url: str) -> bool:
    """Return True when the image's modules are exactly a QR symbol of `url`.

    No decoder is installed here, so the picture is read module by module and compared with
    a fresh encoding of the url at each error correction level.
    """
    import segno

    grey = img.convert("L")
    dark = grey.point(lambda v: 255 if v < 128 else 0)
    box = dark.getbbox()
    assert box, "the image has no dark modules"
    left, top, right, bottom = box
    assert right - left == bottom - top, "a QR symbol is square"
    for level in "lmqh":
        matrix = segno.make(url, error=level, micro=False).matrix
        n = len(matrix)
        size = (right - left) / n
        if size < 1 or abs(size - round(size)) > 1e-9:
            continue
        ok = all(
            (grey.getpixel((int(left + (x + 0.5) * size), int(top + (y + 0.5) * size))) < 128)
            == bool(matrix[y][x])
            for y in range(n)
            for x in range(n)
        )
        if ok:
            return True
    return False


def test_link_create_prints_links_and_writes_qr_codes(run, db_path, tmp_path):
    run("insats", "add", "Steget vidare")
    qr_dir = tmp_path / "qr"
    code, out, err = run(
        "link", "create", "--insats", "Steget vidare", "--enkat", "deltagare-avslut",
        "--antal", "3", "--qr", str(qr_dir),
    )
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3
    urls, paths = zip(*(line.split("\t") for line in lines), strict=True)
    tokens = []
    for url in urls:
        m = LINK.match(url)
        assert m, f"not a t.me deep link: {url!r}"
        tokens.append(m.group(1))
    assert len(set(tokens)) == 3
    for token in tokens:
        assert 22 <= len(token) <= 64  # ≥ 96 random bits; Telegram allows 64 characters

    store = Store(db_path)
    for token in tokens:
        check = store.check_link(token)
        assert check.problem is None
        assert (check.insats, check.enkat) == ("Steget vidare", "deltagare-avslut")
    store.close()

    pngs = sorted(qr_dir.glob("*.png"))
    assert len(pngs) == 3
    assert sorted(str(p) for p in pngs) == sorted(paths)
    for url, path in zip(urls, paths, strict=True):
        assert Path(path).read_bytes()[:8] == PNG_MAGIC
        with Image.open(path) as img:
            img.load()
            assert img.format == "PNG"
            assert min(img.size) > 100, "too small to scan from paper"
            decoded = _decode_qr(img)
            if decoded is not None:
                assert decoded == url
            else:
                assert _qr_modules_encode(img, url), f"{path} does not encode {url}"


def test_link_create_without_qr_prints_only_links(run):
    run("insats", "add", "Steget vidare")
    code, out, _ = run("link", "create", "--insats", "Steget vidare", "--enkat", "personal")
    assert code == 0
    assert len(out.splitlines()) == 1 and LINK.match(out.strip())


def test_link_create_for_an_unknown_insats_lists_the_valid_ones(run, db_path):
    run("insats", "add", "Steget vidare")
    run("insats", "add", "Arbetslivsresursen")
    code, out, err = run(
        "link", "create", "--insats", "Finns inte", "--enkat", "deltagare-avslut"
    )
    assert code != 0
    assert out == ""
    assert "Finns inte" in err
    assert "Steget vidare" in err and "Arbetslivsresursen" in err
    store = Store(db_path)
    assert store.db["link"].count == 0
    store.close()


def test_link_create_for_an_unknown_enkat_lists_the_valid_ones(run):
    run("insats", "add", "Steget vidare")
    code, out, err = run("link", "create", "--insats", "Steget vidare", "--enkat", "deltagare")
    assert code != 0
    assert out == ""
    for qid in QUESTIONNAIRE_IDS:
        assert qid in err


def test_link_withdraw(run, db_path):
    run("insats", "add", "Steget vidare")
    _, out, _ = run("link", "create", "--insats", "Steget vidare", "--enkat", "personal")
    url = out.strip()
    code, _, _ = run("link", "withdraw", url)  # the whole t.me link works
    assert code == 0
    store = Store(db_path)
    assert store.check_link(url.rsplit("=", 1)[1]).problem == "withdrawn"
    store.close()
    code, _, err = run("link", "withdraw", "inte-en-kod")
    assert code != 0 and "finns inte" in err


def test_user_add_list_remove(run):
    assert run("user", "add", "12345", "--roll", "coordinator")[0] == 0
    assert run("user", "list")[1].splitlines() == ["12345\tcoordinator"]
    assert run("user", "remove", "12345")[0] == 0
    assert run("user", "list")[1] == ""
    code, _, err = run("user", "remove", "12345")
    assert code != 0 and "12345" in err


# -- every command is documented ---------------------------------------------------------------


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Yield (command path, parser, help shown in the parent's list) for every subcommand."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*path, name), sub, helps.get(name)
                yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(build_parser()))


def test_the_parser_has_the_expected_commands():
    paths = {" ".join(p) for p, _, _ in COMMANDS}
    assert {"run", "insats add", "insats list", "link create", "link withdraw", "user add",
            "user list", "user remove", "chat"} <= paths


@pytest.mark.parametrize("path", [p for p, _, _ in COMMANDS], ids=" ".join)
def test_every_command_has_help(path, capsys):
    _, sub, listed_help = next(c for c in COMMANDS if c[0] == path)
    assert (sub.description or "").strip() or (listed_help or "").strip(), (
        f"`enkatbot {' '.join(path)}` has neither a description nor a help text"
    )
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: enkatbot {' '.join(path)}")
    if sub.description:
        assert " ".join(sub.description.split())[:30] in " ".join(out.split())


def test_top_level_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for name in ("insats", "link", "user", "chat", "run"):
        assert name in out


# -- the terminal survey -----------------------------------------------------------------------


def _script(lines: list[str]):
    feed = iter(lines)

    def read() -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    return read


AVSLUT_WITH_NEJ = [
    "",  # Enter after the greeting
    "1",  # kön: Kvinna
    "1", "2", "3", "4", "5", "6", "7",  # questions 1–7 (7 = Vet inte)
    "2",  # question 8: Nej
    "Att få jobba i min egen takt.",
    "Min handläggare, ring henne på 070-123 45 67",
    "h",  # skip the last free text
    "s",  # Skicka in
]


def test_terminal_chat_with_nej_on_8(db_path):
    store = Store(db_path)
    out = io.StringIO()
    code = terminal.run_chat(
        store, "deltagare-avslut", None, read=_script(AVSLUT_WITH_NEJ), out=out
    )
    assert code == 0
    text = out.getvalue()
    assert "Fråga 1 av 14" in text
    assert "Fråga 9 av 14" in text  # question 8
    assert "Fråga 10 av 12" in text  # after Nej: 9 and 10 are not asked
    assert "Fråga 12 av 12" in text
    assert "Finns det en tillräcklig planering" not in text
    assert t.TEXT_MASKED in text
    assert t.THANKS in text

    responses, answers = store.response_frames()
    assert len(responses) == 1
    row = responses.iloc[0]
    assert (row["enkat"], row["status"]) == ("deltagare-avslut", "complete")
    got = dict(zip(answers["item_id"], answers["value"], strict=True))
    assert "avslut-9" not in got and "avslut-10" not in got
    assert got["avslut-kon"] == "kvinna"
    assert got["avslut-1"] == "alltid" and got["avslut-7"] == "vet_inte"
    assert got["avslut-8"] == "nej"
    assert got["avslut-fritext-1"] == "Att få jobba i min egen takt."
    assert got["avslut-fritext-2"] == "Min handläggare, ring henne på [telefonnummer]"
    assert "avslut-fritext-3" in got and pd.isna(got["avslut-fritext-3"])  # skipped
    assert len(got) == 12
    assert store.get_session(terminal.TERMINAL_CHAT_ID) is None
    store.close()


def test_enkatbot_chat_command(run, monkeypatch, db_path):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(AVSLUT_WITH_NEJ) + "\n"))
    code, out, err = run("chat", "--enkat", "deltagare-avslut")
    assert code == 0, err
    assert "Fråga 10 av 12" in out and t.THANKS in out
    store = Store(db_path)
    responses, answers = store.response_frames()
    assert list(responses["status"]) == ["complete"]
    assert not {"avslut-9", "avslut-10"} & set(answers["item_id"])
    store.close()


def test_chat_pauses_and_resumes(run, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n1\n3\nq\n"))
    code, out, _ = run("chat", "--enkat", "deltagare-avslut")
    assert code == 0 and "Pausat" in out
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, out, _ = run("chat", "--enkat", "deltagare-avslut")
    assert code == 0
    assert t.WELCOME_BACK in out
    assert "Fråga 3 av 14" in out


def test_chat_with_an_unknown_enkat(run):
    code, _, err = run("chat", "--enkat", "okand")
    assert code != 0
    assert "deltagare-avslut" in err


def test_link_create_asks_the_bot_api_for_the_username_when_only_a_token_is_set(
    run, monkeypatch
):
    """With TELEGRAM_API_URL set, getMe goes to that server, as the running bot's calls do."""
    from tests.botapi import FakeBotAPI

    with FakeBotAPI(token="123456:TEST", bot_username="forbundets_enkatbot") as api:
        monkeypatch.delenv("TELEGRAM_BOT_USERNAME")
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST")
        monkeypatch.setenv("TELEGRAM_API_URL", api.base_url)
        assert run("insats", "add", "Steg framåt")[0] == 0
        code, out, err = run("link", "create", "--insats", "Steg framåt", "--enkat", "personal")
        assert api.calls_of("getMe"), "the username was not asked of the configured server"
    assert code == 0, err
    assert re.fullmatch(r"https://t\.me/forbundets_enkatbot\?start=[A-Za-z0-9_-]{22,64}\n", out)


@pytest.mark.parametrize("problem", typing.get_args(StorageProblem))
def test_every_storage_problem_has_a_sentence_for_staff_and_for_the_command(problem):
    details = {"path": "data/e.db", "version": 9, "limit": 80, "name": "Steget",
               "names": ["Alfa", "Beta"], "role": "chef", "roles": ("admin", "staff"),
               "folder": "/var/lib/enkatbot-backup", "raw": "2023-13", "action": "x"}
    for render in (personal.storage_problem, cli_texts.storage_problem):
        text = render(StorageError(problem, **details))
        assert text and text[0].isupper() and text.endswith(".")
        assert problem not in text  # a sentence, not the code


def test_storage_problems_name_what_went_wrong(run, tmp_path):
    code, _, err = run("insats", "add", "   ")
    assert code == 2 and err.strip() == "enkatbot: Insatsen behöver ett namn."
    run("insats", "add", "Steget")
    code, _, err = run("insats", "add", "steget")
    assert code == 2 and "Det finns redan en insats som heter 'steget'." in err
    code, _, err = run("link", "create", "--insats", "Finns ej", "--enkat", "personal")
    assert code == 2 and "Okänd insats 'Finns ej'. Insatser som finns: Steget." in err
    assert personal.storage_problem(StorageError("unknown_insats", name="X", names=[])) == (
        "Okänd insats 'X'. Insatser som finns: (inga ännu)."
    )
