"""Under CI a missing browser fails the browser tests; on a developer's machine it skips them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.web

ROOT = Path(__file__).resolve().parents[2]
ONE_BROWSER_TEST = (
    "tests/webb/test_browser.py::"
    "test_pages_are_small_need_no_script_and_ask_nothing_of_other_sites"
)


def _run(ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["ENKATBOT_TEST_CHROMIUM"] = "/finns/inte/chromium"
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", ONE_BROWSER_TEST],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_a_missing_browser_fails_under_ci():
    result = _run("true")
    assert result.returncode != 0, result.stdout
    assert "1 error" in result.stdout and "/finns/inte/chromium saknas" in result.stdout


def test_a_missing_browser_skips_outside_ci():
    result = _run(None)
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
