"""Memory that outlives participants (`make minne`): the bot's resident memory must level off.

Participants, 50 at a time, answer and submit pågående or avslut through the real bot on the
fake Bot API, each with a link and a chat of their own. The bot's resident memory (VmRSS) is
read after a warm-up and then after each further block of participants. Once they are done,
nothing of them may stay in the bot's memory: the growth per participant over the last blocks
must stay under GROWTH_TARGET_BYTES (an entry kept per chat costs more than that). Exits 1 when
the target is missed.
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from bench.soak import AT_A_TIME, Crowd, Faults
from questionnaires.model import get
from storage import Store, open_store
from storage.sessions import RESPONSE_ID_BYTES
from tests.botapi import FakeBotAPI
from tests.e2e import BOT_USERNAME, INSATS, TOKEN, BotUnderTest

GROWTH_TARGET_BYTES = 1024
"""Resident memory the bot may gain per finished participant once warmed up."""
DEADLINE = 540.0


def rss_bytes(pid: int) -> int:
    """Return a process's resident memory in bytes (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


BACKGROUND = 6_000
"""Finished responses in the file before the run: a few years of a förbund's surveys. SQLite
keeps up to 2 MiB of the file's pages in memory per connection; on an empty file that cache
grows with every response written (about 1.3 kB each) until it is full, which would read as
memory kept per participant though it is bounded. With a file of this size it is full during
the warm-up, and what grows after it is the bot's own."""


def fill_background(store: Store, count: int, rng: random.Random) -> None:
    """Write `count` finished avslut responses under random ids, as submissions leave them."""
    q = get("deltagare-avslut")
    insats = store.require_insats(INSATS)
    scales = [it for it in q.items if it.scale is not None]
    ids = [secrets.token_hex(RESPONSE_ID_BYTES) for _ in range(count)]
    with store.transaction():
        store.db.conn.executemany(
            "INSERT INTO response (id, enkat, version, insats_id, month, status) "
            "VALUES (?, ?, ?, ?, ?, 'complete')",
            [(rid, q.id, q.version, insats.id, f"2025-{rng.randint(1, 12):02d}") for rid in ids],
        )
        store.db.conn.executemany(
            "INSERT INTO answer (response_id, item_id, value) VALUES (?, ?, ?)",
            [(rid, it.id, rng.choice(it.scale.values))  # type: ignore[union-attr]
             for rid in ids for it in scales],
        )


def main(argv: list[str] | None = None) -> int:
    """Run participants through the bot and print its memory per block; 1 when it grows."""
    parser = argparse.ArgumentParser(prog="python -m bench.minne")
    parser.add_argument("--uppvarmning", type=int, default=100, help="participants first")
    parser.add_argument("--block", type=int, default=150, help="participants per block")
    parser.add_argument("--block-antal", type=int, default=3, help="blocks after warm-up")
    parser.add_argument("--bakgrund", type=int, default=BACKGROUND,
                        help="finished responses already in the file")
    args = parser.parse_args(argv)
    # Room for a full crowd at the last reading too: each reading is under the same load.
    total = args.uppvarmning + args.block * args.block_antal + AT_A_TIME
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="minne-") as tmp, FakeBotAPI(
        token=TOKEN, bot_username=BOT_USERNAME
    ) as api:
        work = Path(tmp) / "work"
        work.mkdir()
        bot = BotUnderTest(api, Path(tmp) / "enkatbot.db", work)
        half = total // 2
        with closing(open_store(bot.db_path)) as store:
            fill_background(store, args.bakgrund, random.Random(1))
            tokens = {
                "deltagare-avslut": store.create_links(INSATS, "deltagare-avslut", count=half),
                "deltagare-pagaende": store.create_links(
                    INSATS, "deltagare-pagaende", count=total - half),
            }
        bot.start()
        assert bot.proc is not None
        crowd = Crowd(api, bot, tokens, Faults(back_at=time.monotonic()), random.Random(2))
        marks = [args.uppvarmning + k * args.block for k in range(args.block_antal + 1)]
        readings: list[tuple[int, int]] = []
        while marks and time.monotonic() - started < DEADLINE:
            crowd.fill_up(more=True)
            crowd.tick(time.monotonic())
            if len(crowd.done) >= marks[0]:
                # Read with a full crowd still answering: every reading is under the same load.
                readings.append((len(crowd.done), rss_bytes(bot.proc.pid)))
                marks.pop(0)
            time.sleep(0.05)  # the crowd's pace, as in the soak
        bot.stop()
    print(f"minne: {len(crowd.done)} participants submitted in {time.monotonic() - started:.0f} s")
    for done, rss in readings:
        print(f"  after {done:4d} participants: {rss / 2**20:7.1f} MiB resident")
    if len(readings) < 3:
        print("minne: FAILED (too few readings before the deadline)")
        return 1
    (n0, r0), (n1, r1) = readings[1], readings[-1]
    per = (r1 - r0) / (n1 - n0)
    ok = per <= GROWTH_TARGET_BYTES
    print(f"  growth after warm-up: {per:.0f} bytes per participant "
          f"(target ≤ {GROWTH_TARGET_BYTES}) {'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
