"""Run a model through the real rknn-toolkit2 simulator, in a child process with a timeout.

The toolkit prints progress bars, can segfault or hang, and logs error-looking lines on builds that
succeed: so it runs in its own process, and success is judged by return codes alone. It is found as the
interpreter named by ONNXLINT_RKNN_PYTHON, or this interpreter when it can import `rknn`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SIMULATE = r"""
import sys
import numpy as np
from rknn.api import RKNN

model, chip, outputs, inputs_path, results_path = sys.argv[1:6]
inputs = np.load(inputs_path)
rknn = RKNN(verbose=False)
rknn.config(target_platform=chip)
if rknn.load_onnx(model=model, outputs=outputs.split(",") if outputs else None) != 0:
    sys.exit(10)
if rknn.build(do_quantization=False) != 0:
    sys.exit(11)
if rknn.init_runtime() != 0:
    sys.exit(12)
results = rknn.inference(inputs=[inputs[name] for name in inputs.files], data_format="nchw")
np.savez(results_path, *results)
"""
STAGES = {10: "load_onnx", 11: "build", 12: "init_runtime"}

LOAD_AND_BUILD = r"""
import json
import sys
from rknn.api import RKNN

model, chip, verbose, config = sys.argv[1], sys.argv[2], sys.argv[3] == "verbose", json.loads(sys.argv[4])
rknn = RKNN(verbose=verbose)
rknn.config(target_platform=chip, **config)
for code, stage in ((10, lambda: rknn.load_onnx(model=model)), (11, lambda: rknn.build(do_quantization=False))):
    try:
        failed = stage() != 0
    except Exception as exc:  # the toolkit raises as often as it returns an error code
        print(f"{type(exc).__name__}: {exc}")
        failed = True
    if failed:
        sys.exit(code)
"""


def toolkit_python() -> str | None:
    configured = os.environ.get("ONNXLINT_RKNN_PYTHON")
    if configured:
        return configured
    return sys.executable if importlib.util.find_spec("rknn") else None


def load_and_build(model: Path, chip: str, verbose: bool = False, timeout: int = 600,
                   config: dict | None = None) -> tuple[str | None, str]:
    """(the stage that failed or None, the toolkit's output) for an fp16 build of `model` for `chip`, with
    extra rknn.config() arguments; verbose output includes the per-layer NPU/CPU table."""
    python = toolkit_python()
    assert python, "rknn-toolkit2 is not available"
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run([python, "-c", LOAD_AND_BUILD, str(Path(model).resolve()), chip,
                                 "verbose" if verbose else "quiet", json.dumps(config or {})],
                                capture_output=True, text=True, timeout=timeout, cwd=folder)
    failed = None if result.returncode == 0 else STAGES.get(result.returncode, f"exit code {result.returncode}")
    return failed, result.stdout + result.stderr


def simulate(model: Path, chip: str, outputs: list[str], inputs: dict[str, np.ndarray],
             timeout: int = 600) -> list[np.ndarray]:
    """Build `model` (cut at `outputs`) for `chip` in fp16 and run the simulator on `inputs`."""
    python = toolkit_python()
    assert python, "rknn-toolkit2 is not available"
    with tempfile.TemporaryDirectory() as folder:
        inputs_path, results_path = Path(folder) / "inputs.npz", Path(folder) / "results.npz"
        np.savez(inputs_path, **inputs)
        result = subprocess.run([python, "-c", SIMULATE, str(model), chip, ",".join(outputs), str(inputs_path),
                                 str(results_path)], capture_output=True, text=True, timeout=timeout, cwd=folder)
        if result.returncode:
            stage = STAGES.get(result.returncode, f"exit code {result.returncode}")
            raise RuntimeError(f"rknn-toolkit2 failed at {stage}: {result.stdout[-2000:]}{result.stderr[-2000:]}")
        with np.load(results_path) as results:
            return [results[f"arr_{i}"] for i in range(len(results.files))]
