"""The one error type the engine turns into a report instead of findings."""

from __future__ import annotations

import os


class UnreadableInput(Exception):
    """A file that cannot be linted at all. `reason` is one line, without the path."""

    def __init__(self, path: str | os.PathLike, reason: str):
        reason = " ".join(reason.split())  # always one line on the terminal
        super().__init__(reason)
        self.path = str(path)
        self.reason = reason
