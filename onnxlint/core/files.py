"""Reading files a user names: regular files only, size-capped, with one-line reasons.

Every path onnxlint reads from (models, scripts, configs, baselines, anchors, labels, dynamic axes, .npz arrays)
goes through here, so that a FIFO cannot hang a run, a link to /dev/zero cannot exhaust memory, and an
operating-system error is one line instead of a traceback. Reasons carry no path; callers add it.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from typing import Any

from onnxlint.core.errors import UnreadableInput

MiB = 1 << 20
# Scripts, configs and deployment files are written by hand and real ones are kilobytes; parsing a 1 MiB
# Python file already takes ~2 s and ~160 MB, so more is refused rather than risked.
MAX_TEXT_BYTES = 1 * MiB

_NOT_REGULAR = (
    (stat.S_ISDIR, "is a directory"),
    (stat.S_ISFIFO, "is a named pipe, not a regular file"),
    (stat.S_ISCHR, "is a character device, not a regular file"),
    (stat.S_ISBLK, "is a block device, not a regular file"),
    (stat.S_ISSOCK, "is a socket, not a regular file"),
)


def regular_file(path: str | os.PathLike, max_size: int | None = None) -> os.stat_result:
    """The stat of `path` (symlinks followed) if it is a regular file of at most `max_size` bytes, for files
    another library opens by name. Raises UnreadableInput otherwise."""
    try:
        status = os.stat(path)
    except (OSError, ValueError) as exc:
        raise UnreadableInput(path, _os_reason(exc)) from None
    _check(path, status, max_size)
    return status


def read_bytes(path: str | os.PathLike, max_size: int | None) -> bytes:
    """The content of a regular file of at most `max_size` bytes (None: any size). Raises UnreadableInput
    otherwise. The file is checked again through the descriptor it is read from, so a FIFO or device swapped in
    after the first check is refused, not read."""
    regular_file(path, max_size)  # refuse devices before opening: opening one can have effects (tape rewind)
    try:
        # O_NONBLOCK: a FIFO swapped in after the check opens at once instead of waiting for a writer.
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError) as exc:
        raise UnreadableInput(path, _os_reason(exc)) from None
    with os.fdopen(handle, "rb") as stream:
        try:
            _check(path, os.fstat(handle), max_size)
            # files in /proc say size 0: only the read itself is bounded
            data = stream.read() if max_size is None else stream.read(max_size + 1)
        except OSError as exc:
            raise UnreadableInput(path, _os_reason(exc)) from None
    if max_size is not None and len(data) > max_size:
        raise UnreadableInput(path, _too_large(len(data), max_size))
    return data


def read_text(path: str | os.PathLike, max_size: int = MAX_TEXT_BYTES) -> str:
    """A UTF-8 text file (a byte-order mark is accepted and dropped)."""
    return decode(path, read_bytes(path, max_size))


def decode(path: str | os.PathLike, data: bytes, encoding: str = "utf-8-sig") -> str:
    """`data` read from `path` as text; UnreadableInput naming the first bad byte otherwise."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        name = "UTF-8" if encoding.lower().replace("_", "-").startswith("utf-8") else encoding
        raise UnreadableInput(path, f"not {name} text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def parse_json(text: str) -> Any:
    """JSON as the standard requires it: NaN and Infinity are refused. Raises ValueError with a one-line
    reason for anything else json.loads would raise, deep nesting included."""

    def refuse(constant: str):
        raise ValueError(f"{constant} is not a number JSON allows")

    try:
        value = json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    return value


def _check(path: str | os.PathLike, status: os.stat_result, max_size: int | None) -> None:
    for is_kind, reason in _NOT_REGULAR:
        if is_kind(status.st_mode):
            raise UnreadableInput(path, reason)
    if not stat.S_ISREG(status.st_mode):
        raise UnreadableInput(path, "not a regular file")
    if max_size is not None and status.st_size > max_size:
        raise UnreadableInput(path, _too_large(status.st_size, max_size))


def _too_large(size: int, max_size: int) -> str:
    return f"too large ({size:,} bytes; the limit for this kind of file is {max_size / MiB:g} MiB)"


def _os_reason(exc: OSError | ValueError) -> str:
    if isinstance(exc, ValueError):  # an embedded NUL byte
        return f"invalid path ({exc})"
    if exc.errno == errno.ENOENT:
        return "no such file"
    if exc.errno == errno.EISDIR:
        return "is a directory"
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]
