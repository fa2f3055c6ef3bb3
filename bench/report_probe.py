"""Time the figures of one measurement year straight from a database (a bench_report helper).

Run: python -m bench.report_probe DB YEAR — prints seconds for reading and counting, after
the imports, as one JSON line; bench_report runs it as a subprocess to read its peak memory.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import closing

from analysis.figures import build_report
from analysis.loading import load_dataset
from analysis.periods import measurement_year
from storage import Store


def main() -> None:
    """Print {"seconds": …, "questions": …} for the year's report figures."""
    db, year = sys.argv[1], int(sys.argv[2])
    period = measurement_year(year)
    started = time.perf_counter()
    with closing(Store(db)) as store:
        report = build_report(load_dataset(store, period.months()), period=period)
    seconds = time.perf_counter() - started
    print(json.dumps({
        "seconds": seconds,
        "questions": sum(1 for _ in report.questions()),
        "respondents": report.total_respondents,
        "comparison_years": list(report.comparison_years),
    }))


if __name__ == "__main__":
    main()
