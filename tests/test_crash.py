"""Killing the process between two answers loses neither.

A real `enkatbot chat` process is killed with SIGKILL (no clean-up, no atexit, no flush) right
after it printed the next question, and a new process must pick up exactly there.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.texts import deltagare as t

REPO = Path(__file__).resolve().parents[1]
WAIT = 30.0  # seconds; generous for a slow CI machine, reached only when something is wrong

pytestmark = [
    pytest.mark.storage,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL"),
]


class Chat:
    """A running `enkatbot chat` with its output read on a thread, so no read can hang."""

    def __init__(self, db: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ENKATBOT_", "TELEGRAM_"))}
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "enkatbot", "--db", str(db), "chat", "--enkat",
             "deltagare-avslut"],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.chunks: queue.Queue[bytes] = queue.Queue()
        self.seen = b""
        self.cursor = 0
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()

    def _pump(self) -> None:
        fd = self.proc.stdout.fileno()
        while chunk := os.read(fd, 4096):
            self.chunks.put(chunk)
        self.chunks.put(b"")  # end of output

    def expect(self, text: str) -> str:
        """Wait until `text` appears after everything matched so far; return the output."""
        needle = text.encode()
        deadline = time.monotonic() + WAIT
        while (pos := self.seen.find(needle, self.cursor)) < 0:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"no {text!r} within {WAIT:.0f} s; output so far:\n"
                            + self.seen.decode(errors="replace"))
            try:
                chunk = self.chunks.get(timeout=left)
            except queue.Empty:
                continue
            if chunk == b"":
                self.proc.wait(timeout=WAIT)
                pytest.fail(f"the process ended (code {self.proc.returncode}) before {text!r}; "
                            "output:\n" + self.seen.decode(errors="replace"))
            self.seen += chunk
        self.cursor = pos + len(needle)
        return self.seen.decode(errors="replace")

    def send(self, line: str) -> None:
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=WAIT)
        self.pump.join(timeout=WAIT)  # it reads to the end of output, then stops
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        if not self.pump.is_alive():
            self.proc.stdout.close()



def _stored_answers(db: Path) -> dict[str, str | None]:
    """Return the answers committed so far: of the unfinished survey, and of submitted ones."""
    with sqlite3.connect(db) as conn:
        stored = dict(conn.execute("SELECT item_id, value FROM answer").fetchall())
        for (unfinished,) in conn.execute("SELECT answers FROM session"):
            stored.update(json.loads(unfinished))
        return stored


def test_killing_the_process_between_two_answers_loses_neither(tmp_path):
    db = tmp_path / "enkatbot.db"
    chats: list[Chat] = []
    try:
        first = Chat(db)
        chats.append(first)
        first.expect("Den har 14 frågor")
        first.expect("> ")
        first.send("")  # Enter: begin
        first.expect("Fråga 1 av 14")  # kön
        first.expect("> ")
        first.send("2")  # Man
        first.expect("Fråga 2 av 14")  # instrument question 1
        first.expect("> ")
        first.send("3")  # Ofta
        first.expect("Fråga 3 av 14")  # printed only after the answer was committed
        first.kill()
        assert first.proc.returncode == -signal.SIGKILL

        second = Chat(db)
        chats.append(second)
        second.expect(t.WELCOME_BACK)
        second.expect("Fråga 3 av 14")
        second.expect("Har du fått vara med och bestämma")  # the instrument's question 2
        second.expect("> ")
        second.proc.stdin.close()  # end of input: the survey pauses and the process exits
        second.expect("Pausat.")
        assert second.proc.wait(timeout=WAIT) == 0
    finally:
        for chat in chats:
            chat.kill()

    assert _stored_answers(db) == {"avslut-kon": "man", "avslut-1": "ofta"}
