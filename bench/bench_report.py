"""The report path over a million stored answers (5 measurement years, several insatser).

Targets (issue 10), absolute:
- the figures of one measurement year (with its comparison years) from the database ≤ 0.5 s;
- `enkatbot rapport --format csv` end to end (a new process) ≤ 1.5 s;
- `enkatbot rapport --format html` (with charts) end to end ≤ 4 s;
- peak memory of each ≤ 250 MiB;
- cost grows with the answers of the period asked, not with the file: one month costs less
  than the year.

The database keeps answers counted per month and recounts a month only when it changed. So
each timed run first changes the newest month (as new answers do between two reports), and
the very first run on a file that has never been reported from is shown apart ("cold").
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from analysis.periods import measurement_year
from bench.million import YEARS, answer_count, million_db

ROOT = Path(__file__).resolve().parent.parent
YEAR = YEARS[-1]
FIGURES_SECONDS = 0.5
CSV_SECONDS = 1.5
HTML_SECONDS = 4.0
PEAK_MIB = 250.0


def run(command: list[str]) -> tuple[float, float, str]:
    """Run a command on this tree's code; return (wall seconds, its peak resident MiB, stdout).

    The peak is the command's own, read by `bench.peak` (this process's peak would be counted
    in it otherwise). The seconds include that helper's start (~20 ms).
    """
    # The `enkatbot` script would import the package the virtualenv was installed from, which
    # need not be this tree (a git worktree shares the main tree's virtualenv).
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.NamedTemporaryFile(prefix="enkatbot-peak-") as peak:
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "bench.peak", peak.name, *command],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"{command[1:4]} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        kib = int(Path(peak.name).read_text())
    return seconds, kib / 1024, proc.stdout


def touch_newest_month(db: Path) -> None:
    """Change one finished response of the newest month, as a new answer would."""
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(
            "UPDATE response SET status = status WHERE id = (SELECT id FROM response "
            "WHERE status = 'complete' ORDER BY month DESC LIMIT 1)"
        )


def period_answers(db: Path, months: Sequence[str]) -> int:
    """Return how many answers the finished responses of the months hold."""
    marks = ",".join("?" * len(months))
    with closing(sqlite3.connect(db)) as conn:
        return int(conn.execute(
            "SELECT count(*) FROM answer a JOIN response r ON r.id = a.response_id "
            f"WHERE r.status IN ('complete', 'partial') AND r.month IN ({marks})", list(months),
        ).fetchone()[0])


def main() -> int:
    """Print the report path's figures; return 1 when a target is missed."""
    source = million_db()
    answers = answer_count(source)
    python = sys.executable
    enkatbot = str(Path(python).parent / "enkatbot")
    missed: list[str] = []
    rows: list[str] = []

    def row(name: str, seconds: float, mib: float, limit: float | None) -> None:
        ok = limit is None or (seconds <= limit and mib <= PEAK_MIB)
        target = f"≤ {limit} s, ≤ {PEAK_MIB:.0f} MiB" if limit is not None else "(shown)"
        rows.append(f"| {name} | {seconds:.2f} s | {mib:.0f} MiB | {target} | "
                    f"{'ok' if ok else 'MISSED'} |")
        if not ok:
            missed.append(name)

    with tempfile.TemporaryDirectory(prefix="enkatbot-report-") as tmp:
        db = Path(tmp) / "million.db"
        shutil.copyfile(source, db)
        shutil.copyfile(f"{source}.secret", f"{db}.secret")
        probe = [python, "-m", "bench.report_probe", str(db), str(YEAR)]
        seconds, mib, out = run(probe)
        cold = json.loads(out)
        row(f"figures {YEAR}, first report from this file (cold)", cold["seconds"], mib, None)
        touch_newest_month(db)
        seconds, mib, out = run(probe)
        warm = json.loads(out)
        row(f"figures {YEAR} (+ {len(warm['comparison_years'])} comparison years)",
            warm["seconds"], mib, FIGURES_SECONDS)

        month_probe = [python, "-c", (
            "import json,sys,time;from contextlib import closing;"
            "from analysis.figures import build_report;from analysis.loading import load_dataset;"
            "from analysis.periods import single_month;from storage import Store;"
            "p=single_month(sys.argv[2]);t=time.perf_counter();"
            "s=Store(sys.argv[1]);build_report(load_dataset(s,p.months()),period=p);"
            "print(json.dumps({'seconds':time.perf_counter()-t}))"
        ), str(db), f"{YEAR}-10"]
        run(month_probe)  # the month's counts were kept by the year's report: change them
        touch_newest_month(db)
        seconds, mib, out = run(month_probe)
        month_seconds = json.loads(out)["seconds"]
        row(f"figures of one month ({YEAR}-10)", month_seconds, mib, None)
        if month_seconds > warm["seconds"] * 1.2:
            missed.append("a month costs more than the year")

        # Growth with the answers of the period alone (no comparison years read): per answer,
        # a year may cost no more than a month (what grows faster than linearly would).
        alone_probe = [python, "-c", (
            "import json,sys,time;"
            "from analysis.figures import build_report;from analysis.loading import load_dataset;"
            "from analysis.periods import measurement_year,single_month;from storage import Store;"
            "a=sys.argv[2];p=single_month(a) if '-' in a else measurement_year(int(a));"
            "t=time.perf_counter();s=Store(sys.argv[1]);"
            "build_report(load_dataset(s,p.months(),compare=False),period=p,compare_years=());"
            "print(json.dumps({'seconds':time.perf_counter()-t}))"
        ), str(db)]
        per_answer: dict[str, float] = {}
        periods = ((f"{YEAR}-10", [f"{YEAR}-10"]), (str(YEAR), measurement_year(YEAR).months()))
        for name, months in periods:
            touch_newest_month(db)
            seconds, mib, out = run([*alone_probe, name])
            alone = json.loads(out)["seconds"]
            counted = period_answers(db, months)
            per_answer[name] = alone / counted
            row(f"figures of {name} alone ({counted:,} answers, "
                f"{per_answer[name] * 1e6:.1f} µs an answer)", alone, mib, None)
        if per_answer[str(YEAR)] > per_answer[f"{YEAR}-10"] * 1.2:
            missed.append("cost grows faster than the answers of the period")

        for fmt, limit in (("csv", CSV_SECONDS), ("html", HTML_SECONDS)):
            touch_newest_month(db)
            out_file = Path(tmp) / f"rapport.{fmt}"
            seconds, mib, _ = run([enkatbot, "--db", str(db), "rapport", "--ar", str(YEAR),
                                   "--format", fmt, "--out", str(out_file)])
            assert out_file.stat().st_size > 0
            row(f"`enkatbot rapport --format {fmt}` end to end", seconds, mib, limit)

    print(f"{answers:,} answers, {cold['respondents']:,} respondents in {YEAR}")
    print("\n| report path | time | peak memory | target | |\n| --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    if missed:
        print(f"missed: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
