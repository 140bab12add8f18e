"""Running a model, under a time limit and a memory limit, in a child process.

Whatever runs a model (the --confirm confirmers, the rules that run the model, `onnxlint compare`) goes through
`run()` here. A model can loop forever (a Loop whose condition never turns false), allocate without bound (a
174-byte ConstantOfShape of a billion floats) or crash onnxruntime; in a child process all three end in
`LimitExceeded` or an exception, never in a hung or killed onnxlint.

- The child is a fresh interpreter, `python -m onnxlint.core.sandbox`: onnxruntime is not fork-safe once its
  thread pools exist, and unlike multiprocessing's "spawn" this never re-runs the caller's main script.
- It gets its own session, so that on the time limit the whole process group goes, the rknn-toolkit2 processes
  it may have started included.
- Its memory is capped with RLIMIT_DATA (the heap and private mappings: what a run allocates), not RLIMIT_AS,
  which also counts the address space that thread stacks and allocator arenas only reserve.
- Its stdout and stderr go to a file, because onnxruntime, onnxsim and the toolkit write to them from C++, and
  onnxlint's own stdout may be a JSON report. The end of that file explains a crash.
- The function may stream values back with `emit()` as it goes (evidence per finding, compare's progress), so
  that what finished before a limit is kept. Messages go over a pipe as length-prefixed pickles.
- The child imports only what it needs to serve (no subprocess, tempfile or multiprocessing): its memory is the
  function's.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import resource
import select
import signal
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import subprocess

# One rknn-toolkit2 build (onnxlint.rknn.toolkit) that goes on longer counts as hung: builds of real detectors
# take minutes.
BUILD_TIMEOUT_S = 600
# A run that goes on longer is stopped: a lower default would cut off confirmations the toolkit build already bounds.
DEFAULT_TIMEOUT_S = float(BUILD_TIMEOUT_S)
# Half of physical memory leaves the rest to onnxlint itself and to a second --jobs worker; the cap keeps a
# runaway model on a big shared machine from taking more than any CPU run of an edge-NPU model needs.
MEMORY_CAP_MIB = 16 * 1024
# What allocation failures say: Python, numpy, C++ (std::bad_alloc), onnxruntime's arena, and errno ENOMEM.
OUT_OF_MEMORY_WORDS = (
    "bad_alloc",
    "Failed to allocate memory",
    "Cannot allocate memory",
    "Unable to allocate",
    "MemoryError",
    "out of memory",
)
CRASH_TAIL_BYTES = 2000


def default_memory_mib() -> int:
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return min(physical // 2 >> 20, MEMORY_CAP_MIB)


@dataclass(frozen=True)
class Limits:
    """The bounds of one child process: wall-clock seconds and MiB of memory."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    memory_mib: int = field(default_factory=default_memory_mib)

    @property
    def over_time(self) -> str:
        return f"stopped after the {self.timeout_s:g} s time limit (--run-timeout)"

    @property
    def over_memory(self) -> str:
        return f"went over the {self.memory_mib} MiB memory limit (--run-memory)"


class LimitExceeded(Exception):
    """The child went over a limit; `reason` says which, e.g. "stopped after the 300 s time limit"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ChildFailed(RuntimeError):
    """The child died without an answer (a crash), or raised an exception that cannot cross processes."""


def out_of_memory(exc: BaseException) -> bool:
    """Whether `exc` is an allocation failure (under the memory limit, most likely that limit)."""
    return isinstance(exc, MemoryError) or any(word in str(exc) for word in OUT_OF_MEMORY_WORDS)


def run(
    function: Callable[..., Any],
    *args: Any,
    limits: Limits,
    on_emit: Callable[..., None] | None = None,
    loads_onnxruntime: bool = True,
    **kwargs: Any,
) -> Any:
    """`function(*args, **kwargs)` in a child process under `limits`; its return value.

    Every `emit(*values)` the function makes reaches `on_emit(*values)` as it happens. The function (a module
    level one), its arguments and its result must pickle. An exception it raises is raised here (as ChildFailed
    when it does not pickle); going over a limit raises LimitExceeded, and dying otherwise raises ChildFailed
    with the end of the child's output. The child loads onnxruntime first, its logging quieted, unless
    `loads_onnxruntime` is False: for a function that never runs a model, which then does without its memory.
    """
    import subprocess
    import tempfile

    reading, writing = os.pipe()
    with tempfile.TemporaryFile(prefix="onnxlint-run-") as output:
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", __name__, str(writing)],
                stdin=subprocess.PIPE,
                stdout=output,
                stderr=subprocess.STDOUT,
                pass_fds=(writing,),
                start_new_session=True,
            )
        finally:
            os.close(writing)  # the child holds the only writing end now: its death reads as end of file here
        try:
            stdin = child.stdin
            assert stdin is not None  # opened as a pipe above
            try:  # the limits and the path first: the child applies them before it unpickles (imports) the rest
                pickle.dump((limits, sys.path, loads_onnxruntime), stdin)
                pickle.dump((function, args, kwargs), stdin)
                stdin.close()
            except BrokenPipeError:
                pass  # it died on start; its output says why
            return _receive(reading, child, limits, on_emit, output)
        finally:
            _stop(child)
            os.close(reading)


def emit(*values: Any) -> None:
    """Inside `run()`'s child: send `values` to the parent's `on_emit` now."""
    if _channel is None:
        raise RuntimeError("emit() is only for functions run by onnxlint.core.sandbox.run()")
    _send(_channel, ("emit", values))


_channel: int | None = None  # the child's end of the pipe, set in the child only
_LENGTH = struct.Struct("!Q")  # the byte count that precedes each pickled message


def _send(writing: int, message: tuple[str, Any]) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    for part in (_LENGTH.pack(len(data)), data):
        view = memoryview(part)
        while view:
            view = view[os.write(writing, view) :]


def _read(reading: int, size: int) -> bytearray:
    """`size` bytes from the pipe, read into one buffer; EOFError when the child closed it first (it died)."""
    data = bytearray(size)
    view, done = memoryview(data), 0
    while done < size:
        count = os.readv(reading, [view[done:]])
        if not count:
            raise EOFError
        done += count
    return data


def _receive(reading: int, child: subprocess.Popen, limits: Limits, on_emit, output: IO[bytes]) -> Any:
    deadline = time.monotonic() + limits.timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([reading], [], [], remaining)[0]:
            raise LimitExceeded(limits.over_time)
        try:
            (length,) = _LENGTH.unpack(_read(reading, _LENGTH.size))
            kind, payload = pickle.loads(_read(reading, length))
        except EOFError:  # the child died without an answer
            child.wait()
            raise _crash(child.returncode, output, limits) from None
        if kind == "emit":
            if on_emit is not None:
                on_emit(*payload)
        elif kind == "result":
            return payload
        elif kind == "memory":
            raise LimitExceeded(limits.over_memory)
        else:  # "error": the exception itself, or its one-line description when it does not pickle
            raise payload if isinstance(payload, BaseException) else ChildFailed(payload)


def _crash(returncode: int, output: IO[bytes], limits: Limits) -> Exception:
    output.seek(max(0, output.seek(0, os.SEEK_END) - CRASH_TAIL_BYTES))
    tail = output.read().decode("utf-8", "replace")
    if any(word in tail for word in OUT_OF_MEMORY_WORDS):
        return LimitExceeded(limits.over_memory)
    how = f"was killed by {signal.Signals(-returncode).name}" if returncode < 0 else f"exited with code {returncode}"
    last = " ".join(tail.split())[-300:]
    return ChildFailed(f"the run {how}" + (f": ...{last}" if last else ""))


def _stop(child: subprocess.Popen) -> None:
    """Kill the child's process group (its own children too), and reap the child."""
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def _serve(writing: int) -> None:
    """The child's side of run(): read the work from stdin, answer on the `writing` pipe."""
    global _channel
    _channel = writing
    limits, sys.path[:], loads_onnxruntime = pickle.load(sys.stdin.buffer)
    memory = limits.memory_mib << 20
    resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    try:
        function, args, kwargs = pickle.load(sys.stdin.buffer)
        if loads_onnxruntime:
            import onnxruntime

            onnxruntime.set_default_logger_severity(3)
        _send(writing, ("result", function(*args, **kwargs)))
    except BaseException as exc:  # everything goes back to the parent, which decides
        _send(writing, _failure(exc))
    finally:
        os.close(writing)


def _failure(exc: BaseException) -> tuple[str, Any]:
    if out_of_memory(exc):
        return ("memory", None)
    import traceback

    # The child's traceback travels with the exception (its __dict__ pickles), for an internal-error report.
    exc.child_traceback = "".join(traceback.format_exception(exc))  # type: ignore[attr-defined]  # a new attribute on purpose
    try:
        pickle.loads(pickle.dumps(exc))
        return ("error", exc)
    except Exception:
        return ("error", f"{type(exc).__name__}: {' '.join(str(exc).split())}")


if __name__ == "__main__":  # run() starts this module as the child; emit() needs the imported module's _channel
    from onnxlint.core.sandbox import _serve as serve

    serve(int(sys.argv[1]))
