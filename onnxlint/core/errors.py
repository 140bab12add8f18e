"""The error type the engine turns into a report instead of findings, and the record of an internal error."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from onnxlint.core.finding import InternalError


class UnreadableInput(Exception):
    """A file that cannot be linted at all. `reason` is one line, without the path."""

    def __init__(self, path: str | os.PathLike, reason: str):
        reason = " ".join(reason.split())  # always one line on the terminal
        super().__init__(reason)
        self.path = str(path)
        self.reason = reason

    def __reduce__(self):  # (path, reason), not Exception's (reason,): it crosses from the sandbox's child intact
        return type(self), (self.path, self.reason), self.__dict__


def internal_error(source: str, exc: BaseException, path: str | os.PathLike) -> InternalError:
    """Record an exception that escaped a rule or stage: one line for the report, the full traceback in a file
    (a user attaches it to a bug report; the report itself stays readable)."""
    import tempfile
    import traceback

    from onnxlint.core.finding import InternalError

    written = None
    try:
        handle, written = tempfile.mkstemp(prefix="onnxlint-traceback-", suffix=".txt")
        with os.fdopen(handle, "w", encoding="utf-8", errors="backslashreplace") as stream:
            stream.write(f"onnxlint internal error in {source} on {os.fspath(path)!r}\n")
            # An exception raised in a sandboxed child carries the child's traceback, the one worth reading.
            stream.write(getattr(exc, "child_traceback", None) or "".join(traceback.format_exception(exc)))
    except OSError:
        written = None  # no writable temporary folder: the one-line message still reaches the report
    message = " ".join(str(exc).split())[:300] or "(no message)"
    return InternalError(source=source, exception=type(exc).__name__, message=message, traceback=written)
