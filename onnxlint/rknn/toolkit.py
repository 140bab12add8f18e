"""The real rknn-toolkit2, run in a child process with a timeout.

The toolkit prints progress bars, can segfault or hang, pins old numpy/onnx, and logs error-looking lines on
builds that succeed: so it runs in its own process (the interpreter named by ONNXLINT_RKNN_PYTHON, or this one
when it can import `rknn`), and success is judged by return codes alone. Its log is captured, never printed.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from onnxlint.core.sandbox import BUILD_TIMEOUT_S
from onnxlint.rknn.knowledge import TOOLKIT, int8_only_chips
from onnxlint.rknn.log import layer_table, strip_ansi
from onnxlint.rknn.targets import installed_version

if TYPE_CHECKING:
    from onnxlint.core.graph import Node

PYTHON_VARIABLE = "ONNXLINT_RKNN_PYTHON"  # names the interpreter of the toolkit's environment
# An exception line: Python's own and the toolkit's (…Error, …Exception), and onnxruntime's, which the toolkit's
# constant folding raises under names such as onnxruntime.capi.onnxruntime_pybind11_state.InvalidArgument.
TOOLKIT_EXCEPTION = r"^([\w.]*(Error|Exception)|onnxruntime\.[\w.]+): "
# Measured: the toolkit rewrites a Squeeze or Unsqueeze into a Reshape to its output shape, so the axes input at
# this position is no longer read.
AXES_REWRITTEN = {"Squeeze": 1, "Unsqueeze": 1}
STAGES = {10: "load_onnx", 11: "build", 12: "init_runtime", 13: "export_rknn", 14: "accuracy_analysis"}

BUILD = r"""
import json
import sys
from rknn.api import RKNN

model, chip, verbose = sys.argv[1], sys.argv[2], sys.argv[3] == "verbose"
config, dataset = json.loads(sys.argv[4]), sys.argv[5]
outputs, export = json.loads(sys.argv[6]), sys.argv[7]
rknn = RKNN(verbose=verbose)
rknn.config(target_platform=chip, **config)
build = lambda: rknn.build(do_quantization=bool(dataset), dataset=dataset or None)
stages = [(10, lambda: rknn.load_onnx(model=model, outputs=outputs)), (11, build)]
if export:
    stages.append((13, lambda: rknn.export_rknn(export)))
for code, stage in stages:
    try:
        failed = stage() != 0
    except Exception as exc:  # the toolkit raises as often as it returns an error code
        print(f"{type(exc).__name__}: {exc}")
        failed = True
    if failed:
        sys.exit(code)
"""

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

ACCURACY = r"""
import json
import sys
from rknn.api import RKNN

model, chip, inputs, output_dir, dataset = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], sys.argv[5]
config = json.loads(sys.argv[6])
rknn = RKNN(verbose=False)
rknn.config(target_platform=chip, **config)
if rknn.load_onnx(model=model) != 0:
    sys.exit(10)
if rknn.build(do_quantization=bool(dataset), dataset=dataset or None) != 0:
    sys.exit(11)
if rknn.accuracy_analysis(inputs=inputs, output_dir=output_dir) != 0:
    sys.exit(14)
"""

QUANT_ACCURACY = r"""
import json
import re
import sys
from pathlib import Path
from rknn.api import RKNN

model, job = sys.argv[1], json.loads(sys.argv[2])
rknn = RKNN(verbose=False)
rknn.config(**job["config"])
if rknn.load_onnx(model=model, **job["load"]) != 0:
    sys.exit(10)
if job["custom_layers"]:
    if rknn.hybrid_quantization_step1(dataset=job["dataset"], proposal=False) != 0:
        sys.exit(11)
    stem = Path(model).stem
    cfg = Path(f"{stem}.quantization.cfg")
    text = cfg.read_text()
    names = set(re.findall(job["cfg_key"], text, flags=re.M))
    keys = {}
    for candidates, dtype in job["custom_layers"]:
        key = next((name for name in candidates if name in names), None)
        if key is None:
            print(f"E custom_quantize_layers: no layer of {candidates[0]!r} in {cfg.name}")
            sys.exit(11)
        keys.setdefault(key, dtype)
    lines = "".join(f"    {json.dumps(key)}: {dtype}\n" for key, dtype in keys.items())
    text = re.sub(r"^custom_quantize_layers:.*$", "custom_quantize_layers:\n" + lines.rstrip("\n"), text, count=1,
                  flags=re.M)
    cfg.write_text(text)
    rknn.release()  # step2 refuses an object that already loaded a model
    rknn = RKNN(verbose=False)
    rknn.config(**job["config"])
    if rknn.hybrid_quantization_step2(model_input=f"{stem}.model", data_input=f"{stem}.data",
                                      model_quantization_cfg=str(cfg)) != 0:
        sys.exit(11)
else:
    if rknn.build(do_quantization=True, dataset=job["dataset"], auto_hybrid=job["auto_hybrid"]) != 0:
        sys.exit(11)
if rknn.accuracy_analysis(inputs=job["inputs"], output_dir=job["output_dir"]) != 0:
    sys.exit(14)
"""


def quant_accuracy(
    model: Path,
    config: dict,
    dataset: str,
    inputs: list[str],
    output_dir: Path,
    load: dict | None = None,
    float16_layers: list[str] | None = None,
    auto_hybrid: bool = False,
    timeout: int = 1800,
    int16_layers: list[str] | None = None,
) -> BuildResult:
    """An int8 build of `model` with rknn.config(**config) calibrated on the toolkit dataset list `dataset`, then
    accuracy_analysis on `inputs` (files, one per model input) into output_dir (error_analysis.txt and dumps).
    `float16_layers`: a hybrid build (hybrid_quantization_step1, those layers set to float16 in the
    .quantization.cfg under the names step1 gave their fused layers, hybrid_quantization_step2), and
    `int16_layers` the same way as int16;
    `auto_hybrid`: build(auto_hybrid=True). `load`: extra
    load_onnx arguments (inputs and input_size_list for dynamic dims)."""
    import onnx

    from onnxlint.quant.toolkit import CFG_KEY, key_candidates

    python = _interpreter()
    output_dir = Path(output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    job = {
        "config": config,
        "load": load or {},
        "dataset": str(Path(dataset).resolve()),
        "inputs": [str(Path(p).resolve()) for p in inputs],
        "output_dir": str(output_dir),
        "custom_layers": [],
        "cfg_key": CFG_KEY.pattern,
        "auto_hybrid": auto_hybrid,
    }
    if float16_layers or int16_layers:
        graph = onnx.load(str(model), load_external_data=False)
        job["custom_layers"] = [
            (key_candidates(graph, tensor), dtype)
            for dtype, tensors in (("float16", float16_layers), ("int16", int16_layers))
            for tensor in tensors or []
        ]
    with tempfile.TemporaryDirectory(prefix="onnxlint-rknn-") as folder:
        return _build_result(python, QUANT_ACCURACY, [str(Path(model).resolve()), json.dumps(job)], folder, timeout)


@dataclass(frozen=True)
class BuildResult:
    failed_stage: str | None  # None: load_onnx and build succeeded
    log: str

    @property
    def suggested_rules(self) -> list[str]:
        """The fusion rules the toolkit suggests disabling ("You can add disable_rules=['…']"), in order."""
        return list(dict.fromkeys(re.findall(r"disable_rules=\[?'([^']+)'", strip_ansi(self.log))))

    @property
    def matched_nodes(self) -> list[str]:
        """ONNX node names in the toolkit's "Show op fuse match nodes" blocks."""
        names: list[str] = []
        inside = False
        for line in strip_ansi(self.log).splitlines():
            if "Show op fuse match nodes" in line:
                inside = True
            elif inside and line.startswith("Op name: "):
                names.append(line.removeprefix("Op name: ").strip())
            elif inside and "disable_rules" in line:
                inside = False
        return list(dict.fromkeys(names))

    @property
    def cpu_layers(self) -> dict[str, int]:
        """{layer op type: count} of the layers the build placed on the CPU (I/O operators left out)."""
        return dict(
            collections.Counter(
                layer.op_type for layer in layer_table(self.log) if layer.target == "CPU" and not layer.is_io
            )
        )

    def error_lines(self, limit: int = 3) -> list[str]:
        """The toolkit's own error lines (exceptions and E lines that are not known noise), last ones first."""
        lines = [strip_ansi(line).strip() for line in self.log.splitlines()]
        wanted = [
            line
            for line in lines
            if (re.match(TOOLKIT_EXCEPTION, line) or line.startswith("E "))
            and "Unkown op target" not in line
            and "Traceback" not in line
            and len(line) > 8
            and not line.startswith("E rknn-toolkit2 version")
        ]
        # The same message often appears as "E build: <text>" and as "ValueError: <text>": keep one.
        unique: dict[str, str] = {}
        for line in reversed(wanted):
            unique.setdefault(re.sub(r"^(E \w+: |[\w.]*(Error|Exception): )", "", line), line)
        return list(unique.values())[:limit]


def toolkit_python() -> str | None:
    """The Python interpreter that runs rknn-toolkit2, or None (toolkit_missing() says why)."""
    configured = os.environ.get(PYTHON_VARIABLE)
    if configured:
        return None if _unusable(configured) else configured
    return sys.executable if importlib.util.find_spec("rknn") else None


def toolkit_missing() -> str:
    """Why toolkit_python() is None, in one line."""
    configured = os.environ.get(PYTHON_VARIABLE)
    problem = _unusable(configured) if configured else None
    if problem:
        return f"{PYTHON_VARIABLE} names '{configured}', which {problem}"
    return f"{TOOLKIT} is not installed (install it beside onnxlint, or set {PYTHON_VARIABLE})"


def _interpreter() -> str:
    """toolkit_python(), or RuntimeError saying why there is none."""
    python = toolkit_python()
    if python is None:
        raise RuntimeError(toolkit_missing())
    return python


def _run_script(
    python: str, script: str, arguments: list[str], folder: str | Path, timeout: float
) -> subprocess.CompletedProcess:
    """One of the scripts above in the toolkit's interpreter, in `folder`, which also takes its temporary files."""
    return subprocess.run(
        [python, "-c", script, *arguments],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        cwd=folder,
        env={**os.environ, "TMPDIR": str(folder)},
    )


def _build_result(python: str, script: str, arguments: list[str], folder: str | Path, timeout: float) -> BuildResult:
    """What a build script did, judged by its return code; a build past `timeout` keeps the log it wrote."""
    try:
        return _finished(_run_script(python, script, arguments, folder, timeout))
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout.decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else exc.stdout
        return BuildResult(f"timeout after {timeout} s", output or "")


def _unusable(python: str) -> str | None:
    if shutil.which(python) is not None:  # a path, or a name on PATH
        return None
    return "is not executable" if os.path.isfile(python) else "does not exist"


def build(
    model: Path,
    chip: str,
    verbose: bool = False,
    timeout: int = BUILD_TIMEOUT_S,
    config: dict | None = None,
    inputs: dict[str, np.ndarray] | None = None,
    outputs: list[str] | None = None,
    dataset: str | None = None,
    export: Path | None = None,
) -> BuildResult:
    """Load and build `model` for `chip` (cut at `outputs`), int8 with `dataset` (a toolkit dataset list, else
    one generated from `inputs`) on quantized-only chips, writing the .rknn to `export` when given."""
    python = _interpreter()
    with tempfile.TemporaryDirectory(prefix="onnxlint-rknn-") as folder:
        if chip in int8_only_chips():
            dataset = str(Path(dataset).resolve()) if dataset else _dataset(Path(folder), Path(model), inputs)
        else:
            dataset = ""
        arguments = [
            str(Path(model).resolve()),
            chip,
            "verbose" if verbose else "quiet",
            json.dumps(config or {}),
            dataset,
            json.dumps(outputs),
            str(export.resolve()) if export else "",
        ]
        return _build_result(python, BUILD, arguments, folder, timeout)


def simulate(
    model: Path, chip: str, outputs: list[str], inputs: dict[str, np.ndarray], timeout: int = BUILD_TIMEOUT_S
) -> list[np.ndarray]:
    """Build `model` (cut at `outputs`) for `chip` in fp16 and run the simulator on `inputs`."""
    python = _interpreter()
    with tempfile.TemporaryDirectory(prefix="onnxlint-rknn-") as folder:
        inputs_path, results_path = Path(folder) / "inputs.npz", Path(folder) / "results.npz"
        # positional: the child feeds them in input order, only those the toolkit keeps
        np.savez(inputs_path, *(inputs[name] for name in toolkit_inputs(model)))
        arguments = [str(Path(model).resolve()), chip, ",".join(outputs), str(inputs_path), str(results_path)]
        result = _run_script(python, SIMULATE, arguments, folder, timeout)
        if result.returncode:
            stage = STAGES.get(result.returncode, f"exit code {result.returncode}")
            raise RuntimeError(f"rknn-toolkit2 failed at {stage}: {result.stdout[-2000:]}{result.stderr[-2000:]}")
        with np.load(results_path) as results:
            return [results[f"arr_{i}"] for i in range(len(results.files))]


def accuracy_analysis(
    model: Path,
    chip: str,
    inputs: dict[str, np.ndarray],
    output_dir: Path,
    timeout: int = 900,
    calibration: list[dict[str, np.ndarray]] | None = None,
    config: dict | None = None,
) -> BuildResult:
    """Build `model` for `chip` with rknn.config(**config), int8 calibrated on the `calibration` samples when
    given (fp16 otherwise), and run the toolkit's accuracy_analysis on `inputs`: per-layer dumps of its fp32
    reference ('golden') and of the simulator, named in output_dir/map_name_to_file.txt. Inputs and samples are
    the values the toolkit reads, before the mean/std normalisation `config` asks of it."""
    python = _interpreter()
    output_dir.mkdir(parents=True, exist_ok=True)
    kept = toolkit_inputs(model)
    arrays = _save_arrays(output_dir.parent, inputs, kept)
    dataset = _dataset_list(output_dir.parent, calibration, kept) if calibration else ""
    arguments = [
        str(Path(model).resolve()),
        chip,
        json.dumps(arrays),
        str(output_dir),
        dataset,
        json.dumps(config or {}),
    ]
    return _build_result(python, ACCURACY, arguments, output_dir.parent, timeout)


def installed_label() -> str | None:
    """ "rknn-toolkit2 <version>" of the toolkit the builds use, or None."""
    version = installed_version() if toolkit_python() else None
    return f"{TOOLKIT} {version}" if version else None


def toolkit_inputs(model: Path) -> list[str]:
    """The graph inputs of `model` that rknn-toolkit2 keeps, in their order: those a node still reads once the
    toolkit has folded its constants with the input sizes fixed (static_tensors). It drops the others, such as a
    length whose Shape alone is read, or axes that only a Squeeze or Unsqueeze reads, and then refuses a dataset
    list or inference inputs with one array per graph input."""
    from onnxlint.core.graph import build_graphs
    from onnxlint.core.model import load_model
    from onnxlint.rknn.placement import static_tensors

    graph = build_graphs(load_model(model))[0]
    static = static_tensors(graph)
    return [
        name for name in graph.input_names if any(_reads_values(node, name, static) for node in graph.consumers(name))
    ]


def _reads_values(node: Node, name: str, static: set[str]) -> bool:
    """Whether the toolkit's graph keeps `node` reading the values of tensor `name`."""
    if all(output in static for output in node.outputs if output):
        return False  # folded into a constant
    positions = [index for index, given in enumerate(node.inputs) if given == name]
    # No position: a control-flow node's subgraph reads it.
    return not positions or any(index != AXES_REWRITTEN.get(node.op_type) for index in positions)


def _dataset(folder: Path, model: Path, inputs: dict[str, np.ndarray] | None) -> str:
    """A one-sample calibration list: one .npy per input the toolkit keeps on one line, as the toolkit reads it."""
    if inputs is None:
        from onnxlint.confirm.inputs import random_inputs

        inputs = random_inputs(model, seed=0)
    return _dataset_list(folder, [inputs], toolkit_inputs(model))


def _dataset_list(folder: Path, samples: list[dict[str, np.ndarray]], kept: list[str]) -> str:
    """The toolkit's dataset list: one line per sample, on it one .npy per input the toolkit keeps (`kept`)."""
    listing = folder / "dataset.txt"
    listing.write_text(
        "".join(
            " ".join(_save_arrays(folder, sample, kept, f"sample{number}_")) + "\n"
            for number, sample in enumerate(samples)
        )
    )
    return str(listing)


def _save_arrays(folder: Path, inputs: dict[str, np.ndarray], kept: list[str], prefix: str = "") -> list[str]:
    """One .npy per input the toolkit keeps (`kept`, in input order), as the toolkit takes them."""
    paths = []
    for index, name in enumerate(kept):
        path = folder / f"{prefix}input{index}.npy"
        np.save(path, inputs[name])
        paths.append(str(path))
    return paths


def _finished(result: subprocess.CompletedProcess) -> BuildResult:
    """A toolkit child's outcome, judged by its return code (the toolkit logs errors on builds that succeed)."""
    stage = (
        None
        if result.returncode == 0
        else (
            f"crash (signal {-result.returncode})"
            if result.returncode < 0
            else STAGES.get(result.returncode, f"exit code {result.returncode}")
        )
    )
    return BuildResult(stage, result.stdout + result.stderr)
