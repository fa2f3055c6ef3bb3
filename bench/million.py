"""The million-answer database the report benchmarks run on, built once and cached.

Five measurement years of made-up responses (`analysis.sample`: several insatser, both
participant questionnaires, staff, partial responses) written through the real schema, so the
bot and `enkatbot rapport` read it exactly as they read a production file. The file lives in
`bench/.cache/` (ignored by git); delete it to rebuild.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from storage import Store

CACHE = Path(__file__).resolve().parent / ".cache"
YEARS = (2022, 2023, 2024, 2025, 2026)
PARTICIPANTS_PER_YEAR = 18_100
TARGET_ANSWERS = 1_000_000
BUILD_VERSION = 1
"""Bump when the way the file is built changes, so a stale cached file is rebuilt."""


def million_db() -> Path:
    """Return the path of the cached million-answer database, building it when missing."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"million-v{BUILD_VERSION}.db"
    if path.exists():
        return path
    started = time.perf_counter()
    # Imported here: only a (re)build needs the generator and pandas.
    from analysis.sample import generate_sample

    responses, answers = generate_sample(
        7, YEARS, participants_per_year=PARTICIPANTS_PER_YEAR
    )
    partial = path.with_suffix(".building")
    partial.unlink(missing_ok=True)
    with closing(Store(partial)) as store:
        ids = {name: store.add_insats(name).id for name in sorted(responses["insats"].unique())}
    with closing(sqlite3.connect(partial)) as conn:
        conn.execute("PRAGMA synchronous=OFF")
        with conn:
            conn.executemany(
                "INSERT INTO response (id, enkat, version, insats_id, month, status) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (r.response_id, r.enkat, int(r.version), ids[r.insats], r.month, r.status)
                    for r in responses.itertuples(index=False)
                ),
            )
            conn.executemany(
                "INSERT INTO answer (response_id, item_id, value) VALUES (?, ?, ?)",
                (
                    (a.response_id, a.item_id, a.value if isinstance(a.value, str) else None)
                    for a in answers.itertuples(index=False)
                ),
            )
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    partial.rename(path)
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    secret = Path(f"{partial}.secret")
    if secret.exists():
        secret.rename(Path(f"{path}.secret"))
    print(
        f"built {path.name}: {len(responses):,} responses, {len(answers):,} answers "
        f"in {time.perf_counter() - started:.0f} s ({datetime.now(UTC):%H:%M} UTC)",
        flush=True,
    )
    return path


def answer_count(path: Path) -> int:
    """Return how many answers the file holds."""
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("SELECT count(*) FROM answer").fetchone()[0])
