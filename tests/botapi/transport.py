"""Transport: the fake Bot API's HTTP side, speaking the wire format PTB's HTTPXRequest uses.

Url-encoded forms, or multipart/form-data when files are uploaded, every non-string value
JSON-encoded; answers are Telegram's JSON shapes, errors included. One handler thread per
connection hands each request to a `Backend` (the `FakeBotAPI`).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

# Logged (never sent) when the client hung up on a long poll, e.g. PTB cancelling it on stop.
CLIENT_CLOSED = 499
_SELF_DESCRIBED_STRINGS = frozenset({
    "text", "caption", "callback_query_id", "parse_mode", "language_code", "url", "secret_token",
    "action", "inline_message_id", "description", "short_description", "name",
    "business_connection_id", "ip_address", "photo", "document", "file_id", "title",
})



class ApiError(Exception):
    """A Bot API error answer: HTTP status ``code`` with Telegram's ``description``."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """Return the JSON body Telegram sends for this error."""
        body: dict[str, Any] = {
            "ok": False, "error_code": self.code, "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes


class _Params:
    """Raw wire parameters (all strings) plus uploads, with typed accessors."""

    def __init__(
        self,
        raw: dict[str, str],
        files: dict[str, UploadedFile],
        client_gone: Callable[[], bool] = lambda: False,
    ) -> None:
        self.raw = raw
        self.files = files
        self.client_gone = client_gone

    def has(self, name: str) -> bool:
        return name in self.raw or name in self.files

    def get(self, name: str) -> str | None:
        return self.raw.get(name)

    def get_int(self, name: str) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except ValueError:
            raise _bad(f"invalid {name} specified") from None

    def get_float(self, name: str, default: float) -> float:
        value = self.raw.get(name)
        try:
            return float(value) if value not in (None, "") else default
        except ValueError:
            raise _bad(f"invalid {name} specified") from None

    def get_bool(self, name: str) -> bool:
        return (self.raw.get(name) or "").lower() in ("true", "1")

    def get_json(self, name: str, error: str) -> Any:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(error) from None

    def decoded(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.raw.items():
            if key in _SELF_DESCRIBED_STRINGS:
                out[key] = value
                continue
            try:
                out[key] = json.loads(value)
            except ValueError:
                out[key] = value
        return out


def _decode_form_param(value: str) -> str:
    # httpx quotes '"' as %22, control characters as %XX and doubles backslashes.
    value = re.sub(
        r"%(22|[01][0-9A-F])", lambda m: chr(int(m.group(1), 16)), value
    )
    return value.replace("\\\\", "\\")


def _parse_multipart(
    body: bytes, boundary: bytes
) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for part in (b"\r\n" + body).split(b"\r\n--" + boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part[2:].partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        params = {
            k.lower(): _decode_form_param(v)
            for k, v in re.findall(r';\s*([\w*-]+)="([^"]*)"', disposition)
        }
        name = params.get("name", "")
        if "filename" in params:
            files[name] = UploadedFile(
                field=name,
                filename=params["filename"],
                content_type=headers.get("content-type", "application/octet-stream"),
                data=data,
            )
        else:
            fields[name] = data.decode("utf-8")
    return fields, files


def _parse_request(
    query: str, content_type: str, body: bytes
) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    raw: dict[str, str] = dict(parse_qsl(query, keep_blank_values=True))
    files: dict[str, UploadedFile] = {}
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        match = re.search(r'boundary="?([^";]+)"?', content_type)
        if match:
            fields, files = _parse_multipart(body, match.group(1).encode())
            raw.update(fields)
    elif ctype == "application/json" and body:
        for key, value in json.loads(body.decode("utf-8")).items():
            raw[key] = value if isinstance(value, str) else json.dumps(value)
    elif body:
        raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return raw, files


class Backend(Protocol):
    """What the HTTP side needs of the server behind it."""

    def _track(self, conn: socket.socket, add: bool) -> None: ...

    def _serve_file(self, rest: str) -> tuple[int, str, bytes]: ...

    def _process(
        self,
        token: str,
        method: str,
        raw: dict[str, str],
        files: dict[str, UploadedFile],
        client_gone: Callable[[], bool],
    ) -> tuple[int, Any]: ...


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm holds the
        # body back until the client's delayed ACK (40 ms on Linux) on every single call.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.api._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.api._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _dispatch(self) -> None:
        api = self.server.api
        url = urlsplit(self.path)
        # httpx percent-encodes the token's ':' in GET paths (file downloads).
        path = unquote(url.path)
        body = self._read_body()
        if path.startswith("/file/bot"):
            status, ctype, payload = api._serve_file(path[len("/file/bot") :])
            self._reply(status, payload, ctype)
            return
        match = re.fullmatch(r"/bot([^/]*)/([^/]+)", path)
        if match is None:
            self._reply(404, ApiError(404, "Not Found").payload())
            return
        try:
            raw, files = _parse_request(url.query, self.headers.get("Content-Type", ""), body)
        except (ValueError, UnicodeDecodeError):
            self._reply(400, _bad("invalid request body").payload())
            return
        status, payload = api._process(
            match.group(1), match.group(2), raw, files, self._client_gone
        )
        if status == 0 or status == CLIENT_CLOSED:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._reply(status, payload)

    def _client_gone(self) -> bool:
        try:
            return self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _reply(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            # The client gave up (e.g. a cancelled long poll); nothing left to tell it.
            self.close_connection = True


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # A bot opens many connections at once (PTB's pool); the default backlog of 5 makes the
    # kernel drop some of them under load, which the bot sees as reset connections.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], api: Backend) -> None:
        self.api = api
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a bot stopping mid-poll) is normal, not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


