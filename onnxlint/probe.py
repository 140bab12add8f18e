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
    failure: str | None  # strict inference's complaint at these sizes, if any


@dataclass(frozen=True)
class DimProbe:
    # Two runs with distinct sizes per symbol (tell fixed dims from followed ones) and, when the model has
    # dynamic dims, one run with every dynamic dim the same size (a model may need H == W, say).
    distinct: tuple[ProbeRun, ...]
    uniform: ProbeRun | None

    def fixed_value(self, output: str, axis: int) -> int | None:
        """The output dim's value when every probe agrees on one int, else None."""
        values = {_dim(run.outputs.get(output), axis) for run in self.distinct}
        if len(values) == 1:
            (value,) = values
            return value if isinstance(value, int) else None
        return None

    def source_axis(self, output: str, axis: int) -> tuple[str, int] | None:
        """The (input, axis) whose value the output dim equals in every probe, if there is one."""
        if self.uniform is None:
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


# The size every dynamic dim gets in the uniform probe: a multiple of 64, valid for detector strides.
UNIFORM_SIZE = 256


def probe_dims(model: LoadedModel) -> DimProbe:
    dynamic = [(value.name, axis) for value in model.declared_inputs for axis, dim in enumerate(value.shape or ())
               if not isinstance(dim, int) or dim <= 0]
    if not dynamic:
        declared_fixed = all(isinstance(d, int) for v in model.declared_outputs for d in (v.shape or (None,)))
        if declared_fixed:  # nothing to prove: the model's own inference is the answer, no second pass
            outputs = {v.name: type_and_shape(v.type)[1] for v in model.inference.model.graph.output}
            return DimProbe((ProbeRun({}, outputs, None),), None)
        return DimProbe((_run(model, {}),), None)
    symbols = sorted({_symbol(model, where) for where in dynamic})
    runs = []
    for offset in (2, 3):  # 128, 256, ... and 192, 320, ...: distinct within and across probes
        by_symbol = {symbol: 64 * (2 * i + offset) for i, symbol in enumerate(symbols)}
        runs.append(_run(model, {where: by_symbol[_symbol(model, where)] for where in dynamic}))
    return DimProbe(tuple(runs), _run(model, {where: UNIFORM_SIZE for where in dynamic}))


def _symbol(model: LoadedModel, where: tuple[str, int]) -> str:
    """A named dim shares its value with every dim of the same name; an unnamed dim stands alone."""
    name, axis = where
    dim = next(v.shape[axis] for v in model.declared_inputs if v.name == name)
    return dim if isinstance(dim, str) else f"\0{name}:{axis}"


def _run(model: LoadedModel, given: dict[tuple[str, int], int]) -> ProbeRun:
    probe = onnx.ModelProto()
    probe.CopyFrom(model.inference.model)
    graph = probe.graph
    del graph.value_info[:]  # inferred under symbolic dims: would conflict with the concrete ones
    for value in graph.input:
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if (value.name, axis) in given:
                dim.Clear()
                dim.dim_value = given[(value.name, axis)]
    for value in graph.output:
        value.type.tensor_type.ClearField("shape")
    try:
        inferred, known = _fold_shape_arithmetic(model, probe)
    except Exception:  # a probe that cannot be evaluated proves nothing either way
        return ProbeRun(given, {}, None)
    outputs = {value.name: type_and_shape(value.type)[1] for value in inferred.graph.output}
    try:
        onnx.shape_inference.infer_shapes(inferred, strict_mode=True, data_prop=True)
        failure = _reshape_mismatch(inferred, known)
    except Exception as exc:
        failure = " ".join(str(exc).split()) or type(exc).__name__
    return ProbeRun(given, outputs, failure)


def _reshape_mismatch(inferred: onnx.ModelProto, known: dict) -> str | None:
    """A Reshape whose element counts differ: onnx's inference does not check this, onnxruntime fails on it."""
    shapes = {v.name: type_and_shape(v.type)[1] for v in [*inferred.graph.input, *inferred.graph.value_info]}
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


def _fold_shape_arithmetic(model: LoadedModel, probe: onnx.ModelProto) -> tuple[onnx.ModelProto, dict]:
    """Infer shapes, fold the shape computations that became constant, and repeat until nothing folds.

    Returns the inferred model and {tensor: value} of every small constant known along the way."""
    opset = next((o.version for o in probe.opset_import if o.domain in ("", "ai.onnx")), None)
    known = {}
    for tensor in probe.graph.initializer:
        if _small(tensor.dims):
            try:
                known[tensor.name] = model.read_tensor(tensor)
            except UnreadableTensor:
                continue  # a malformed constant is unknown: what it feeds is not folded
    for _ in range(MAX_FOLD_ROUNDS):
        inferred = onnx.shape_inference.infer_shapes(probe, data_prop=True)
        if opset is None:
            return inferred, known
        shapes = {v.name: type_and_shape(v.type)[1] for v in [*inferred.graph.input, *inferred.graph.value_info]}
        shapes.update((t.name, tuple(t.dims)) for t in inferred.graph.initializer)
        folded_nodes = []
        for node in probe.graph.node:
            if node.op_type not in SHAPE_OPS or node.domain not in ("", "ai.onnx") or len(node.output) != 1:
                continue
            value = _evaluate(node, opset, known, shapes)
            if value is not None and value.size <= MAX_FOLDED_ELEMENTS:
                known[node.output[0]] = value
                folded_nodes.append(node)
        if not folded_nodes:
            return inferred, known
        for node in folded_nodes:
            probe.graph.node.remove(node)
            probe.graph.initializer.append(numpy_helper.from_array(known[node.output[0]], node.output[0]))
    return onnx.shape_inference.infer_shapes(probe, data_prop=True), known


def _evaluate(node: onnx.NodeProto, opset: int, known: dict, shapes: dict) -> np.ndarray | None:
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
