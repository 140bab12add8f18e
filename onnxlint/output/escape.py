"""Names and paths come from models and file systems nobody here controls; each format shows them safely.

A node named "\\x1b[2J" must not clear the reader's terminal, and a tensor named "x\\n::error::..." must not print a
line that GitHub Actions runs as a workflow command. File names that are not UTF-8 reach Python as lone surrogates
(PEP 383), which no UTF-8 stream can write.
"""

from __future__ import annotations

import re
from typing import Any

# C0 and C1 controls, DEL, the bidirectional marks and overrides that can reorder what a reader sees
# ("Trojan Source"), and lone surrogates (undecodable file-name bytes).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a file-name byte that is not UTF-8, as os.fsdecode keeps it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """For a terminal or a one-line annotation: every unsafe character as a visible escape (ESC as '\\x1b')."""
    return _UNSAFE.sub(_escaped, text)


def encodable(value: Any) -> Any:
    """For JSON documents: strings with lone surrogates get them as visible escapes, in nested lists and dicts too.
    json itself escapes control characters, so nothing else changes."""
    if isinstance(value, str):
        return _SURROGATE.sub(_escaped, value) if _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {encodable(key): encodable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encodable(item) for item in value]
    return value
