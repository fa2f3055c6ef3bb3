"""deploy/: the systemd units pass systemd's own checks, and the container files hold together.

`systemd-analyze verify` runs against a throw-away root that looks like the server after the
steps in deploy/README.md: the units in /etc/systemd/system, the command at
/opt/enkatbot/.venv/bin/enkatbot, the settings file in /etc/enkatbot. `make test` installs
systemd-analyze when it is missing; docker itself cannot run here, so the Dockerfile and
compose file are checked for what they must say.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.storage

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = ("enkatbot.service", "enkatbot-backup.service", "enkatbot-backup.timer")
SYSTEM_UNITS = Path("/usr/lib/systemd/system")


def unit(name: str) -> dict[str, list[str]]:
    """Return a unit file's settings: key → every value it is given, in order."""
    out: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).append(value.strip())
    return out


@pytest.fixture
def server_root(tmp_path: Path) -> Path:
    """Return a root folder laid out as deploy/README.md leaves a server."""
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: run `make test`, which installs it")
    root = tmp_path / "root"
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "etc/enkatbot").mkdir()
    (root / "etc/enkatbot/enkatbot.env").write_text(
        (DEPLOY / "enkatbot.env.example").read_text()
    )
    bin_dir = root / "opt/enkatbot/.venv/bin"
    bin_dir.mkdir(parents=True)
    command = bin_dir / "enkatbot"
    command.write_text("#!/bin/sh\nexit 0\n")
    command.chmod(0o755)
    (root / "usr/bin").mkdir(parents=True)
    shutil.copy2("/usr/bin/find", root / "usr/bin/find")
    # The targets the units name (network-online.target, timers.target, …) come from the host.
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    for name in UNITS:
        shutil.copy2(DEPLOY / name, root / "etc/systemd/system" / name)
    return root


def test_units_pass_systemd_analyze_verify(server_root):
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={server_root}",
         *(f"/etc/systemd/system/{name}" for name in UNITS)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "" and done.stderr.strip() == "", done.stderr


def test_verify_would_catch_a_fault(server_root):
    broken = server_root / "etc/systemd/system/enkatbot.service"
    broken.write_text(broken.read_text().replace("ProtectSystem=strict", "ProtectSystm=strict"))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={server_root}",
         "/etc/systemd/system/enkatbot.service"],
        capture_output=True, text=True, timeout=120,
    )
    assert "Unknown key" in done.stderr


def test_the_service_runs_as_its_own_user_with_its_state_directory():
    service = unit("enkatbot.service")
    assert service["User"] == ["enkatbot"] and service["StateDirectory"] == ["enkatbot"]
    assert service["StateDirectoryMode"] == ["0700"] and service["UMask"] == ["0077"]
    assert service["EnvironmentFile"] == ["/etc/enkatbot/enkatbot.env"]
    assert service["ExecStart"] == ["/opt/enkatbot/.venv/bin/enkatbot run"]
    for hardening in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices",
                      "RestrictSUIDSGID", "LockPersonality"):
        assert service[hardening] == ["yes"], hardening
    assert service["ProtectSystem"] == ["strict"] and service["CapabilityBoundingSet"] == [""]
    # A wrong setting (exit 2) is not retried for ever; Telegram being down (3) is.
    assert service["RestartPreventExitStatus"] == ["2"]


def test_the_backup_timer_runs_the_backup_command():
    backup = unit("enkatbot-backup.service")
    command = "/opt/enkatbot/.venv/bin/enkatbot backup /var/lib/enkatbot-backup"
    assert backup["ExecStart"] == [command]
    assert backup["User"] == ["enkatbot"] and backup["Type"] == ["oneshot"]
    timer = unit("enkatbot-backup.timer")
    assert timer["Persistent"] == ["true"] and timer["OnCalendar"]


def test_the_readme_steps_name_every_file_and_command():
    readme = (DEPLOY / "README.md").read_text()
    for needed in ("useradd", "make install", "enkatbot.service", "enkatbot-backup.timer",
                   "systemctl enable --now", "enkatbot kontroll", "/etc/enkatbot/enkatbot.env",
                   "enkatbot restore", "enkatbot gallra", "systemd-analyze verify",
                   "docker compose"):
        assert needed in readme, needed
    steps = [int(n) for n in re.findall(r"^(\d+)\. ", readme, re.M)]
    assert steps[:8] == list(range(1, 9)), "the steps are numbered in order"


def test_the_container_is_slim_non_root_with_a_volume_and_a_health_check():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert re.search(r"^USER enkatbot$", dockerfile, re.M)
    assert 'VOLUME ["/data"]' in dockerfile and "ENKATBOT_DB=/data/enkatbot.db" in dockerfile
    assert "HEALTHCHECK" in dockerfile and '"kontroll", "--halsa"' in dockerfile
    assert "--constraint requirements.lock" in dockerfile
    for copied in re.findall(r"^COPY (\w+) ", dockerfile, re.M):
        assert (ROOT / copied).exists(), copied
    compose = (DEPLOY / "compose.yaml").read_text()
    assert "dockerfile: deploy/Dockerfile" in compose and "/data" in compose
    assert "env_file: enkatbot.env" in compose and "no-new-privileges:true" in compose
