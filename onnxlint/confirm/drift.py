"""What rules that run the model measure: the same inputs through two versions of the model.

- simplifier drift: the model as exported vs onnxsim's simplification of it (seed 002: accuracy lost in a
  simplified graph);
- optimizer drift: onnxruntime with graph optimisations off vs all on;
- reference mismatch: the model vs outputs the user saved from the framework (seed 000's workflow).
Each returns one (output name, Metrics) per graph output, for the rule to judge against its tolerance.
`measure()` runs one of them by name in the sandbox's child process, where the model is loaded and run.
"""

from __future__ import annotations

import contextlib
import os
import sys

import numpy as np

from onnxlint.confirm.metrics import Metrics, compare
from onnxlint.confirm.runner import ModelRun
from onnxlint.core.registry import LintSettings


class NotDeterministic(Exception):
    """Two runs of the model on the same input differ (training-mode Dropout, random ops): comparing two
    versions of it would measure that, not the versions."""


def measure(name: str, path: str, settings: LintSettings) -> list[tuple[str, Metrics]]:
    """The measurement `name` ("simplifier_drift", ...) of the model at `path`, with settings.run's options."""
    if settings.run is None:
        raise RuntimeError("a measurement runs only with --confirm")
    return MEASUREMENTS[name](ModelRun(path, settings, settings.run))


def simplifier_drift(run: ModelRun) -> list[tuple[str, Metrics]]:
    import onnxsim

    feeds = run.inputs()
    exported = _deterministic_run(run, feeds)
    with _silenced():  # onnxsim prints warnings from C++ straight to the process's stdout and stderr
        simplified, valid = onnxsim.simplify(run.proto)
    if not valid:
        raise RuntimeError("onnxsim could not check its simplified model")
    return _pairs(run, exported, run.run(simplified, feeds))


def optimizer_drift(run: ModelRun) -> list[tuple[str, Metrics]]:
    feeds = run.inputs()
    return _pairs(run, _deterministic_run(run, feeds), run.run(run.proto, feeds, optimized=True))


def _deterministic_run(run: ModelRun, feeds) -> list[np.ndarray]:
    first, second = run.run(run.proto, feeds), run.run(run.proto, feeds)
    if any(not np.array_equal(a, b, equal_nan=True) for a, b in zip(first, second)):
        raise NotDeterministic
    return first


def reference_mismatch(run: ModelRun) -> list[tuple[str, Metrics]]:
    """Raises ValueError when the reference lacks an output or has another shape."""
    reference = run.options.reference or {}
    names = [value.name for value in run.proto.graph.output]
    missing = [name for name in names if name not in reference]
    if missing:
        raise ValueError(f"the reference has no array for outputs {missing} (it has {sorted(reference)})")
    actual = run.run(run.proto, run.inputs())
    return [
        (name, compare(np.asarray(reference[name]), value, run.options.tolerance)) for name, value in zip(names, actual)
    ]


MEASUREMENTS = {
    "simplifier_drift": simplifier_drift,
    "optimizer_drift": optimizer_drift,
    "reference_mismatch": reference_mismatch,
}


@contextlib.contextmanager
def _silenced():
    """Send file descriptors 1 and 2 to /dev/null for the duration (Python and C++ writers alike)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def _pairs(run: ModelRun, reference: list[np.ndarray], actual: list[np.ndarray]) -> list[tuple[str, Metrics]]:
    names = [value.name for value in run.proto.graph.output]
    return [(name, compare(r, a, run.options.tolerance)) for name, r, a in zip(names, reference, actual)]
