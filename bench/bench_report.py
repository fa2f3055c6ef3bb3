"""Time a full-year report build on about 5000 responses a year (a plain script, not a test).

Run: .venv/bin/python bench/bench_report.py [--responses 5000] [--years 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.charts import report_charts
from analysis.document import render_html
from analysis.figures import Dataset, build_report
from analysis.periods import measurement_year
from analysis.sample import generate_sample
from analysis.summary import build_monthly_summary
from analysis.table import csv_text
from analysis.workbook import workbook_bytes

T = TypeVar("T")


def timed(label: str, fn: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = fn()
    print(f"{label:<38} {time.perf_counter() - start:7.2f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--responses", type=int, default=5000, help="responses per year")
    parser.add_argument("--years", type=int, default=3)
    args = parser.parse_args()
    years = tuple(range(2026 - args.years, 2026))
    # Staff, remittenter, chefsgrupp and styrelse add about 50 responses a year.
    participants = max(1, args.responses - 50)
    responses, answers = timed(
        "generate sample",
        lambda: generate_sample(1, years=years, participants_per_year=participants),
    )
    last = years[-1]
    in_year = responses["month"].isin(measurement_year(last).months()).sum()
    print(f"{len(responses)} responses ({in_year} in {last}), {len(answers)} answer rows")

    data = timed("prepare frames (Dataset)", lambda: Dataset(responses, answers))
    report = timed(
        f"figures {last} + {len(years) - 1} comparison years",
        lambda: build_report(data, period=measurement_year(last)),
    )
    timed("csv", lambda: csv_text(report))
    timed("xlsx", lambda: workbook_bytes(report))
    charts = timed("charts (png)", lambda: report_charts(report))
    timed("html with charts", lambda: render_html(report, charts))
    timed(
        "monthly summary (text, chart, xlsx)",
        lambda: build_monthly_summary(responses, answers, f"{last}-03"),
    )
    with tempfile.TemporaryDirectory() as tmp:
        timed(
            "whole report from frames to html file",
            lambda: Path(tmp, "r.html").write_text(
                render_html(
                    (r := build_report(responses, answers, measurement_year(last))),
                    report_charts(r),
                ),
                encoding="utf-8",
            ),
        )


if __name__ == "__main__":
    main()
