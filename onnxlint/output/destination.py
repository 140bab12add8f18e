"""Writing a report file (`--output`, `--write-baseline`) without ever destroying data.

The report goes to a temporary file beside its destination and is renamed over it, so nobody reads half a report.
Before that: the destination must not be one of the run's inputs (`--output model.onnx` once replaced the model),
a symbolic link is written through to the file it names (the link stays), anything that is not a regular file
(a device, a FIFO, a folder) is refused, and an existing file keeps its mode and owner. The temporary file is
removed on every way out, SIGTERM and SIGHUP included.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO


class DestinationError(Exception):
    """A report that cannot or must not be written there; the message is one line naming the option and path."""


def check_destination(option: str, path: str, inputs: Iterable[str] = ()) -> tuple[Path, os.stat_result | None]:
    """(the file the report would replace, its stat or None when new); DestinationError where it must not go.
    Called before a long run too, so a refusal comes first, not after minutes of linting."""
    if not path:
        raise DestinationError(f"{option}: needs a file name")
    target = Path(os.path.realpath(path))  # through symbolic links: the link stays, its file gets the report
    existing = _stat(option, path, target)
    if existing is not None:
        if not stat.S_ISREG(existing.st_mode):
            raise DestinationError(f"{option}: '{path}' is not a regular file; refused")
        for given in inputs:
            if _same_file(existing, given):
                raise DestinationError(
                    f"{option}: '{path}' is an input of this run ('{given}'); refused, it would be overwritten"
                )
    return target, existing


def write_report(option: str, path: str, render: Callable[[TextIO], None], inputs: Iterable[str] = ()) -> None:
    """Render into `path` atomically, under the rules above; raise DestinationError otherwise."""
    target, existing = check_destination(option, path, inputs)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise DestinationError(f"{option}: cannot write '{path}' ({exc.strerror or exc})") from None
    try:
        with _signals_raise():
            _take_permissions(handle, existing)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                render(stream)
            os.replace(temporary, target)
    except OSError as exc:
        raise DestinationError(f"{option}: cannot write '{path}' ({exc.strerror or exc})") from None
    finally:
        Path(temporary).unlink(missing_ok=True)


def _stat(option: str, path: str, target: Path) -> os.stat_result | None:
    try:
        return target.stat()
    except FileNotFoundError:
        if not target.parent.is_dir():
            raise DestinationError(f"{option}: cannot write '{path}' (no folder '{target.parent}')") from None
        return None
    except OSError as exc:
        raise DestinationError(f"{option}: cannot write '{path}' ({exc.strerror or exc})") from None


def _same_file(existing: os.stat_result, given: str) -> bool:
    try:
        other = os.stat(given)
    except (OSError, ValueError):
        return False
    return (other.st_dev, other.st_ino) == (existing.st_dev, existing.st_ino)


def _take_permissions(handle: int, existing: os.stat_result | None) -> None:
    """The mode (and, where allowed, owner) of the file being replaced; for a new file what open() would give."""
    if existing is None:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(handle, 0o666 & ~umask)
        return
    os.fchmod(handle, stat.S_IMODE(existing.st_mode))
    with contextlib.suppress(OSError):  # only root may give a file away; others keep their own ownership
        os.fchown(handle, existing.st_uid, existing.st_gid)


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into an exception while the temporary file exists, so `finally` removes it."""

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError):  # not the main thread: signals stay as they are
            previous[signum] = signal.signal(signum, stop)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
