"""`onnxlint compare A.onnx B.onnx`: layer by layer, where do two models stop agreeing?

Both models run in onnxruntime (graph optimisations off) on the same inputs, with every intermediate tensor they
share by name exposed as an output. Tensors are compared in A's topological order. The divergence origin is the
first node whose own output leaves tolerance while every input of it that both sides share is within it: the
node that introduced the difference, not merely the first bad tensor downstream of it.

Memory stays bounded on big models, and each model's weights are held once, by onnxruntime: each file is parsed
once, without shape inference, to vet it and learn its nodes (then dropped); onnxruntime reads the file itself. The
two models run one after the other, as Polygraphy's two runs do: A's exposed tensors are written to a temporary
folder chunk by chunk, then read back one chunk at a time as B produces the same tensors. At most one session and
one chunk of tensors from each model are held at a time.
"""

from __future__ import annotations

import gc
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from onnxlint.confirm.metrics import COSINE_FP16, Metrics, Tolerance, compare

if TYPE_CHECKING:
    import numpy as np

# numpy, onnx, onnxruntime and the runner load in the child process that compares: `onnxlint compare` itself (the
# parent, which only waits) then holds little, and the process tree's memory is the child's.

CHUNK = 256


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
        return {"tensor": self.tensor, "node": self.node, "op_type": self.op_type, "shape": self.shape,
                "max_abs": values.get("max_abs"), "max_rel": values.get("max_rel"),
                "mismatch_ratio": values.get("mismatch_ratio"), "cosine": values.get("cosine"), "ok": self.ok,
                "problem": self.problem}


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
            "first_divergence": None if origin is None else {
                "tensor": origin.tensor, "node": origin.node, "op_type": origin.op_type,
                "metrics": origin.metrics.to_dict() if origin.metrics else None, "problem": origin.problem},
            "outputs": [by_name[name].to_dict() for name in self.outputs if name in by_name],
        }


def compare_models(a: str | os.PathLike[str], b: str | os.PathLike[str], seed: int = 0,
                   given: Mapping[str, np.ndarray] | None = None, tolerance: Tolerance = Tolerance(),
                   chunk: int = CHUNK, progress: Callable[[int, int], None] | None = None) -> Comparison:
    """Compare every tensor A and B share by name; `progress(done, total)` is called after each chunk of each
    model's run (total: twice the chunks). Raises ModelLoadError for a file lint would refuse (the same vetting:
    parse, external data, cycles), ValueError for models that cannot be compared."""
    from onnxlint.confirm.inputs import input_specs, random_inputs
    from onnxlint.core.graph import build_graphs
    from onnxlint.core.model import load_model

    _return_large_blocks()
    vetted = load_model(a, infer=False)  # A's topological order, kept as plain records; the proto is dropped
    order = [_NodeRecord(n.name, n.op_type, n.inputs, n.outputs) for n in build_graphs(vetted)[0].nodes]
    feeds = random_inputs(vetted.proto, seed=seed, given=given)
    specs_a, outputs = input_specs(vetted.proto), [value.name for value in vetted.proto.graph.output]
    external_a = vetted.has_external_data
    del vetted
    vetted = load_model(b, infer=False)
    build_graphs(vetted)  # refuses a cycle, as lint does
    specs_b, outputs_b = input_specs(vetted.proto), [value.name for value in vetted.proto.graph.output]
    produced_b = {name for node in vetted.proto.graph.node for name in node.output if name}
    external_b = vetted.has_external_data
    del vetted
    _release_freed_memory()
    _check_inputs(a, b, specs_a, specs_b, feeds, given or {})
    producer: dict[str, Any] = {}
    shared: list[str] = []
    for node in order:
        for name in node.outputs:
            if name and name in produced_b and name not in producer:
                producer[name] = node
                shared.append(name)
    if not shared:
        raise ValueError("the models share no tensor names: nothing to compare")
    comparison = Comparison(a=str(a), b=str(b), seed=seed,
                            input_shapes={k: list(v.shape) for k, v in feeds.items()}, tolerance=tolerance,
                            outputs=outputs)
    chunks = [shared[start:start + chunk] for start in range(0, len(shared), chunk)]
    with tempfile.TemporaryDirectory(prefix="onnxlint-compare-") as folder:
        kept = Path(folder)
        run = _session(a, shared, outputs, external_a, kept)
        for index, names in enumerate(chunks):
            with open(kept / f"{index}.pickle", "wb") as file:
                for value in run(feeds, names):  # one pickle per tensor, read back one at a time
                    pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
            if progress:
                progress(index + 1, 2 * len(chunks))
        del run  # A's session goes before B's comes
        _release_freed_memory()
        run = _session(b, shared, outputs_b, external_b, kept)
        for index, names in enumerate(chunks):
            values_b = run(feeds, names)
            with open(kept / f"{index}.pickle", "rb") as file:  # written by this process, in its own folder
                for position, name in enumerate(names):
                    value_b, values_b[position] = values_b[position], None
                    comparison.tensors.append(_compare_one(name, producer[name], pickle.load(file), value_b,
                                                           tolerance))
            os.unlink(kept / f"{index}.pickle")
            if progress:
                progress(len(chunks) + index + 1, 2 * len(chunks))
        del run
    comparison.first_divergence = _origin(comparison.tensors, producer, set(feeds))
    return comparison


def _return_large_blocks() -> None:
    """Have glibc map every large block on its own and unmap it when freed (a fixed mmap threshold): by default
    the threshold grows as large blocks are freed, and the weights of the parsed protos, then onnxruntime's copies
    while it builds a session, pile up in the heap instead of going back. Only the comparing child does this."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-3, 1 << 17)  # M_MMAP_THRESHOLD: 128 KiB, glibc's default start
    except (OSError, AttributeError):
        pass


def _release_freed_memory() -> None:
    """Give the memory of the dropped protos back to the system now: glibc keeps large freed blocks in the heap
    (its mmap threshold grows as they are freed), and the session made next would count on top of them."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim, or nothing we can ask
        pass


def _session(path, shared: list[str], outputs: list[str], external_data: bool, folder: Path):
    """A session of the model file with the shared tensors exposed; ValueError, in one line, when onnxruntime
    refuses the model."""
    from onnxlint.confirm.runner import file_runner

    try:
        run = file_runner(path, shared, outputs, external_data, folder)
        _release_freed_memory()  # what onnxruntime parsed on the way to its initialised tensors
        return run
    except Exception as exc:  # onnxruntime's errors (Fail, InvalidGraph, ...) derive from Exception only
        raise ValueError(f"{path}: onnxruntime refuses the model: {' '.join(str(exc).split())}") from None


def _check_inputs(a, b, specs_a: list, specs_b: list, feeds: Mapping[str, np.ndarray],
                  given: Mapping[str, np.ndarray]) -> None:
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
                raise ValueError(f"--inputs: '{name}' is {_declared(array.dtype, array.shape)}, but {path} takes "
                                 f"{_declared(dtype, shape)}")
            raise ValueError(f"the models' inputs differ: '{name}' is {_declared(*declared_a[name])} in {a} and "
                             f"{_declared(dtype, shape)} in {b}")


def _fits(array: np.ndarray, dtype: np.dtype, shape: tuple) -> bool:
    """Whether a model input declared (dtype, shape) takes `array`: symbolic dims take any size; an input
    without a declared shape takes any rank."""
    if array.dtype != dtype or (shape and array.ndim != len(shape)):
        return False
    return all(not isinstance(dim, int) or dim < 0 or dim == size for dim, size in zip(shape, array.shape))


def _declared(dtype, shape) -> str:
    import numpy as np

    return f"{np.dtype(dtype)} [{', '.join(str(dim) for dim in shape)}]"


def compare_with_rknn(a: str | os.PathLike[str], chip: str, seed: int = 0,
                      given: Mapping[str, np.ndarray] | None = None,
                      tolerance: Tolerance = Tolerance(min_cosine=COSINE_FP16), timeout: int = 900) -> Comparison:
    """Compare the toolkit's fp32 reference of A with its simulator on `chip`, layer by layer, from the per-layer
    dumps of rknn-toolkit2's accuracy_analysis (read one tensor pair at a time)."""
    import tempfile
    from pathlib import Path

    import numpy as np
    import onnx

    from onnxlint.rknn import toolkit
    from onnxlint.confirm.inputs import random_inputs
    from onnxlint.core.graph import build_graphs
    from onnxlint.core.model import load_model

    model_a = onnx.load(str(a), load_external_data=False)
    feeds = random_inputs(model_a, seed=seed, given=given)
    producer = {name: node for node in build_graphs(load_model(a))[0].nodes for name in node.outputs if name}
    comparison = Comparison(a=str(a), b=f"rknn:{chip}", seed=seed,
                            input_shapes={k: list(v.shape) for k, v in feeds.items()}, tolerance=tolerance,
                            outputs=[value.name for value in model_a.graph.output])
    with tempfile.TemporaryDirectory(prefix="onnxlint-accuracy-") as folder:
        dumps = Path(folder) / "snapshot"
        result = toolkit.accuracy_analysis(Path(a), chip, feeds, dumps, timeout=timeout)
        if result.failed_stage:
            raise RuntimeError(f"rknn-toolkit2 failed at {result.failed_stage}: "
                               f"{'; '.join(result.error_lines()) or 'no error line'}")
        for name, file in _dump_files(dumps / "map_name_to_file.txt"):
            if name in feeds:
                continue  # both sides get the same input
            golden = np.loadtxt(dumps / "golden" / file, dtype=np.float64, ndmin=1)
            simulated = np.loadtxt(dumps / "simulator" / file, dtype=np.float64, ndmin=1)
            node = producer.get(name)
            metrics = compare(golden, simulated, tolerance) if golden.shape == simulated.shape else None
            comparison.tensors.append(TensorResult(
                tensor=name, node=node.name if node else None, op_type=node.op_type if node else None,
                shape=[int(golden.size)], metrics=metrics, ok=bool(metrics and metrics.within(tolerance)),
                problem=None if metrics else f"sizes differ: {golden.size} vs {simulated.size}"))
    comparison.first_divergence = _origin(comparison.tensors, producer, set(feeds))
    return comparison


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
        return TensorResult(**base, metrics=None, ok=False, problem=f"shapes differ: {list(array_a.shape)} vs "
                                                                      f"{list(array_b.shape)}")
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
