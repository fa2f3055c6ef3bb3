"""With the web survey on, every link made is the web page's; without it, Telegram's as before."""

from __future__ import annotations

import re
from contextlib import closing

import pytest
from PIL import Image

from bot.config import ConfigError, Settings, survey_link
from enkatbot.main import main
from storage import Store
from tests.test_cli import _decode_qr, _qr_modules_encode

pytestmark = pytest.mark.storage

BASE = "https://enkat.exempel.se"
WEB_LINK = re.compile(rf"^{re.escape(BASE)}/e/([A-Za-z0-9_-]{{22,64}})$")


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    for name in ("TELEGRAM_BOT_TOKEN", "ENKATBOT_DB", "ENKATBOT_WEBB_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "finsam_test_bot")


def test_link_create_prints_the_web_page_and_puts_it_in_the_qr_code(
    monkeypatch, capsys, db_path, tmp_path
):
    monkeypatch.setenv("ENKATBOT_WEBB_URL", BASE + "/")
    assert main(["--db", str(db_path), "insats", "add", "Steg framåt"]) == 0
    code = main(["--db", str(db_path), "link", "create", "--insats", "Steg framåt",
                 "--enkat", "deltagare-avslut", "--antal", "2", "--qr", str(tmp_path / "qr")])
    out = capsys.readouterr().out
    assert code == 0
    rows = [line.split("\t") for line in out.splitlines() if "\t" in line]
    assert len(rows) == 2
    with closing(Store(db_path)) as store:
        for url, png in rows:
            found = WEB_LINK.match(url)
            assert found, url
            assert store.check_link(found.group(1)).problem is None
            with Image.open(png) as img:
                img.load()
                decoded = _decode_qr(img)
                assert decoded == url if decoded is not None else _qr_modules_encode(img, url)
    # The printed web link can be withdrawn as it is.
    assert main(["--db", str(db_path), "link", "withdraw", rows[0][0]]) == 0
    with closing(Store(db_path)) as store:
        assert store.check_link(WEB_LINK.match(rows[0][0]).group(1)).problem == "withdrawn"


def test_without_the_web_links_are_telegram_links(capsys, db_path):
    main(["--db", str(db_path), "insats", "add", "Steg framåt"])
    capsys.readouterr()
    assert main(["--db", str(db_path), "link", "create", "--insats", "Steg framåt",
                 "--enkat", "personal"]) == 0
    assert re.fullmatch(r"https://t\.me/finsam_test_bot\?start=[\w-]+\n",
                        capsys.readouterr().out)


@pytest.mark.parametrize("bad", ["enkat.exempel.se", "ftp://enkat.exempel.se",
                                 "https://enkat.exempel.se/?x=1", "https://x.se/#a"])
def test_a_malformed_web_address_is_one_swedish_sentence(monkeypatch, bad):
    monkeypatch.setenv("ENKATBOT_WEBB_URL", bad)
    with pytest.raises(ConfigError, match="ENKATBOT_WEBB_URL ska vara en adress"):
        Settings.from_env()


def test_web_settings_and_their_defaults(monkeypatch):
    settings = Settings.from_env()
    assert (settings.webb_url, settings.webb_listen, settings.webb_port) == (
        None, "127.0.0.1", 8080)
    monkeypatch.setenv("ENKATBOT_WEBB_URL", "https://enkat.exempel.se/")
    monkeypatch.setenv("ENKATBOT_WEBB_LISTEN", "0.0.0.0")
    monkeypatch.setenv("ENKATBOT_WEBB_PORT", "9090")
    settings = Settings.from_env()
    assert (settings.webb_url, settings.webb_listen, settings.webb_port) == (
        "https://enkat.exempel.se", "0.0.0.0", 9090)
    assert survey_link(settings, "boten", "abc") == "https://enkat.exempel.se/e/abc"
    monkeypatch.setenv("ENKATBOT_WEBB_PORT", "noll")
    with pytest.raises(ConfigError, match="ENKATBOT_WEBB_PORT"):
        Settings.from_env()
