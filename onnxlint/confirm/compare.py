"""`onnxlint compare A.onnx B.onnx`: layer by layer, where do two models stop agreeing?

Both models run in onnxruntime (graph optimisations off) on the same inputs, with every intermediate tensor they
share by name exposed as an output. Tensors are compared in A's topological order. The divergence origin is the
first node whose own output leaves tolerance while every input of it that both sides share is within it: the
node that introduced the difference, not merely the first bad tensor downstream of it.

Memory stays bounded on big models, and each model's weights are held once at a time. The work is two steps, each
of which `onnxlint compare` runs in a child process of its own, so that neither holds the other's libraries:

1. plan (onnx, no onnxruntime): each file is parsed once, without shape inference, to vet it and learn its nodes,
   then dropped; the inputs are made and checked. The plan (A's nodes, the shared tensors, the inputs) goes to a
   file in the comparison's folder.
2. run (onnxruntime, no onnx): onnxruntime reads each model file itself, with a chunk of the shared tensors
   appended to its outputs. A runs, then B, as Polygraphy's two runs do, one session per chunk, each tensor written
   to the folder as it comes; then the two files are read back one tensor pair at a time and compared. At most one
   session and one chunk of tensors are held at a time, and no session while tensors are compared. A chunk is
   bounded in bytes (CHUNK_BYTES, its length learnt from the chunk before), not only in count: onnxruntime keeps
   every graph output of a session until a run returns, requested or not, so a session exposes only its chunk.
"""

from __future__ import annotations

import gc
import os
import pickle
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from onnxlint.confirm.metrics import COSINE_FP16, Metrics, Tolerance, compare

if TYPE_CHECKING:
    import numpy as np

    from onnxlint.core.sandbox import Limits

# numpy, onnx and onnxruntime load in the child processes that compare: `onnxlint compare` itself (the parent,
# which only waits) then holds little, and the process tree's memory is the children's. What only the parent or an
# in-process comparison uses (tempfile) is imported where used: each child then holds only what its step needs.

CHUNK = 256  # the most tensors one run exposes
FIRST_CHUNK = 8  # the first run's tensors, before their sizes are known: early tensors are the largest in a CNN
CHUNK_BYTES = 64 << 20  # about the most one run's exposed tensors take: the running child's peak above its session
PLAN_FILE = "plan.pickle"


@dataclass(frozen=True)
class _NodeRecord:
    """What compare needs of a node of A."""

    name: str
    op_type: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class TensorResult:
    tensor: str
    node: str | None
    op_type: str | None
    shape: list[int] | None
    metrics: Metrics | None
    ok: bool
    problem: str | None = None  # why no metrics: a shape or dtype the two sides disagree on

    def to_dict(self) -> dict[str, Any]:
        values = self.metrics.to_dict() if self.metrics else {}
        return {
            "tensor": self.tensor,
            "node": self.node,
            "op_type": self.op_type,
            "shape": self.shape,
            "max_abs": values.get("max_abs"),
            "max_rel": values.get("max_rel"),
            "mismatch_ratio": values.get("mismatch_ratio"),
            "cosine": values.get("cosine"),
            "ok": self.ok,
            "problem": self.problem,
        }


@dataclass
class Comparison:
    a: str
    b: str
    seed: int
    input_shapes: dict[str, list[int]]
    tolerance: Tolerance
    tensors: list[TensorResult] = field(default_factory=list)
    first_divergence: TensorResult | None = None
    outputs: list[str] = field(default_factory=list)
    rknn: dict[str, Any] | None = None  # compare --rknn: the build (see compare_with_rknn)

    @property
    def diverged(self) -> bool:
        return any(not t.ok for t in self.tensors)

    def to_dict(self) -> dict[str, Any]:
        origin = self.first_divergence
        tolerance = {"rtol": self.tolerance.rtol, "atol": self.tolerance.atol, "min_cosine": self.tolerance.min_cosine}
        by_name = {t.tensor: t for t in self.tensors}
        return {
            "schema_version": 1,
            "a": self.a,
            "b": self.b,
            "inputs": {"seed": self.seed, "shapes": self.input_shapes},
            "tolerance": tolerance,
            "tensors": [t.to_dict() for t in self.tensors],
            "first_divergence": None
            if origin is None
            else {
                "tensor": origin.tensor,
                "node": origin.node,
                "op_type": origin.op_type,
                "metrics": origin.metrics.to_dict() if origin.metrics else None,
                "problem": origin.problem,
            },
            "outputs": [by_name[name].to_dict() for name in self.outputs if name in by_name],
            **({"rknn": self.rknn} if self.rknn is not None else {}),
        }


@dataclass(frozen=True)
class _ModelFile:
    """One model as onnxruntime gets it: `protobuf` is the file itself, or its protobuf conversion (onnx's text
    formats) in the comparison's folder; external weights are read next to `path`; `outputs` are the graph's own
    outputs, which a session has without exposing them."""

    path: str
    protobuf: str
    external_data: bool
    outputs: frozenset[str]


@dataclass
class _Plan:
    """What the run step needs, written by the plan step: the comparison to fill in, both models, the shared
    tensors in A's order with A's node that produces each, and the inputs."""

    comparison: Comparison
    a: _ModelFile
    b: _ModelFile
    shared: list[str]
    producer: dict[str, _NodeRecord]
    feeds: dict[str, np.ndarray]


def compare_models(
    a: str | os.PathLike[str],
    b: str | os.PathLike[str],
    seed: int = 0,
    given: Mapping[str, np.ndarray] | None = None,
    tolerance: Tolerance = Tolerance(),
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> Comparison:
    """Compare every tensor A and B share by name, in this process; `progress(done, total)` is called after each
    chunk of each model's run and of the comparison (total: three times the chunks). Raises ModelLoadError for a
    file lint would refuse (the same vetting: parse, external data, cycles), ValueError for models that cannot
    be compared."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="onnxlint-compare-") as folder:
        plan_comparison(a, b, folder, seed, given, tolerance)
        return run_comparison(folder, chunk, progress)


def compare_in_children(
    a: str | os.PathLike[str],
    b: str | os.PathLike[str],
    limits: Limits,
    seed: int = 0,
    given: Mapping[str, np.ndarray] | None = None,
    tolerance: Tolerance = Tolerance(),
    on_progress: Callable[[int, int], None] | None = None,
) -> Comparison:
    """compare_models with each step in a child process under `limits` (see onnxlint.core.sandbox): the same
    answer and errors, and LimitExceeded for a step over a limit."""
    import tempfile

    from onnxlint.core import sandbox

    with tempfile.TemporaryDirectory(prefix="onnxlint-compare-") as folder:
        sandbox.run(
            plan_comparison, str(a), str(b), folder, seed, given, tolerance, limits=limits, loads_onnxruntime=False
        )
        return sandbox.run(
            run_comparison, folder, CHUNK, sandbox.emit if on_progress else None, limits=limits, on_emit=on_progress
        )


def plan_comparison(
    a: str | os.PathLike[str],
    b: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    seed: int = 0,
    given: Mapping[str, np.ndarray] | None = None,
    tolerance: Tolerance = Tolerance(),
) -> None:
    """The plan step: vet both files, make and check the inputs, and write the plan to `folder`. Raises as
    compare_models does, before anything runs."""
    from onnxlint.confirm.inputs import input_specs, random_arrays
    from onnxlint.core.graph import build_graphs
    from onnxlint.core.model import load_model

    _return_large_blocks()
    vetted = load_model(a, infer=False)  # A's topological order, kept as plain records; the proto is dropped
    order = [_NodeRecord(n.name, n.op_type, n.inputs, n.outputs) for n in build_graphs(vetted)[0].nodes]
    specs_a, outputs = input_specs(vetted.proto), [value.name for value in vetted.proto.graph.output]
    external_a = vetted.has_external_data
    del vetted
    _release_freed_memory()
    vetted = load_model(b, infer=False)
    build_graphs(vetted)  # refuses a cycle, as lint does
    specs_b, outputs_b = input_specs(vetted.proto), [value.name for value in vetted.proto.graph.output]
    produced_b = {name for node in vetted.proto.graph.node for name in node.output if name}
    external_b = vetted.has_external_data
    del vetted
    _release_freed_memory()
    # The inputs are made after both loads, so that numpy.random's memory is not under B's.
    feeds = random_arrays(specs_a, seed=seed, given=given)
    _check_inputs(a, b, specs_a, specs_b, feeds, given or {})
    producer: dict[str, _NodeRecord] = {}
    for node in order:
        for name in node.outputs:
            if name and name in produced_b and name not in producer:
                producer[name] = node
    if not producer:
        raise ValueError("the models share no tensor names: nothing to compare")
    shared = list(producer)
    comparison = Comparison(
        a=str(a),
        b=str(b),
        seed=seed,
        input_shapes={k: list(v.shape) for k, v in feeds.items()},
        tolerance=tolerance,
        outputs=outputs,
    )
    plan = _Plan(
        comparison,
        _model_file(a, outputs, external_a, Path(folder) / "a.onnx"),
        _model_file(b, outputs_b, external_b, Path(folder) / "b.onnx"),
        shared,
        producer,
        feeds,
    )
    with open(Path(folder) / PLAN_FILE, "wb") as file:
        pickle.dump(plan, file, protocol=pickle.HIGHEST_PROTOCOL)


def _model_file(path, outputs: list[str], external_data: bool, converted: Path) -> _ModelFile:
    """How onnxruntime gets the model at `path`: a model in one of onnx's text formats (by extension, as onnx.load
    reads it) is converted to protobuf at `converted`, since onnxruntime reads protobuf only and the appended
    outputs are protobuf."""
    import onnx

    protobuf = str(path)
    if onnx.serialization.registry.get_format_from_file_extension(Path(path).suffix) not in (None, "protobuf"):
        converted.write_bytes(onnx.load(str(path), load_external_data=False).SerializeToString())
        protobuf = str(converted)
    return _ModelFile(str(path), protobuf, external_data, frozenset(outputs))


def outputs_message(names: list[str]) -> bytes:
    """Protobuf of a ModelProto whose graph has `names` as outputs: appended to a model file it adds them to the
    graph's outputs (a message appended to another merges with it, and repeated fields append). Encoded here, so
    that the running child need not import onnx: ModelProto.graph is field 7, GraphProto.output field 12,
    ValueInfoProto.name field 1, all length-delimited."""

    def field(number: int, payload: bytes) -> bytes:
        return _varint(number << 3 | 2) + _varint(len(payload)) + payload

    return field(7, b"".join(field(12, field(1, name.encode("utf-8"))) for name in names))


def _varint(value: int) -> bytes:
    encoded = bytearray()
    while value > 0x7F:
        encoded.append(value & 0x7F | 0x80)
        value >>= 7
    encoded.append(value)
    return bytes(encoded)


def run_comparison(
    folder: str | os.PathLike[str],
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Comparison:
    """The run step: run A, then B, on the plan in `folder`, each exposed tensor written to the folder; then
    compare them pair by pair. A's chunks are sized as they go, at most `chunk` tensors and about `chunk_bytes`
    bytes each; B's are A's, so that the files pair up. `progress(done, total)` counts tensors, three times over
    (A, B, compared). ValueError, in one line, when onnxruntime refuses a model."""
    folder = Path(folder)
    _return_large_blocks()
    with open(folder / PLAN_FILE, "rb") as file:  # written by the plan step, in this comparison's own folder
        plan: _Plan = pickle.load(file)
    shared, done, total = plan.shared, 0, 3 * len(plan.shared)

    def ran(names: list[str]) -> None:
        nonlocal done
        done += len(names)
        if progress:
            progress(done, total)

    bounds: list[tuple[int, int]] = []
    with _Exposer(plan.a, folder) as expose:
        start, length = 0, min(FIRST_CHUNK, chunk)
        while start < len(shared):
            names = shared[start : start + length]
            size = _run_chunk(expose, plan.feeds, names, folder / f"a{len(bounds)}.pickle")
            bounds.append((start, start + len(names)))
            start += len(names)
            length = max(1, min(chunk, chunk_bytes * len(names) // max(size, 1)))
            ran(names)
    with _Exposer(plan.b, folder) as expose:
        for index, (start, stop) in enumerate(bounds):
            _run_chunk(expose, plan.feeds, shared[start:stop], folder / f"b{index}.pickle")
            ran(shared[start:stop])
    comparison = plan.comparison
    for index, (start, stop) in enumerate(bounds):
        with open(folder / f"a{index}.pickle", "rb") as file_a, open(folder / f"b{index}.pickle", "rb") as file_b:
            for name in shared[start:stop]:
                comparison.tensors.append(
                    _compare_one(
                        name, plan.producer[name], pickle.load(file_a), pickle.load(file_b), comparison.tolerance
                    )
                )
        os.unlink(folder / f"a{index}.pickle")
        os.unlink(folder / f"b{index}.pickle")
        ran(shared[start:stop])
    comparison.first_divergence = _origin(comparison.tensors, plan.producer, set(plan.feeds))
    return comparison


def _run_chunk(expose: _Exposer, feeds: Mapping[str, np.ndarray], names: list[str], target: Path) -> int:
    """Run a session that exposes `names` and write their values to `target`, one pickle per tensor (read back
    one at a time); the bytes they took. The session is gone when this returns."""
    run = expose(names)
    values = run(feeds, names)
    del run
    size = 0
    with open(target, "wb") as file:
        for value in values:
            size += getattr(value, "nbytes", 0)
            pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
    del values
    _release_freed_memory()
    return size


def _return_large_blocks() -> None:
    """Have glibc map every block from 64 KiB up on its own and unmap it when freed (a fixed mmap threshold): by
    default the threshold grows as large blocks are freed, and the weights of the parsed protos, then onnxruntime's
    copies while it builds a session, pile up in the heap instead of going back; below 128 KiB (its default
    start), the tensors read back and their metrics' temporaries, of every size, would fragment the heap as they
    come and go. Only the comparing children do this."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-3, 1 << 16)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def _release_freed_memory() -> None:
    """Give the memory of what was just dropped (a parsed proto, a session) back to the system now: glibc keeps
    freed blocks in the heap, and what comes next would count on top of them."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim, or nothing we can ask
        pass


class _Exposer:
    """Sessions of one model, each with a chunk of its tensors exposed, as functions (feeds, names) -> values;
    ValueError, in one line, when onnxruntime refuses the model. The weights are held once, by onnxruntime: a
    model without external data goes through one copy in the comparison's folder, to which each chunk's outputs
    are appended in turn, because onnxruntime keeps a model given as bytes about twice over; one with external
    data is given as bytes, its weights read from their files in the model's folder."""

    def __init__(self, model: _ModelFile, folder: Path):
        self.model = model
        self.copy = folder / "exposed.onnx"
        self.model_folder = Path(model.path).resolve().parent
        self.protobuf = b""  # the model's protobuf, when it has external data
        self.size = 0  # the copy's size before any outputs are appended, otherwise

    def __enter__(self) -> _Exposer:
        if self.model.external_data:
            self.protobuf = Path(self.model.protobuf).read_bytes()
        else:
            shutil.copyfile(self.model.protobuf, self.copy)
            self.size = self.copy.stat().st_size
        return self

    def __exit__(self, *exc_info) -> None:
        self.protobuf = b""
        self.copy.unlink(missing_ok=True)

    def __call__(self, names: list[str]) -> Callable[[Mapping[str, np.ndarray], list[str]], list[Any]]:
        import onnxruntime

        exposing = outputs_message([name for name in names if name not in self.model.outputs])
        session_options = onnxruntime.SessionOptions()
        session_options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        session_options.log_severity_level = 3
        session_options.enable_cpu_mem_arena = False  # memory a run used goes back
        session_options.enable_mem_pattern = False
        if self.model.external_data:
            session_options.add_session_config_entry(
                "session.model_external_initializers_file_folder_path", str(self.model_folder)
            )
            source: str | bytes = self.protobuf + exposing
        else:
            with open(self.copy, "r+b") as copy:  # the file as it was, then this chunk's outputs
                copy.truncate(self.size)
                copy.seek(self.size)
                copy.write(exposing)
            source = str(self.copy)
        working_folder = os.getcwd()
        try:
            if self.model.external_data:  # onnxruntime before 1.20 ignores that entry, reads external files from here
                os.chdir(self.model_folder)
            session = onnxruntime.InferenceSession(source, session_options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's errors (Fail, InvalidGraph, ...) derive from Exception only
            message = " ".join(str(exc).split())
            raise ValueError(f"{self.model.path}: onnxruntime refuses the model: {message}") from None
        finally:
            os.chdir(working_folder)
        del source
        _release_freed_memory()  # what onnxruntime parsed on the way to its initialised tensors
        inputs = {i.name for i in session.get_inputs()}

        def run(feeds: Mapping[str, np.ndarray], outputs: list[str]) -> list[Any]:
            return session.run(outputs, {k: v for k, v in feeds.items() if k in inputs})

        return run


def _check_inputs(
    a, b, specs_a: list, specs_b: list, feeds: Mapping[str, np.ndarray], given: Mapping[str, np.ndarray]
) -> None:
    """Raise ValueError, in one line, unless both models take `feeds`: B takes no input A lacks, inputs of the same
    name have the same element type and shape in both, and --inputs arrays fit both. (Whether onnxruntime loads
    each model is known when its session is made.)"""
    declared_a = {name: (dtype, shape) for name, dtype, shape in specs_a}
    missing = sorted({name for name, _, _ in specs_b} - set(feeds))
    if missing:
        raise ValueError(f"the models' inputs differ: {b} needs {missing}, {a} has {sorted(feeds)}")
    for path, specs in ((a, specs_a), (b, specs_b)):
        for name, dtype, shape in specs:
            array = feeds[name]
            if _fits(array, dtype, shape):
                continue
            if name in given:
                raise ValueError(
                    f"--inputs: '{name}' is {_declared(array.dtype, array.shape)}, but {path} takes "
                    f"{_declared(dtype, shape)}"
                )
            raise ValueError(
                f"the models' inputs differ: '{name}' is {_declared(*declared_a[name])} in {a} and "
                f"{_declared(dtype, shape)} in {b}"
            )


def _fits(array: np.ndarray, dtype: np.dtype, shape: tuple) -> bool:
    """Whether a model input declared (dtype, shape) takes `array`: symbolic dims take any size; an input
    without a declared shape takes any rank."""
    if array.dtype != dtype or (shape and array.ndim != len(shape)):
        return False
    return all(not isinstance(dim, int) or dim < 0 or dim == size for dim, size in zip(shape, array.shape))


def _declared(dtype, shape) -> str:
    import numpy as np

    return f"{np.dtype(dtype)} [{', '.join(str(dim) for dim in shape)}]"


@dataclass(frozen=True)
class Int8Build:
    """compare --rknn --int8: a w8a8 build calibrated on `datasets` (as `onnxlint quant --dataset` reads them;
    none: a generated sample), with the deployment's mean/std and the quantization settings of rknn.config."""

    datasets: tuple[str, ...] = ()
    mean: list[float] | None = None
    std: list[float] | None = None
    algorithm: str = "normal"
    method: str = "channel"


def compare_with_rknn(
    a: str | os.PathLike[str],
    chip: str,
    seed: int = 0,
    given: Mapping[str, np.ndarray] | None = None,
    tolerance: Tolerance = Tolerance(min_cosine=COSINE_FP16),
    timeout: int = 900,
    int8: Int8Build | None = None,
) -> Comparison:
    """Compare the toolkit's fp32 reference of A with its simulator on `chip`, layer by layer, from the per-layer
    dumps of rknn-toolkit2's accuracy_analysis (read one tensor pair at a time). The build is fp16, or int8 as
    `int8` says; int8-only chips (rv1106/rv1103) always build int8, by default Int8Build(). Raises DatasetError
    for calibration data that cannot be read or does not fit A."""
    import tempfile
    from pathlib import Path

    import numpy as np
    import onnx

    from onnxlint.confirm.inputs import random_inputs
    from onnxlint.core.graph import build_graphs
    from onnxlint.core.model import load_model
    from onnxlint.rknn import toolkit
    from onnxlint.rknn.knowledge import int8_only_chips

    model_a = onnx.load(str(a), load_external_data=False)
    if int8 is None and chip in int8_only_chips():
        int8 = Int8Build()
    if int8 is None:
        feeds = random_inputs(model_a, seed=seed, given=given)
        raw, calibration = feeds, None
        build: dict[str, Any] = {
            "chip": chip,
            "dtype": "fp16",
            "config": {},
            "calibration": None,
            "notes": [],
            "evaluation": "--inputs" if given else f"seeded random input (seed {seed})",
        }
    else:
        feeds, raw, calibration, build = _int8_build(model_a, chip, int8, seed, given)
    producer = {name: node for node in build_graphs(load_model(a))[0].nodes for name in node.outputs if name}
    comparison = Comparison(
        a=str(a),
        b=f"rknn:{chip}",
        seed=seed,
        input_shapes={k: list(v.shape) for k, v in feeds.items()},
        tolerance=tolerance,
        outputs=[value.name for value in model_a.graph.output],
        rknn=build,
    )
    with tempfile.TemporaryDirectory(prefix="onnxlint-accuracy-") as folder:
        dumps = Path(folder) / "snapshot"
        result = toolkit.accuracy_analysis(
            Path(a), chip, raw, dumps, timeout=timeout, calibration=calibration, config=build["config"]
        )
        if result.failed_stage:
            raise RuntimeError(
                f"rknn-toolkit2 failed at {result.failed_stage}: {'; '.join(result.error_lines()) or 'no error line'}"
            )
        for name, file in _dump_files(dumps / "map_name_to_file.txt"):
            if name in feeds:
                continue  # both sides get the same input
            golden = np.loadtxt(dumps / "golden" / file, dtype=np.float64, ndmin=1)
            simulated = np.loadtxt(dumps / "simulator" / file, dtype=np.float64, ndmin=1)
            node = producer.get(name)
            metrics = compare(golden, simulated, tolerance) if golden.shape == simulated.shape else None
            comparison.tensors.append(
                TensorResult(
                    tensor=name,
                    node=node.name if node else None,
                    op_type=node.op_type if node else None,
                    shape=[int(golden.size)],
                    metrics=metrics,
                    ok=bool(metrics and metrics.within(tolerance)),
                    problem=None if metrics else f"sizes differ: {golden.size} vs {simulated.size}",
                )
            )
    comparison.first_divergence = _origin(comparison.tensors, producer, set(feeds))
    return comparison


def _int8_build(
    model, chip: str, int8: Int8Build, seed: int, given: Mapping[str, np.ndarray] | None
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[dict[str, np.ndarray]], dict[str, Any]]:
    """The int8 build's samples, as quant reads and splits them: the evaluation feeds (model inputs), the values
    the toolkit reads for them and for each calibration sample (before its mean/std), and the build's account."""
    from onnxlint.confirm.inputs import random_inputs
    from onnxlint.quant.dataset import load_samples, raw_values, split_samples

    feeds = random_inputs(model, seed=seed, given=given)  # the samples take these shapes, as the fp16 build's input
    samples = load_samples(
        model, int8.datasets, {name: array.shape for name, array in feeds.items()}, int8.mean, int8.std, seed
    )
    calibration, evaluation, held = split_samples(samples, feeds if given else None)
    config: dict[str, Any] = {
        "quantized_dtype": "w8a8",
        "quantized_algorithm": int8.algorithm,
        "quantized_method": int8.method,
    }
    count = len(evaluation[0])
    for key, values in (("mean_values", int8.mean), ("std_values", int8.std)):
        if values:
            config[key] = [list(values)] * count  # one list per model input, as rknn.config takes them
    build = {
        "chip": chip,
        "dtype": "int8",
        "config": config,
        "calibration": {"source": samples.source, "generated": samples.generated, "samples": len(calibration)},
        "evaluation": held,
        "notes": samples.notes,
    }
    return (
        evaluation[0],
        raw_values(evaluation[0], int8.mean, int8.std),
        [raw_values(sample, int8.mean, int8.std) for sample in calibration],
        build,
    )


def _dump_files(listing) -> list[tuple[str, str]]:
    """(tensor name, dump file) pairs of accuracy_analysis's map_name_to_file.txt, in its (topological) order."""
    pairs = []
    for line in listing.read_text().splitlines()[2:]:  # a header row and a rule
        parts = line.split()
        if len(parts) == 2:
            pairs.append((parts[0], parts[1]))
    return pairs


def _compare_one(name: str, node, value_a, value_b, tolerance: Tolerance) -> TensorResult:
    import numpy as np

    array_a, array_b = np.asarray(value_a), np.asarray(value_b)
    base = {"tensor": name, "node": node.name, "op_type": node.op_type, "shape": list(array_a.shape)}
    if array_a.shape != array_b.shape:
        return TensorResult(
            **base, metrics=None, ok=False, problem=f"shapes differ: {list(array_a.shape)} vs {list(array_b.shape)}"
        )
    if array_a.dtype.kind not in "biuf" or array_b.dtype.kind not in "biuf":
        same = bool(np.array_equal(array_a, array_b))
        return TensorResult(**base, metrics=None, ok=same, problem=None if same else "non-numeric values differ")
    metrics = compare(array_a, array_b, tolerance)
    return TensorResult(**base, metrics=metrics, ok=metrics.within(tolerance))


def _origin(tensors: list[TensorResult], producer: Mapping[str, Any], inputs: set[str]) -> TensorResult | None:
    ok = {t.tensor: t.ok for t in tensors}
    ok.update((name, True) for name in inputs)  # both sides get the same input data
    for result in tensors:
        if result.ok:
            continue
        node = producer.get(result.tensor)
        if node is None or all(ok[name] for name in node.inputs if name in ok):
            return result
    return None
