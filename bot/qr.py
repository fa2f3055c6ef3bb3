"""QR codes for survey links, the same on the command line and in the bot."""

from __future__ import annotations

import io
from pathlib import Path

import segno


def qr_png(url: str) -> bytes:
    """Return a PNG of a QR code for `url`, large enough to scan from a printed page."""
    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=10, border=4)
    return buf.getvalue()


def write_qr(url: str, path: Path) -> Path:
    """Write a QR code PNG for `url` at `path`; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(qr_png(url))
    return path
