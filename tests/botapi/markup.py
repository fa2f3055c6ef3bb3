"""Telegram's ``parse_mode`` handling: formatted text to plain text plus message entities.

Telegram strips the markup server-side and reports formatting as entities whose offsets and
lengths count UTF-16 code units. Bots that forget to escape user input (a first name with ``<``,
a Swedish sentence ending in ``.`` under MarkdownV2) get ``400 can't parse entities``; emulating
that here is what lets end-to-end tests catch such bugs.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["EntityParseError", "parse_text", "utf16_len"]


class EntityParseError(ValueError):
    """Raised with Telegram's description suffix (after ``Bad Request: can't parse entities: ``)."""


def utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units, the unit of entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


class _Builder:
    """Accumulates plain text and tracks the UTF-16 position for entity offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos16 = 0
        self.entities: list[dict[str, Any]] = []

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.pos16 += utf16_len(chunk)

    def entity(self, kind: str, start16: int, **extra: Any) -> None:
        length = self.pos16 - start16
        if length > 0:
            self.entities.append({"type": kind, "offset": start16, "length": length, **extra})

    def text(self) -> str:
        return "".join(self.parts)


_HTML_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)?([^>]*)>")
_ATTR_RE = re.compile(
    r"""([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?"""
)
_CHARREF_RE = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{1,10});")


def _unescape_html(value: str) -> str:
    def repl(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref.startswith("#x"):
            return chr(int(ref[2:], 16))
        if ref.startswith("#"):
            return chr(int(ref[1:]))
        return _HTML_NAMED.get(ref.lower(), match.group(0))

    return _CHARREF_RE.sub(repl, value)


def _parse_html(src: str) -> tuple[str, list[dict[str, Any]]]:
    out = _Builder()
    stack: list[tuple[str, int, dict[str, Any] | None]] = []
    i = 0
    while i < len(src):
        ch = src[i]
        if ch == "&":
            match = _CHARREF_RE.match(src, i)
            if match:
                out.add(_unescape_html(match.group(0)))
                i = match.end()
                continue
            out.add(ch)
            i += 1
            continue
        if ch != "<":
            out.add(ch)
            i += 1
            continue
        match = _TAG_RE.match(src, i)
        if match is None:
            if src.find(">", i) == -1:
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(src, i)}")
            raise EntityParseError(
                f'Unsupported start tag "" at byte offset {_byte_offset(src, i)}'
            )
        closing, name, rest = match.group(1), (match.group(2) or "").lower(), match.group(3)
        at = _byte_offset(src, i)
        if closing:
            if not stack:
                raise EntityParseError(f'Unexpected end tag at byte offset {at}')
            open_name, start16, extra = stack.pop()
            if name and name != open_name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {at}, expected "</{open_name}>", '
                    f'found "</{name}>"'
                )
            _close_html(out, open_name, start16, extra)
        else:
            attrs = {
                m.group(1).lower(): _unescape_html(m.group(2) or m.group(3) or m.group(4) or "")
                for m in _ATTR_RE.finditer(rest)
            }
            extra = _open_html(name, attrs, at)
            stack.append((name, out.pos16, extra))
        i = match.end()
    if stack:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"'
        )
    return out.text(), _nest_pre_code(out.entities)


def _open_html(name: str, attrs: dict[str, str], at: int) -> dict[str, Any] | None:
    if name in _HTML_SIMPLE and name != "blockquote":
        return {"language": attrs["class"][9:]} if name == "code" and attrs.get(
            "class", ""
        ).startswith("language-") else None
    if name == "blockquote":
        return {"expandable": "expandable" in attrs}
    if name == "span" and attrs.get("class") == "tg-spoiler":
        return None
    if name == "a":
        return {"url": attrs.get("href", "")}
    if name == "tg-emoji" and "emoji-id" in attrs:
        return {"custom_emoji_id": attrs["emoji-id"]}
    raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {at}')


def _close_html(out: _Builder, name: str, start16: int, extra: dict[str, Any] | None) -> None:
    if name == "a":
        url = (extra or {}).get("url", "")
        user = re.fullmatch(r"tg://user\?id=(\d+)", url)
        if user:
            out.entity("text_mention", start16, user={"id": int(user.group(1)),
                                                      "is_bot": False, "first_name": "?"})
        else:
            out.entity("text_link", start16, url=url)
    elif name == "tg-emoji":
        out.entity("custom_emoji", start16, **(extra or {}))
    elif name == "span":
        out.entity("spoiler", start16)
    elif name == "blockquote":
        kind = "expandable_blockquote" if (extra or {}).get("expandable") else "blockquote"
        out.entity(kind, start16)
    elif name == "code" and extra:
        out.entity("code", start16, **extra)
    else:
        out.entity(_HTML_SIMPLE[name], start16)


def _nest_pre_code(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fold ``<pre><code class="language-x">`` into one ``pre`` entity, as Telegram does."""
    pres = [e for e in entities if e["type"] == "pre"]
    result = []
    for ent in entities:
        if ent["type"] == "code" and "language" in ent:
            outer = next(
                (p for p in pres if (p["offset"], p["length"]) == (ent["offset"], ent["length"])),
                None,
            )
            if outer is not None:
                outer["language"] = ent["language"]
                continue
            ent = {k: v for k, v in ent.items() if k != "language"}
        result.append(ent)
    return sorted(result, key=lambda e: (e["offset"], -e["length"]))


_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
}
_MDV2_TYPES = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}


def _parse_markdown_v2(src: str) -> tuple[str, list[dict[str, Any]]]:
    out = _Builder()
    open_marks: list[tuple[str, int, int]] = []
    link_start: tuple[int, int] | None = None
    i = 0
    n = len(src)
    while i < n:
        ch = src[i]
        if ch == "\\":
            if i + 1 < n and 0 < ord(src[i + 1]) < 127:
                out.add(src[i + 1])
                i += 2
                continue
            raise EntityParseError(
                "Character '\\' is reserved and must be escaped with the preceding '\\'"
            )
        if ch == "`":
            i = _mdv2_code(src, i, out)
            continue
        mark = src[i : i + 2] if src[i : i + 2] in ("__", "||") else ch
        if mark in _MDV2_TYPES:
            if open_marks and open_marks[-1][0] == mark:
                _, start16, _ = open_marks.pop()
                out.entity(_MDV2_TYPES[mark], start16)
            elif any(m[0] == mark for m in open_marks):
                # Telegram rejects crossing entities like *a _b* c_.
                raise EntityParseError(
                    f"Can't find end of {_MDV2_NAMES[open_marks[-1][0]]} entity at byte offset "
                    f"{open_marks[-1][2]}"
                )
            else:
                open_marks.append((mark, out.pos16, _byte_offset(src, i)))
            i += len(mark)
            continue
        if ch == "[" and link_start is None:
            link_start = (out.pos16, _byte_offset(src, i))
            i += 1
            continue
        if ch == "]" and link_start is not None:
            if i + 1 < n and src[i + 1] == "(":
                end = i + 2
                while end < n and src[end] != ")":
                    end += 2 if src[end] == "\\" else 1
                if end >= n:
                    raise EntityParseError(
                        f"Can't find end of a url at byte offset {_byte_offset(src, i + 1)}"
                    )
                url = re.sub(r"\\(.)", r"\1", src[i + 2 : end])
                out.entity("text_link", link_start[0], url=url)
                link_start = None
                i = end + 1
                continue
            link_start = None
            i += 1
            continue
        if ch == ">" and (i == 0 or src[i - 1] == "\n"):
            # Blockquote markers are consumed; the quote entity itself is not modelled.
            i += 1
            continue
        if ch in _MDV2_RESERVED:
            raise EntityParseError(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        out.add(ch)
        i += 1
    if open_marks:
        mark, _, at = open_marks[-1]
        raise EntityParseError(f"Can't find end of {_MDV2_NAMES[mark]} entity at byte offset {at}")
    if link_start is not None:
        raise EntityParseError(f"Can't find end of TextUrl entity at byte offset {link_start[1]}")
    return out.text(), sorted(out.entities, key=lambda e: (e["offset"], -e["length"]))


def _mdv2_code(src: str, i: int, out: _Builder) -> int:
    fence = "```" if src.startswith("```", i) else "`"
    body_start = i + len(fence)
    language = None
    if fence == "```":
        newline = src.find("\n", body_start)
        first = src[body_start:newline] if newline != -1 else ""
        if newline != -1 and re.fullmatch(r"[A-Za-z0-9_+#.-]*", first):
            language = first or None
            body_start = newline + 1
    j = body_start
    chunk: list[str] = []
    while j < len(src):
        if src[j] == "\\" and j + 1 < len(src):
            chunk.append(src[j + 1])
            j += 2
            continue
        if src.startswith(fence, j):
            start16 = out.pos16
            out.add("".join(chunk))
            extra = {"language": language} if language else {}
            out.entity("pre" if fence == "```" else "code", start16, **extra)
            return j + len(fence)
        chunk.append(src[j])
        j += 1
    name = "Pre" if fence == "```" else "Code"
    raise EntityParseError(f"Can't find end of {name} entity at byte offset {_byte_offset(src, i)}")


def _parse_markdown(src: str) -> tuple[str, list[dict[str, Any]]]:
    out = _Builder()
    i = 0
    n = len(src)
    kinds = {"*": "bold", "_": "italic"}
    while i < n:
        ch = src[i]
        if ch == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.add(src[i + 1])
            i += 2
            continue
        if ch in kinds or ch == "`":
            fence = "```" if src.startswith("```", i) else ch
            end = src.find(fence, i + len(fence))
            if end == -1:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(src, i)}"
                )
            start16 = out.pos16
            out.add(src[i + len(fence) : end])
            out.entity("pre" if fence == "```" else kinds.get(ch, "code"), start16)
            i = end + len(fence)
            continue
        if ch == "[":
            match = re.compile(r"\[([^\]]*)\]\(([^)]*)\)").match(src, i)
            if match is None:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(src, i)}"
                )
            start16 = out.pos16
            out.add(match.group(1))
            out.entity("text_link", start16, url=match.group(2))
            i = match.end()
            continue
        out.add(ch)
        i += 1
    return out.text(), out.entities


def parse_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """Apply ``parse_mode`` like Telegram and trim surrounding whitespace.

    Returns ``(plain_text, entities)``; explicit ``entities`` win over ``parse_mode`` as in the
    Bot API. Raises :class:`EntityParseError` for malformed markup and :class:`ValueError` for an
    unknown parse mode.
    """
    mode = (parse_mode or "").lower()
    if entities:
        plain, ents = text, [dict(e) for e in entities]
    elif mode == "html":
        plain, ents = _parse_html(text)
    elif mode == "markdownv2":
        plain, ents = _parse_markdown_v2(text)
    elif mode == "markdown":
        plain, ents = _parse_markdown(text)
    elif mode == "":
        plain, ents = text, []
    else:
        raise ValueError(f"Unsupported parse_mode {parse_mode!r}")
    stripped = plain.lstrip()
    shift = utf16_len(plain) - utf16_len(stripped)
    stripped = stripped.rstrip()
    limit = utf16_len(stripped)
    trimmed = []
    for ent in ents:
        start = max(ent["offset"] - shift, 0)
        end = min(ent["offset"] + ent["length"] - shift, limit)
        if end > start:
            trimmed.append({**ent, "offset": start, "length": end - start})
    return stripped, trimmed
