"""A polling bot starts without the libraries of reports and of the web (issue 10, target 5).

Each is imported on first use: report libraries when a report is built, the web stack only
when ENKATBOT_WEBB_URL or ENKATBOT_WEBHOOK_URL is set. Checked in a fresh interpreter that
builds the bot as `enkatbot run` does, so an import added anywhere on that path shows up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.storage

ROOT = Path(__file__).resolve().parent.parent

REPORT_ONLY = (
    "matplotlib", "openpyxl", "fpdf", "PIL", "qrcode",
    "analysis.figures", "analysis.counting", "analysis.summary", "analysis.charts",
    "analysis.workbook", "analysis.pdf", "analysis.document", "analysis.loading",
)
WEB_ONLY = ("starlette", "uvicorn", "jinja2", "multipart", "web.app", "bot.serving")

PROBE = """
import json, sys
from pathlib import Path
import enkatbot.main
from enkatbot.run import cmd_run  # noqa: F401
from bot.app import build_application
from bot.config import Settings
settings = Settings(token="123456:TEST", db_path=Path(sys.argv[1]), **json.loads(sys.argv[2]))
build_application(settings)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_after_build(tmp_path: Path, **settings: object) -> set[str]:
    """Return the modules loaded once the bot is built with `settings`, in a new process."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "e.db"), json.dumps(settings)],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    return set(json.loads(out))


def test_a_polling_bot_loads_no_report_or_web_library(tmp_path):
    loaded = loaded_after_build(tmp_path)
    heavy = sorted(
        m for m in loaded if m.split(".")[0] in REPORT_ONLY or m in REPORT_ONLY or m in WEB_ONLY
        or m.split(".")[0] in WEB_ONLY
    )
    assert heavy == []
