"""Which output dims are really fixed, and which follow an input's dynamic axis?

Symbolic shape inference cannot divide symbols, so an output like YOLO's [batch, 3*(H/8*W/8+...), 85]
comes out unknown. Instead, give every dynamic input dim a concrete value, infer again, and repeat
with other values: a dim that keeps one value is fixed; a dim that always equals one input dim's
value follows that axis. Two probes with distinct multiples of 64 (valid strides for detectors).

onnx's data propagation does not cover every opset (the legacy exporter's opset-12 Unsqueeze is not
propagated), so under concrete sizes the shape arithmetic (Shape -> Gather -> Concat -> Reshape) is
also folded here, with onnx's reference evaluator, a few small tensors at a time.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import onnx
from onnx import helper, numpy_helper

from onnxlint.model import LoadedModel, UnreadableTensor, type_and_shape

# Ops that compute shapes and indices; folded when their inputs are known and small.
SHAPE_OPS = frozenset({"Constant", "Shape", "Size", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice",
                       "Mul", "Add", "Sub", "Div", "Floor", "Ceil", "Identity", "Reshape", "Range", "Equal",
                       "Where", "ReduceProd", "Min", "Max", "Neg", "Abs", "Mod"})
MAX_FOLDED_ELEMENTS = 1024
MAX_FOLD_ROUNDS = 8

Shape = tuple[int | str | None, ...]


@dataclass(frozen=True)
class ProbeRun:
    """Shape inference with every dynamic input dim set to a concrete size."""

    given: dict[tuple[str, int], int]  # {(input name, axis): size}
    outputs: dict[str, Shape | None]  # {output name: inferred shape}
    failure: str | None  # strict inference's complaint at these sizes, if any (uniform runs only: the distinct
    # runs are asked for their output shapes alone and leave it None)


class DimProbe:
    """Two runs with distinct sizes per symbol (tell fixed dims from followed ones) and, when the model has
    dynamic dims, one run with every dynamic dim the same size (a model may need H == W, say).

    Each run is a whole-model shape inference, so each is made on first use: a model whose declared outputs
    are all fixed never needs the distinct runs, and a rule that is skipped never pays for the uniform one."""

    def __init__(self, model: LoadedModel, dynamic: list[tuple[str, int]]):
        self._model = model
        self._dynamic = dynamic
        self._base: tuple[onnx.ModelProto, list[tuple[int, list[str]]]] | None = None

    @cached_property
    def distinct(self) -> tuple[ProbeRun, ...]:
        model, dynamic = self._model, self._dynamic
        if not dynamic:
            declared_fixed = all(isinstance(d, int) for v in model.declared_outputs for d in (v.shape or (None,)))
            if declared_fixed:  # nothing to prove: the model's own inference is the answer, no second pass
                outputs = {v.name: type_and_shape(v.type)[1] for v in model.inference.model.graph.output}
                return (ProbeRun({}, outputs, None),)
            return (self._run({}, failure=False),)
        symbols = sorted({_symbol(model, where) for where in dynamic})
        runs = []
        for offset in (2, 3):  # 128, 256, ... and 192, 320, ...: distinct within and across probes
            by_symbol = {symbol: 64 * (2 * i + offset) for i, symbol in enumerate(symbols)}
            runs.append(self._run({where: by_symbol[_symbol(model, where)] for where in dynamic}, failure=False))
        return tuple(runs)

    @cached_property
    def uniform(self) -> ProbeRun | None:
        if not self._dynamic:
            return None
        return self._run({where: UNIFORM_SIZE for where in self._dynamic}, failure=True)

    def fixed_value(self, output: str, axis: int) -> int | None:
        """The output dim's value when every probe agrees on one int, else None."""
        values = {_dim(run.outputs.get(output), axis) for run in self.distinct}
        if len(values) == 1:
            (value,) = values
            return value if isinstance(value, int) else None
        return None

    def source_axis(self, output: str, axis: int) -> tuple[str, int] | None:
        """The (input, axis) whose value the output dim equals in every probe, if there is one."""
        if not self._dynamic:  # no uniform run: nothing to follow
            return None
        candidates = None
        for run in self.distinct:
            value = _dim(run.outputs.get(output), axis)
            matches = {where for where, size in run.given.items() if size == value}
            candidates = matches if candidates is None else candidates & matches
        return min(candidates) if candidates and len(candidates) == 1 else None

    @property
    def unsupported(self) -> ProbeRun | None:
        """A run that fails even with every dynamic dim the same size: the model is not dynamic at all."""
        if self.uniform is not None and self.uniform.failure:
            return self.uniform
        return None

    def _run(self, given: dict[tuple[str, int], int], failure: bool) -> ProbeRun:
        if self._base is None:
            base = _probe_base(self._model)
            self._base = base, _foldable(base)
        return _run(self._model, *self._base, given, failure)


# The size every dynamic dim gets in the uniform probe: a multiple of 64, valid for detector strides.
UNIFORM_SIZE = 256


def probe_dims(model: LoadedModel) -> DimProbe:
    dynamic = [(value.name, axis) for value in model.declared_inputs for axis, dim in enumerate(value.shape or ())
               if not isinstance(dim, int) or dim <= 0]
    return DimProbe(model, dynamic)


def _symbol(model: LoadedModel, where: tuple[str, int]) -> str:
    """A named dim shares its value with every dim of the same name; an unnamed dim stands alone."""
    name, axis = where
    dim = next(v.shape[axis] for v in model.declared_inputs if v.name == name)
    return dim if isinstance(dim, str) else f"\0{name}:{axis}"


def _probe_base(model: LoadedModel) -> onnx.ModelProto:
    """The inferred model without the main graph's inferred types, output shapes cleared: made once, and
    each probe copies this instead of the inferred model with a type for every tensor."""
    base = onnx.ModelProto()
    base.CopyFrom(model.inference.model)
    del base.graph.value_info[:]  # inferred under symbolic dims: would conflict with the concrete ones
    for value in base.graph.output:
        value.type.tensor_type.ClearField("shape")
    return base


def _run(model: LoadedModel, base: onnx.ModelProto, foldable: list[tuple[int, list[str]]],
         given: dict[tuple[str, int], int], failure: bool) -> ProbeRun:
    """One probe at the given sizes; `failure` asks for strict inference's verdict too."""
    probe = onnx.ModelProto()
    probe.CopyFrom(base)
    for value in probe.graph.input:
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if (value.name, axis) in given:
                dim.Clear()
                dim.dim_value = given[(value.name, axis)]
    try:
        inferred, known, strict_passed = _fold_shape_arithmetic(model, probe, failure, foldable)
    except Exception:  # a probe that cannot be evaluated proves nothing either way
        return ProbeRun(given, {}, None)
    outputs = {value.name: type_and_shape(value.type)[1] for value in inferred.graph.output}
    if not failure:
        return ProbeRun(given, outputs, None)
    try:
        if not strict_passed:  # the last round was not strict: ask again, for onnx's own message
            onnx.shape_inference.infer_shapes(inferred, strict_mode=True, data_prop=True)
        problem = _reshape_mismatch(inferred, known)
    except Exception as exc:
        problem = " ".join(str(exc).split()) or type(exc).__name__
    return ProbeRun(given, outputs, problem)


def _reshape_mismatch(inferred: onnx.ModelProto, known: dict) -> str | None:
    """A Reshape whose element counts differ: onnx's inference does not check this, onnxruntime fails on it."""
    shapes = _Shapes(inferred.graph, initializers=False)
    for node in inferred.graph.node:
        if node.op_type != "Reshape" or node.domain not in ("", "ai.onnx") or node.input[1] not in known:
            continue
        source, target = shapes.get(node.input[0]), [int(d) for d in known[node.input[1]].reshape(-1)]
        if source is None or not all(isinstance(d, int) for d in source) or any(d <= 0 for d in target):
            continue  # -1 and 0 are resolved from the input: nothing to contradict
        if math.prod(source) != math.prod(target):
            return (f"(op_type:Reshape, node name: {node.name}): [ShapeInferenceError] cannot reshape "
                    f"{list(source)}, {math.prod(source)} elements, to {target}, {math.prod(target)} elements")
    return None


class _Shapes:
    """{tensor: shape} over a graph's inputs, inferred types (which win) and, if asked, initializer dims (which
    win over both), indexed on the first lookup: most probes never look a shape up."""

    def __init__(self, graph: onnx.GraphProto, initializers: bool):
        self._graph = graph
        self._initializers = initializers
        self._types: dict[str, onnx.ValueInfoProto] | None = None
        self._dims: dict[str, tuple[int, ...]] = {}

    def get(self, name: str) -> Shape | None:
        if self._types is None:
            self._types = {v.name: v for v in [*self._graph.input, *self._graph.value_info]}
            if self._initializers:
                self._dims = {t.name: tuple(t.dims) for t in self._graph.initializer}
        if name in self._dims:
            return self._dims[name]
        value = self._types.get(name)
        return None if value is None else type_and_shape(value.type)[1]


def _infer(probe: onnx.ModelProto, strict: bool) -> tuple[onnx.ModelProto, bool]:
    """onnx's inference with data propagation; when `strict`, strict first, which returns the same model when it
    passes, so that a probe that needs the verdict does not infer twice. Returns (model, strict passed)."""
    if strict:
        try:
            return onnx.shape_inference.infer_shapes(probe, strict_mode=True, data_prop=True), True
        except Exception:
            pass
    return onnx.shape_inference.infer_shapes(probe, data_prop=True), False


def _foldable(probe: onnx.ModelProto) -> list[tuple[int, list[str]]]:
    """(position, non-empty inputs) of the nodes that shape arithmetic may fold."""
    return [(position, [name for name in node.input if name]) for position, node in enumerate(probe.graph.node)
            if node.op_type in SHAPE_OPS and node.domain in ("", "ai.onnx") and len(node.output) == 1]


def _fold_shape_arithmetic(model: LoadedModel, probe: onnx.ModelProto, strict: bool = False,
                           foldable: list[tuple[int, list[str]]] | None = None) -> tuple[onnx.ModelProto, dict, bool]:
    """Infer shapes, fold the shape computations that became constant, and repeat until nothing folds.

    Returns the inferred model, {tensor: value} of every small constant known along the way, and whether
    the last inference was strict and passed (only tried when `strict`)."""
    opset = next((o.version for o in probe.opset_import if o.domain in ("", "ai.onnx")), None)
    known = {}
    for tensor in probe.graph.initializer:
        if _small(tensor.dims):
            try:
                known[tensor.name] = model.read_tensor(tensor)
            except UnreadableTensor:
                continue  # a malformed constant is unknown: what it feeds is not folded
    if foldable is None:
        foldable = _foldable(probe)
    nodes = probe.graph.node
    candidates = [(nodes[position], inputs) for position, inputs in foldable]
    for _ in range(MAX_FOLD_ROUNDS):
        inferred, strict_passed = _infer(probe, strict)
        if opset is None:
            return inferred, known, strict_passed
        shapes = _Shapes(inferred.graph, initializers=True)
        folded_nodes = []
        for node, inputs in candidates:
            # Only Shape and Size read shapes; any other node folds once all its inputs are known.
            if node.op_type not in ("Shape", "Size") and not all(name in known for name in inputs):
                continue
            value = _evaluate(node, opset, known, shapes)
            if value is not None and value.size <= MAX_FOLDED_ELEMENTS:
                known[node.output[0]] = value
                folded_nodes.append(node)
        if not folded_nodes:
            return inferred, known, strict_passed
        folded = {id(node) for node in folded_nodes}
        candidates = [(node, inputs) for node, inputs in candidates if id(node) not in folded]
        for node in folded_nodes:
            probe.graph.node.remove(node)
            probe.graph.initializer.append(numpy_helper.from_array(known[node.output[0]], node.output[0]))
    inferred, strict_passed = _infer(probe, strict)
    return inferred, known, strict_passed


def _evaluate(node: onnx.NodeProto, opset: int, known: dict, shapes: "_Shapes") -> np.ndarray | None:
    if node.op_type in ("Shape", "Size"):
        shape = shapes.get(node.input[0])
        if shape is None or not all(isinstance(d, int) for d in shape):
            return None
        if node.op_type == "Size":
            return np.asarray(int(np.prod(shape)), dtype=np.int64)
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        return np.asarray(shape[attrs.get("start", 0):attrs.get("end", None)], dtype=np.int64)
    inputs = [name for name in node.input if name]
    if not all(name in known for name in inputs):
        return None
    graph = helper.make_graph(
        [node], "fold", [helper.make_tensor_value_info(n, onnx.TensorProto.UNDEFINED, None) for n in inputs],
        [helper.make_tensor_value_info(node.output[0], onnx.TensorProto.UNDEFINED, None)])
    single = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    from onnx.reference import ReferenceEvaluator  # heavy: only on this path

    with warnings.catch_warnings():  # numpy deprecations inside onnx's reference kernels are not ours
        warnings.simplefilter("ignore", DeprecationWarning)
        (result,) = ReferenceEvaluator(single).run(None, {n: known[n] for n in inputs})
    return np.asarray(result)


def _small(dims) -> bool:
    return int(np.prod(dims, dtype=np.int64)) <= MAX_FOLDED_ELEMENTS


def _dim(shape: Shape | None, axis: int):
    if shape is None or axis >= len(shape):
        return None
    return shape[axis]
