"""`enkatbot rapport`: the indicator report for a period as csv, xlsx, png, md, html or pdf.

The command parses its arguments, reads the responses from storage, and calls the library
(figures, table, workbook, charts, document); progress goes to stderr one line per stage.

Output by format: csv, xlsx, html and pdf are one file at --out. md is a file at --out with its
charts in a folder beside it (``<name>-diagram/``). png writes every chart as its own file
into the folder --out (created if missing): ``<enkät>-fordelning.png`` and, when there are
earlier years, ``<enkät>-jamforelse.png``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

import pandas as pd

from analysis.figures import DataError, Dataset, Report, UnknownInsatsError, build_report
from analysis.formatting import swedish_sort_key
from analysis.historik import HistoryRow, rows_from_storage
from analysis.insatser import LinkCounts, link_counts_from_rows
from analysis.ledger import LedgerBusy, ReleaseGuard, release
from analysis.loading import load_dataset
from analysis.periods import (
    Period,
    PeriodError,
    measurement_year,
    month_range,
    parse_month,
    single_month,
)
from bot.config import ConfigError
from enkatbot import texts
from enkatbot.common import settings
from enkatbot.rapport_args import FORMATS
from storage import open_store

_SUFFIXES = {
    ".md": "md",
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}

Frames = tuple[pd.DataFrame, pd.DataFrame]
FrameReader = Callable[[Path], "tuple[Frames, list[str]]"]


class RapportError(Exception):
    """A user error: one clear Swedish line on stderr and exit code 2."""


def run_rapport(
    args: argparse.Namespace,
    *,
    read_frames: FrameReader | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Build and write the report the arguments ask for; return the exit code (0, or 2).

    `read_frames(db_path)` returns ((responses, answers), known insats names); by default the
    database counts the answers of the period and its comparison years (`read_counts`).
    """
    err = stderr or sys.stderr

    def say(line: str) -> None:
        print(line, file=err, flush=True)

    try:
        period = parse_period(args)
        fmt = _format(args)
        out = Path(args.out)
        current = settings(args)
        threshold = _threshold(args, current.threshold)
        db = current.db_path
        if not db.exists():
            raise RapportError(
                texts.RAPPORT_NO_DATABASE.format(db=db)
            )
        summary = _summary_text(args)
        say(texts.RAPPORT_READING.format(db=db))
        if read_frames is None:
            data, known = read_counts(db, period, args.insats)
        else:
            (responses, answers), known = read_frames(db)
            data = Dataset(responses, answers)
        links, history = read_links(db, period)
        say(texts.RAPPORT_COMPUTING.format(period=period.label))
        store = open_store(db)
        try:
            # Checked against every earlier release and recorded (analysis.ledger): a file
            # written here can reach anyone, like a summary in Telegram.
            report = release(
                store,
                threshold,
                lambda guard: _report(
                    data, period, args.insats, threshold, known, guard, links, history
                ),
            )
        finally:
            store.close()
        report = replace(report, forbund=current.forbund)
        written = write_report(report, fmt, out, say, summary)
    except LedgerBusy:
        say(texts.RAPPORT_ERROR.format(message=texts.RAPPORT_BUSY))
        return 2
    except (RapportError, PeriodError, DataError, ConfigError) as exc:
        say(texts.RAPPORT_ERROR.format(message=exc))
        return 2
    say(texts.RAPPORT_DONE.format(files=", ".join(str(p) for p in written)))
    return 0


def read_counts(db: Path, period: Period, insats: str | None) -> tuple[Dataset, list[str]]:
    """Return the period's data counted by the database, and the names of all insatser.

    Only the period and its comparison years are read.
    """
    store = open_store(db)
    try:
        data = load_dataset(store, period.months(), insats=insats)
        names = [i.name for i in store.list_insatser(include_inactive=True)]
    finally:
        store.close()
    return data, names


def read_store(db: Path) -> tuple[Frames, list[str]]:
    """Return the storage frames of every response and the names of all insatser."""
    store = open_store(db)
    try:
        frames = store.response_frames()
        names = [i.name for i in store.list_insatser(include_inactive=True)]
    finally:
        store.close()
    return frames, names


def read_links(db: Path, period: Period) -> tuple[list[LinkCounts], list[HistoryRow]]:
    """Return the counters of the links made in the period, and the imported earlier years."""
    store = open_store(db)
    try:
        rows = store.link_counts(period.start, period.end)
        history = store.history_rows()
    finally:
        store.close()
    return link_counts_from_rows(rows), rows_from_storage(history)


def _summary_text(args: argparse.Namespace) -> str | None:
    path = getattr(args, "sammanfattning", None)
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RapportError(texts.RAPPORT_NO_SUMMARY_FILE.format(path=path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RapportError(
            texts.RAPPORT_SUMMARY_UNREADABLE.format(path=path, error=exc)
        ) from None


def parse_period(args: argparse.Namespace) -> Period:
    """Return the period from --ar, --manad or --fran/--till; raise PeriodError if unclear."""
    ar, manad, fran, till = args.ar, args.manad, args.fran, args.till
    if (fran is None) != (till is None):
        raise PeriodError(
            texts.RAPPORT_NEED_BOTH_ENDS
        )
    if manad is not None and fran is not None:
        raise PeriodError(texts.RAPPORT_MONTH_OR_RANGE)
    if ar is None and manad is None and fran is None:
        raise PeriodError(texts.RAPPORT_NEED_PERIOD)
    year = measurement_year(ar) if ar is not None else None
    if manad is not None:
        period = single_month(manad)
    elif fran is not None:
        parse_month(fran)
        parse_month(till)
        period = month_range(fran, till)
    else:
        assert year is not None
        return year
    if year is not None and not (year.contains(period.start) and year.contains(period.end)):
        raise PeriodError(texts.RAPPORT_OUTSIDE_YEAR.format(period=period.label, year=year.label))
    return period


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffix = Path(args.out).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    raise RapportError(
        texts.RAPPORT_UNKNOWN_FORMAT.format(out=args.out, formats=", ".join(FORMATS))
    )


def _threshold(args: argparse.Namespace, from_settings: int) -> int:
    value = args.troskel if args.troskel is not None else from_settings
    if value < 1:
        raise RapportError(texts.RAPPORT_THRESHOLD_BELOW_ONE)
    return int(value)


def _report(
    data: Dataset,
    period: Period,
    insats: str | None,
    threshold: int,
    known: Sequence[str],
    guard: ReleaseGuard | None = None,
    links: Sequence[LinkCounts] = (),
    history: Sequence[HistoryRow] = (),
) -> Report:
    try:
        return build_report(
            data,
            period=period,
            insats=insats,
            threshold=threshold,
            guard=guard,
            links=links,
            history=history,
        )
    except UnknownInsatsError as exc:
        assert insats is not None
        match = next((k for k in known if k.casefold() == insats.strip().casefold()), None)
        if match is not None:
            raise RapportError(texts.RAPPORT_NO_ANSWERS_YET.format(insats=match)) from None
        names = sorted({*known, *exc.valid}, key=swedish_sort_key)
        listing = ", ".join(names) if names else texts.RAPPORT_NO_INSATSER
        raise RapportError(
            texts.RAPPORT_UNKNOWN_INSATS.format(insats=insats, names=listing)
        ) from None


def write_report(
    report: Report,
    fmt: str,
    out: Path,
    say: Callable[[str], None],
    summary: str | None = None,
) -> list[Path]:
    """Write the report in `fmt` to `out`; return the files written.

    `summary` is the coordinator's own Markdown summary, placed after Metod in the PDF.
    """
    # Lazy imports below: each format loads only its own writer (openpyxl, matplotlib are
    # slow to import, and the other subcommands of the same process do not need them).
    if fmt == "csv":
        from analysis.table import write_csv

        out.parent.mkdir(parents=True, exist_ok=True)
        say(texts.RAPPORT_WRITING_CSV)
        write_csv(report, out)
        return [out]
    if fmt == "xlsx":
        from analysis.workbook import write_workbook

        out.parent.mkdir(parents=True, exist_ok=True)
        say(texts.RAPPORT_WRITING_WORKBOOK)
        write_workbook(report, out)
        return [out]
    if fmt == "pdf":
        from analysis.pdf import write_pdf

        out.parent.mkdir(parents=True, exist_ok=True)
        say(texts.RAPPORT_WRITING_PDF)
        write_pdf(report, out, summary, progress=lambda done, total: say(
            texts.RAPPORT_PDF_PAGE.format(done=done, total=total)
        ))
        return [out]

    from analysis.charts import report_charts

    def drawing(done: int, total: int) -> None:
        say(texts.RAPPORT_DRAWING.format(done=done, total=total))

    if fmt == "png":
        if out.suffix.lower() == ".png" or (out.exists() and not out.is_dir()):
            raise RapportError(
                texts.RAPPORT_PNG_NEEDS_FOLDER
            )
        charts = report_charts(report, drawing)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for chart in charts:
            target = out / chart.filename
            target.write_bytes(chart.png)
            written.append(target)
        if not written:
            say(texts.RAPPORT_NO_CHARTS)
        return written

    from analysis.document import write_html, write_markdown

    charts = report_charts(report, drawing)
    out.parent.mkdir(parents=True, exist_ok=True)
    say(texts.RAPPORT_WRITING_REPORT)
    if fmt == "md":
        return write_markdown(report, out, charts, summary)
    write_html(report, out, charts, summary)
    return [out]
