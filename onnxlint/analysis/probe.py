"""Which output dims are really fixed, and which follow an input's dynamic axis?

First from the model's own symbolic inference (made at load): an output dim inferred as a positive int is
fixed; one inferred as the name of exactly one dynamic input axis follows that axis. Symbolic inference cannot
divide symbols, though, so an output like YOLO's [batch, 3*(H/8*W/8+...), 85] comes out unknown. For those dims
only, give every dynamic input dim a concrete value, infer again, and repeat with other values: a dim that keeps
one value is fixed; a dim that always equals one input dim's value follows that axis. Two probes with distinct
multiples of 64 (valid strides for detectors), grown fourfold while the model's outputs do not come out at
positive sizes: a run that fails, or an output with no elements, is a size too small for the model (an audio
front end whose window does not fit), never evidence of a fixed dim.

onnx's data propagation does not cover every opset (the legacy exporter's opset-12 Unsqueeze is not
propagated), so under concrete sizes the shape arithmetic (Shape -> Gather -> Concat -> Reshape) is
also folded here, with onnx's reference evaluator, a few small tensors at a time.

A failed inference is evidence only of what it can show. Each node onnx names is inferred again on its own, with
its inputs' types at those sizes: a node that then passes failed in data propagation alone, which onnxruntime never
runs (an audio front end's `Unsqueeze(lengths) - range`), so the run counts as passed. And a model is called
fixed-size only when a failing node passes once the dims that differ between the sizes tried are left symbolic: a
conflict between dims that stay the same at every size is not caused by the size, but by onnx's inference at
concrete sizes (onnx's STFT gives `frame_length` bins where the spectrum has `frame_length / 2 + 1`).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import onnx
from onnx import helper, numpy_helper

from onnxlint.core.model import LoadedModel, UnreadableTensor, type_and_shape

if TYPE_CHECKING:
    from onnxlint.core.graph import GraphView

# Ops that compute shapes and indices; folded when their inputs are known and small.
SHAPE_OPS = frozenset(
    {
        "Constant",
        "Shape",
        "Size",
        "Gather",
        "Unsqueeze",
        "Squeeze",
        "Concat",
        "Cast",
        "Slice",
        "Mul",
        "Add",
        "Sub",
        "Div",
        "Floor",
        "Ceil",
        "Identity",
        "Reshape",
        "Range",
        "Equal",
        "Where",
        "ReduceProd",
        "Min",
        "Max",
        "Neg",
        "Abs",
        "Mod",
    }
)
MAX_FOLDED_ELEMENTS = 1024
MAX_FOLD_ROUNDS = 8
# A probe whose outputs do not come out positive is tried again with every size four times larger, this many
# times at most: 128 samples grow to 32768, 256 pixels to 65536.
GROWTHS = 4
GROWTH_FACTOR = 4

Shape = tuple[int | str | None, ...]

# How onnx's inference names a node in its messages: "(op_type:Add, node name: /model.24/Add): [ShapeInferenceError]
# Incompatible dimensions", or "(op_type:Add): ..." for a node without a name (group 2 is then None).
NODE_ERROR = re.compile(r"\(op_type:(\w+)(?:, node name: ([^)]*))?\)(?:: \[\w+\] ([^(]*))?")
SUBGRAPH_ATTRIBUTES = (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)


@dataclass(frozen=True)
class NodeCheck:
    """A node onnx's inference names in a failed run, inferred again on its own at that run's sizes."""

    node: onnx.NodeProto
    inputs: tuple[onnx.TypeProto, ...]  # the inferred type of each input (empty for an omitted optional one)
    constants: dict[str, np.ndarray]  # the inputs whose values are known at these sizes
    error: str | None  # the node's own inference error; None when it passes on its own


@dataclass(frozen=True)
class ProbeRun:
    """Shape inference with every dynamic input dim set to a concrete size."""

    given: dict[tuple[str, int], int]  # {(input name, axis): size}
    outputs: dict[str, Shape | None]  # {output name: inferred shape}
    failure: str | None  # strict inference's complaint at these sizes, if any (uniform runs only: the distinct
    # runs are asked for their output shapes alone and leave it None)
    too_small: bool = False  # some tensor came out with no elements (a 0 or negative dim): a window, kernel or
    # crop larger than the sizes given. Such a run proves nothing; the probe tries again at larger sizes.
    named: frozenset[tuple[str, str]] = frozenset()  # the (op type, node name) pairs the failure message gives,
    # with "" for a node without a name
    failing: tuple[NodeCheck, ...] | None = None  # the named nodes that fail on their own; None when the failure
    # cannot be tried node by node (a Reshape's element counts, a node outside the main graph): it stands as it is


class DimProbe:
    """Answers from the model's symbolic inference where it is conclusive; otherwise two runs with distinct
    sizes per symbol (tell fixed dims from followed ones). When the model has dynamic dims, one run with every
    dynamic dim the same size (a model may need H == W, say) tells whether it runs at another size at all,
    unless the graph is proved to (`_batch_polymorphic`).

    Each run is a whole-model shape inference, so each is made on first use and only when needed: a model whose
    declared-dynamic outputs symbolic inference already explains never needs the distinct runs, and a rule that
    is skipped never pays for the uniform one."""

    def __init__(self, model: LoadedModel, dynamic: list[tuple[str, int]], graph: GraphView | None = None):
        self._model = model
        self._dynamic = dynamic
        self._graph = graph
        self._base: tuple[onnx.ModelProto, list[tuple[int, list[str]]]] | None = None

    @cached_property
    def _symbolic(self) -> dict[str, Shape | None]:
        """{output: shape} as the model's own inference computed it, under the declared symbols."""
        return {v.name: type_and_shape(v.type)[1] for v in self._model.inference.model.graph.output}

    @cached_property
    def _input_axes_by_symbol(self) -> dict[str, list[tuple[str, int]]]:
        """{dim name: the dynamic input axes declared under it}."""
        axes: dict[str, list[tuple[str, int]]] = {}
        for where in self._dynamic:
            axes.setdefault(_symbol(self._model, where), []).append(where)
        return axes

    def _symbolic_answer(self, output: str, axis: int) -> tuple[bool, int | None, tuple[str, int] | None]:
        """(conclusive, fixed value, source axis) from symbolic inference alone."""
        dim = _dim(self._symbolic.get(output), axis)
        if isinstance(dim, int) and dim > 0:
            return True, dim, None
        if isinstance(dim, str) and dim in self._input_axes_by_symbol:
            axes = self._input_axes_by_symbol[dim]
            return True, None, axes[0] if len(axes) == 1 else None
        return False, None, None  # unknown, a symbol onnx invented (unk__N), or 0: ask concrete sizes

    @cached_property
    def distinct(self) -> tuple[ProbeRun, ...]:
        model, dynamic = self._model, self._dynamic
        if not dynamic:
            return (self._run({}, failure=False),)  # shape arithmetic folded under the declared sizes
        symbols = sorted(self._input_axes_by_symbol)
        uniform = self.uniform  # not None: there are dynamic dims
        runs = []
        for offset in (2, 3):  # 128, 256, ... and 192, 320, ...: distinct within and across probes
            if (
                offset == 3
                and len(symbols) == 1
                and uniform is not None
                and not uniform.failure
                and not uniform.too_small
            ):
                # One symbol: the uniform run (256) is as distinct from the first (128) as 192 would be, and it is
                # the run IO007 needs anyway.
                runs.append(uniform)
                continue
            for growth in range(GROWTHS + 1):
                scale = GROWTH_FACTOR**growth
                by_symbol = {symbol: 64 * (2 * i + offset) * scale for i, symbol in enumerate(symbols)}
                run = self._run({where: by_symbol[_symbol(model, where)] for where in dynamic}, failure=False)
                if not run.too_small:
                    break
            runs.append(run)
        return tuple(runs)

    @cached_property
    def uniform(self) -> ProbeRun | None:
        """Every dynamic dim at UNIFORM_SIZE, grown fourfold while some tensor comes out empty (a size too small
        for the model is no proof that it cannot run at other sizes). When no size fits, the run at UNIFORM_SIZE."""
        if not self._dynamic:
            return None
        first = None
        for growth in range(GROWTHS + 1):
            run = self._run(dict.fromkeys(self._dynamic, UNIFORM_SIZE * GROWTH_FACTOR**growth), failure=True)
            if not run.too_small:
                return run
            first = first or run
        return first

    def fixed_value(self, output: str, axis: int) -> int | None:
        """The output dim's value when symbolic inference says so, or when every conclusive probe agrees on one
        positive int, else None."""
        conclusive, fixed, _ = self._symbolic_answer(output, axis)
        if conclusive:
            return fixed
        runs = self.distinct
        if any(run.too_small or not run.outputs for run in runs):
            return None  # a run that failed, or at sizes too small for the model, proves nothing
        values = {_dim(run.outputs.get(output), axis) for run in runs}
        if len(values) == 1:
            (value,) = values
            return value if isinstance(value, int) and value > 0 else None
        return None

    def source_axis(self, output: str, axis: int) -> tuple[str, int] | None:
        """The (input, axis) whose value the output dim equals in every probe, if there is one."""
        if not self._dynamic:  # no dynamic input: nothing to follow
            return None
        conclusive, _, source = self._symbolic_answer(output, axis)
        if conclusive:
            return source
        candidates = None
        for run in self.distinct:
            value = _dim(run.outputs.get(output), axis)
            if run.too_small:
                return None
            if not isinstance(value, int) or value <= 0:
                return None
            matches = {where for where, size in run.given.items() if size == value}
            candidates = matches if candidates is None else candidates & matches
        return min(candidates) if candidates and len(candidates) == 1 else None

    @cached_property
    def unsupported(self) -> ProbeRun | None:
        """A run that fails with every dynamic dim the same size, and fails again at the other sizes tried: the
        model is not dynamic at all. A model that runs at one of them has a valid range (a BERT's position table
        stops at 128) rather than one fixed size. The failure must also depend on the size (`_size_dependent`);
        the run returned names the node that shows it first."""
        if not self._dynamic or self._batch_polymorphic:
            return None
        if self.uniform is None or not self.uniform.failure:
            return None
        others = []
        for size in OTHER_UNIFORM_SIZES:
            other = self._run(dict.fromkeys(self._dynamic, size), failure=True)
            if not other.failure and not other.too_small:
                return None
            others.append(other)
        if self.uniform.failing is None:
            return self.uniform
        for check in self.uniform.failing:
            if _size_dependent(self._probe_base()[0], check, others):
                first = next(_named_nodes(self.uniform.failure), None)
                return (
                    self.uniform
                    if first == (check.node.op_type, check.node.name)
                    else replace(self.uniform, failure=check.error)
                )
        return None

    @cached_property
    def _batch_polymorphic(self) -> bool:
        """Proof, from the graph's operators and the ranks symbolic inference gave, that strict inference passes
        at any one size of the dynamic dims: then the uniform run is not needed."""
        if self._graph is None or self._model.inference.strict_error:
            return False
        return batch_polymorphic(self._model, self._graph, self._dynamic)

    def _run(self, given: dict[tuple[str, int], int], failure: bool) -> ProbeRun:
        return _run(self._model, *self._probe_base(), given, failure)

    def _probe_base(self) -> tuple[onnx.ModelProto, list[tuple[int, list[str]]]]:
        """The model the runs start from, with its foldable nodes (made on the first run)."""
        if self._base is None:
            base = _probe_base(self._model)
            self._base = base, _foldable(base)
        return self._base


# The size every dynamic dim gets in the uniform probe: a multiple of 64, valid for detector strides.
UNIFORM_SIZE = 256
# Where the run at UNIFORM_SIZE fails, these are tried before a model is called fixed-size: one below the usual
# sequence limits (BERT's 128 positions) and export sizes (160, 224, 320, 640), one above them.
OTHER_UNIFORM_SIZES = (96, 1024)


def probe_dims(model: LoadedModel, graph: GraphView | None = None) -> DimProbe:
    """The probe of a model's declared-dynamic dims; `graph`, the main GraphView, lets it prove a graph
    batch-polymorphic instead of running it at another size."""
    dynamic = [
        (value.name, axis)
        for value in model.declared_inputs
        for axis, dim in enumerate(value.shape or ())
        if not isinstance(dim, int) or dim <= 0
    ]
    return DimProbe(model, dynamic, graph)


# Operators whose output has the shape of their first input, whatever the size of its axis 0.
SAME_SHAPE = frozenset(
    {
        "Relu",
        "Sigmoid",
        "Tanh",
        "LeakyRelu",
        "Elu",
        "Selu",
        "Celu",
        "HardSigmoid",
        "HardSwish",
        "Softplus",
        "Softsign",
        "Exp",
        "Log",
        "Sqrt",
        "Neg",
        "Abs",
        "Reciprocal",
        "Floor",
        "Ceil",
        "Round",
        "Sign",
        "Erf",
        "Identity",
        "Cast",
        "Not",
        "Sin",
        "Cos",
        "Mish",
        "Gelu",
        "Clip",
        "Dropout",
        "BatchNormalization",
        "InstanceNormalization",
        "LRN",
        "IsNaN",
        "IsInf",
        "ThresholdedRelu",
        "Shrink",
    }
)
# Elementwise with multidirectional broadcasting: safe when every input is axis-0 batched at the same rank, or
# static and unable to meet axis 0 (lower rank, or a 1 there).
BROADCAST = frozenset(
    {
        "Add",
        "Sub",
        "Mul",
        "Div",
        "Pow",
        "Max",
        "Min",
        "Sum",
        "Mean",
        "Equal",
        "Less",
        "Greater",
        "LessOrEqual",
        "GreaterOrEqual",
        "And",
        "Or",
        "Xor",
        "Mod",
        "Where",
        "PRelu",
    }
)
# Batch-first operators: the first input batched on axis 0, every other input static; output rank as given.
SPATIAL = frozenset(
    {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"}
)


def batch_polymorphic(model: LoadedModel, graph: GraphView, dynamic: list[tuple[str, int]]) -> bool:
    """Whether every tensor of the graph computed from the dynamic inputs is [N, static dims...] with N = the
    dynamic size, through operators that accept any N: then inference passes at any one size of N, as it did
    under the symbols at load (strict). Only axis-0 dynamic dims, one graph (no subgraphs, no functions) and the
    operators above, Softmax/LogSoftmax/Flatten/Concat not over axis 0 and Gemm/MatMul with static weights, qualify;
    anything else (a Reshape to constants, a cached grid broadcast against H and W) is left to the uniform run."""
    if any(axis != 0 for _, axis in dynamic) or graph.subgraphs or model.inference.model.functions:
        return False
    ranks: dict[str, int] = {}  # rank of each batched tensor
    for value in model.declared_inputs:
        if any(name == value.name for name, _ in dynamic):
            ranks[value.name] = len(value.shape or ())
    for node in graph.nodes:
        inputs = node.inputs
        batched = [name for name in inputs if name in ranks]
        if not batched:
            continue  # computed from constants alone: the same at every size
        op = node.op_type
        rank: int | None
        if (op in SAME_SHAPE or op in SPATIAL) and len(batched) == 1 and batched[0] == inputs[0] and not node.domain:
            rank = ranks[batched[0]]  # the common cases first, without the call below
        elif (
            op in BROADCAST
            and len(batched) == len(inputs) == 2
            and not node.domain
            and ranks[inputs[0]] == ranks[inputs[1]]
        ):
            rank = ranks[inputs[0]]
        else:
            rank = _batched_rank(graph, node, [name for name in inputs if name], batched, ranks)
        if rank is None:
            return False
        for name in node.outputs:
            if name:
                ranks[name] = rank
    return True


def _batched_rank(graph: GraphView, node, inputs: list[str], batched: list[str], ranks: dict[str, int]) -> int | None:
    """The rank of the node's outputs when it accepts any size of axis 0 of its batched inputs, else None."""
    op, first = node.op_type, inputs[0]
    rank: int | None
    if node.domain != "":
        return None
    if op in SAME_SHAPE or op in SPATIAL:
        return ranks[first] if first in ranks and len(batched) == 1 else None
    if op in BROADCAST:
        if op == "PRelu" and first not in ranks:
            return None  # the slope broadcasts to the input, never the other way
        rank = ranks[batched[0]]
        if len(batched) < len(inputs) or any(ranks[name] != rank for name in batched):
            for name in inputs:
                if name in ranks:
                    if ranks[name] != rank:
                        return None
                    continue
                shape = _static_shape(graph, name)
                if shape is None or len(shape) > rank or (len(shape) == rank and shape[0] != 1):
                    return None  # a constant that meets axis 0 with another size pins the batch
        return rank
    if op in ("Softmax", "LogSoftmax", "Flatten", "Concat", "LayerNormalization"):
        rank = ranks.get(first)
        if rank is None or any(ranks[name] != rank for name in batched):
            return None
        if len(batched) != (len(inputs) if op == "Concat" else 1):
            return None
        last_by_default = op == "LayerNormalization" or (op != "Flatten" and (graph.opset() or 0) >= 13)
        axis = node.attr("axis", -1 if last_by_default else 1)
        if not rank or not isinstance(axis, int) or axis % rank == 0:
            return None  # over axis 0 the batch would mix with the other dims
        return 2 if op == "Flatten" else rank
    if op in ("Gemm", "MatMul"):
        rank = ranks.get(first)
        weight = _static_shape(graph, inputs[1]) if len(inputs) > 1 and inputs[1] not in ranks else None
        if rank is None or rank < 2 or weight is None or len(weight) != 2 or len(batched) != 1:
            return None
        if op == "Gemm":
            bias = _static_shape(graph, inputs[2]) if len(inputs) > 2 else ()
            if rank != 2 or node.attr("transA", 0) or bias is None or (len(bias) == 2 and bias[0] != 1):
                return None
        return rank
    return None


def _static_shape(graph: GraphView, name: str) -> tuple[int, ...] | None:
    """The shape of a tensor computed without the dynamic inputs, when inference gave every dim as a number."""
    return _numeric(graph.shape(name))


def _numeric(shape: Shape | None) -> tuple[int, ...] | None:
    """The shape when every dim is a number, else None."""
    if shape is None:
        return None
    dims = tuple(d for d in shape if isinstance(d, int))
    return dims if len(dims) == len(shape) else None


def _symbol(model: LoadedModel, where: tuple[str, int]) -> str:
    """A named dim shares its value with every dim of the same name; an unnamed dim stands alone."""
    name, axis = where
    dim = next(v.shape[axis] for v in model.declared_inputs if v.name == name and v.shape is not None)
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


def _run(
    model: LoadedModel,
    base: onnx.ModelProto,
    foldable: list[tuple[int, list[str]]],
    given: dict[tuple[str, int], int],
    failure: bool,
) -> ProbeRun:
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
    empty_output = any(isinstance(d, int) and d <= 0 for shape in outputs.values() for d in shape or ())
    unknown_output = any(shape is None or not all(isinstance(d, int) for d in shape) for shape in outputs.values())
    if not failure:
        return ProbeRun(given, outputs, None, empty_output or (unknown_output and _empty_tensor(inferred)))
    named: frozenset[tuple[str, str]] = frozenset()
    failing: tuple[NodeCheck, ...] | None = None
    try:
        if not strict_passed:  # the last round was not strict: ask again, for onnx's own message
            onnx.shape_inference.infer_shapes(inferred, strict_mode=True, data_prop=True)
        problem = _reshape_mismatch(inferred, known)
    except Exception as exc:
        problem = " ".join(str(exc).split()) or type(exc).__name__
        named = frozenset(_named_nodes(problem))
        failing = _failing_alone(inferred, known, named)
        if failing == ():
            problem = None  # data propagation's complaint alone: onnxruntime never makes it
    too_small = empty_output or (problem is not None and _empty_tensor(inferred))
    return ProbeRun(given, outputs, problem, too_small, named, failing)


def _named_nodes(message: str) -> Iterator[tuple[str, str]]:
    """(op type, node name) of each node an inference message names, in order; "" for a node without a name."""
    for match in NODE_ERROR.finditer(message):
        yield match.group(1), (match.group(2) or "").strip()


def _failing_alone(
    inferred: onnx.ModelProto, known: dict, named: frozenset[tuple[str, str]]
) -> tuple[NodeCheck, ...] | None:
    """The named nodes that fail when inferred on their own (without data propagation) with their inputs' types at
    the run's sizes; None when a name is not a node of the main graph, or is a node with a subgraph (which reads
    the outer graph's tensors). Every node of an op type named without a node name is tried. A node with an input
    left without a type is skipped: an earlier failure left it so."""
    nodes = [node for node in inferred.graph.node if (node.op_type, node.name) in named]
    if (
        not named
        or {(node.op_type, node.name) for node in nodes} != named
        or any(attribute.type in SUBGRAPH_ATTRIBUTES for node in nodes for attribute in node.attribute)
    ):
        return None
    types = {v.name: v.type for v in [*inferred.graph.input, *inferred.graph.value_info]}
    for tensor in inferred.graph.initializer:
        types[tensor.name] = helper.make_tensor_type_proto(tensor.data_type, tensor.dims)
    failing = []
    for node in nodes:
        if not all(name == "" or _shaped(types.get(name)) for name in node.input):
            continue
        inputs = tuple(types[name] if name else onnx.TypeProto() for name in node.input)
        constants = {name: known[name] for name in node.input if name in known}
        error = _node_error(inferred, node, inputs, constants)
        if error is not None:
            failing.append(NodeCheck(node, inputs, constants, error))
    return tuple(failing)


def _shaped(type_proto: onnx.TypeProto | None) -> bool:
    return type_proto is not None and type_proto.HasField("tensor_type") and type_proto.tensor_type.HasField("shape")


def _node_error(
    model: onnx.ModelProto, node: onnx.NodeProto, inputs: tuple[onnx.TypeProto, ...], constants: dict[str, np.ndarray]
) -> str | None:
    """onnx's strict inference of the node alone, its inputs of the given types and values: the error, or None."""
    graph_inputs, initializers = [], []
    for name, type_proto in zip(node.input, inputs):
        if not name:
            continue
        if name in constants:
            initializers.append(numpy_helper.from_array(np.asarray(constants[name]), name))
        else:
            graph_inputs.append(helper.make_value_info(name, type_proto))
    graph = helper.make_graph(
        [node],
        "alone",
        graph_inputs,
        [helper.make_value_info(name, onnx.TypeProto()) for name in node.output if name],
        initializers,
    )
    single = helper.make_model(graph, opset_imports=model.opset_import, ir_version=model.ir_version)
    try:
        onnx.shape_inference.infer_shapes(single, strict_mode=True)
    except Exception as exc:
        return " ".join(str(exc).split()) or type(exc).__name__
    return None


def _size_dependent(model: onnx.ModelProto, check: NodeCheck, others: list[ProbeRun]) -> bool:
    """Whether the node's failure at the uniform size depends on the size: it passes at another size tried (a run
    whose failure does not name it), or it passes alone once every input dim, and every input value, that differs
    between the runs where it fails is left unknown. With no other run to compare, the failure stands."""
    same = [check]
    for run in others:
        if (check.node.op_type, check.node.name) not in run.named:
            return True
        same += [other for other in run.failing or () if other.node.output == check.node.output]
    if len(same) == 1:
        return True
    inputs = []
    for position, type_proto in enumerate(check.inputs):
        general = onnx.TypeProto()
        general.CopyFrom(type_proto)
        shapes = [type_and_shape(other.inputs[position])[1] for other in same]
        first, known = shapes[0], [shape for shape in shapes if shape is not None]
        if first is None or len(known) < len(shapes) or any(len(shape) != len(first) for shape in known):
            general.tensor_type.ClearField("shape")  # the rank differs too: leave the whole shape unknown
        else:
            for axis, dim in enumerate(general.tensor_type.shape.dim):
                if len({shape[axis] for shape in known}) > 1:
                    dim.Clear()
                    dim.dim_param = f"size_{position}_{axis}"
        inputs.append(general)
    constants = {
        name: value
        for name, value in check.constants.items()
        if all(name in other.constants and np.array_equal(other.constants[name], value) for other in same)
    }
    return _node_error(model, check.node, tuple(inputs), constants) is None


def _empty_tensor(inferred: onnx.ModelProto) -> bool:
    """Whether an inferred tensor of the main graph has a 0 or negative dim: a scan of every type, made only when
    a run is in doubt (it failed, or an output came out unknown) to tell sizes too small from other causes."""
    for value in inferred.graph.value_info:
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_value") and dim.dim_value <= 0:
                return True
    return False


def _reshape_mismatch(inferred: onnx.ModelProto, known: dict) -> str | None:
    """A Reshape whose element counts differ: onnx's inference does not check this, onnxruntime fails on it."""
    shapes = _Shapes(inferred.graph, initializers=False)
    for node in inferred.graph.node:
        if node.op_type != "Reshape" or node.domain not in ("", "ai.onnx") or node.input[1] not in known:
            continue
        source, target = _numeric(shapes.get(node.input[0])), [int(d) for d in known[node.input[1]].reshape(-1)]
        if source is None or any(d <= 0 for d in target):
            continue  # -1 and 0 are resolved from the input: nothing to contradict
        if math.prod(source) != math.prod(target):
            return (
                f"(op_type:Reshape, node name: {node.name}): [ShapeInferenceError] cannot reshape "
                f"{list(source)}, {math.prod(source)} elements, to {target}, {math.prod(target)} elements"
            )
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
    return [
        (position, [name for name in node.input if name])
        for position, node in enumerate(probe.graph.node)
        if node.op_type in SHAPE_OPS and node.domain in ("", "ai.onnx") and len(node.output) == 1
    ]


def _fold_shape_arithmetic(
    model: LoadedModel,
    probe: onnx.ModelProto,
    strict: bool = False,
    foldable: list[tuple[int, list[str]]] | None = None,
) -> tuple[onnx.ModelProto, dict, bool]:
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


def _evaluate(node: onnx.NodeProto, opset: int, known: dict, shapes: _Shapes) -> np.ndarray | None:
    if node.op_type in ("Shape", "Size"):
        shape = _numeric(shapes.get(node.input[0]))
        if shape is None:
            return None
        if node.op_type == "Size":
            return np.asarray(int(np.prod(shape)), dtype=np.int64)
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        return np.asarray(shape[attrs.get("start", 0) : attrs.get("end")], dtype=np.int64)
    inputs = [name for name in node.input if name]
    if not all(name in known for name in inputs):
        return None
    graph = helper.make_graph(
        [node],
        "fold",
        [helper.make_tensor_value_info(n, onnx.TensorProto.UNDEFINED, None) for n in inputs],
        [helper.make_tensor_value_info(node.output[0], onnx.TensorProto.UNDEFINED, None)],
    )
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
