"""Where rknn-toolkit2 puts each node of a model on a chip: the NPU, the CPU, or nowhere.

Two kinds of data, both per toolkit version, decide it:
- the probe tables (rules/targets/probe/<toolkit>-<version>/<chip>.json): what the real toolkit did with
  one-operator models, measured by onnxlint.rknn.probe_ops;
- the family file (rules/targets/<toolkit>-<version>.json): `op_conditions`, parameter conditions each shown
  by probe cases; `probe_artefacts`, cases whose outcome says nothing about the operator; `runtime_cpu_ops`,
  the few CPU kernels some chips' runtimes have at all.

A node gets a placement only where the data is unambiguous: its parameters meet a condition, or every probe
case of its operator that no condition covers ended the same way on the chip. Nodes the toolkit folds into
constants before compiling are left out, as the toolkit leaves them out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

import numpy as np
import onnx

from onnxlint.core.graph import CONTROL_FLOW, GraphView, Node
from onnxlint.rknn.knowledge import family, probe_table

NPU, CPU, UNSUPPORTED, CRASH = "npu", "cpu", "unsupported", "error"
# The build succeeds with the layer on the CPU as a placeholder the application must implement itself
# (rknn_register_custom_ops in the C API): for the user, the operator is not supported.
CUSTOM_OPERATOR = "treated as a custom operator"


@dataclass(frozen=True)
class ProbeCase:
    """One measured build of a one-operator model."""

    id: str
    op: str
    outcome: str  # npu | cpu | unsupported | error (the toolkit process died or hung)
    cpu_layers: tuple[str, ...]  # the compiled layers that ran on the CPU, as the toolkit names them
    messages: tuple[str, ...]

    @property
    def toolkit_words(self) -> str:
        """The toolkit's own explanation of a refusal or crash, as short as it gets."""
        lines = [m for m in self.messages if not m.startswith("probe:")]
        for line in lines:
            if CUSTOM_OPERATOR in line:
                return line
        for line in lines:  # a specific error line, e.g. "E build: The Loop('probe') will cause ..."
            if (
                line.startswith("E ")
                and "Traceback" not in line
                and "Unkown op target" not in line
                and line.split(":", 1)[-1].strip()
            ):
                return line
        for line in lines:  # the exception the toolkit raised, e.g. "KeyError: 'LayerNormalization'"
            head = line.split(":", 1)[0]
            if head.endswith(("Error", "Exception")) and " " not in head:
                return line
        for line in self.messages:  # the probe's account of a death: "toolkit process died (signal SIGSEGV)"
            if line.startswith("probe: toolkit process") or line.startswith("probe: exception:"):
                return line.removeprefix("probe: ").removeprefix("exception: ")
        return f"{self.op} {self.outcome}"


@dataclass(frozen=True)
class OpCondition:
    """Parameters under which the toolkit treats an operator differently, and the probe cases that show it."""

    id: str
    says: str  # what the condition means, for messages: "steps other than 1"
    when: Mapping[str, Any]  # every test must hold (see CONDITION_TESTS)
    cases: Mapping[str, str]  # {op_type: the probe case that shows the outcome}
    even_if_folded: bool  # the toolkit fails before folding constants, so folded nodes count too
    fix: str
    source: str


@dataclass(frozen=True)
class Placement:
    node: Node
    outcome: str  # cpu | unsupported | error
    case: ProbeCase  # the measured evidence
    condition: OpCondition | None  # None: every probe case of the operator ended this way
    # CPU layers the chip's runtime has no kernel for: the build succeeds and the board refuses the model.
    missing_cpu_kernels: tuple[str, ...]

    @property
    def fails(self) -> bool:
        return self.outcome != CPU or bool(self.missing_cpu_kernels)


@dataclass
class ChipKnowledge:
    version: str
    chip: str
    cases: Mapping[str, ProbeCase]
    conditions: tuple[OpCondition, ...]
    # {op_type: a probe case of it} for operators whose probe cases outside every condition all ended alike
    baseline: Mapping[str, ProbeCase]
    runtime_cpu_ops: frozenset[str] | None  # None: the runtime has every CPU kernel the build uses
    runtime_source: str
    # {element type: the type load_onnx rewrites it to} (float16 and float64 become float32)
    load_conversions: Mapping[int, int] = field(default_factory=dict)

    def conditions_for(self, op_type: str) -> tuple[OpCondition, ...]:
        return self._by_op.get(op_type, ())

    @cached_property
    def placed_ops(self) -> frozenset[str]:
        """Operators that may leave the NPU on this chip: any other node needs no closer look."""
        return frozenset(self._by_op) | {op for op, case in self.baseline.items() if case.outcome != NPU}

    @cached_property
    def _by_op(self) -> dict[str, tuple[OpCondition, ...]]:
        by_op: dict[str, list[OpCondition]] = {}
        for condition in self.conditions:
            for op_type in condition.cases:
                by_op.setdefault(op_type, []).append(condition)
        # Where every condition of an operator and its usual form all run on the NPU of this chip, no condition
        # can change the verdict: skip evaluating them (rank and shape tests cost a protobuf read per node).
        usual = {op_type: case.outcome for op_type, case in self.baseline.items()}
        return {
            op_type: tuple(found)
            for op_type, found in by_op.items()
            if usual.get(op_type, NPU) != NPU or any(self.cases[c.cases[op_type]].outcome != NPU for c in found)
        }

    def missing_kernels(self, case: ProbeCase) -> tuple[str, ...]:
        if self.runtime_cpu_ops is None:
            return ()
        return tuple(dict.fromkeys(layer for layer in case.cpu_layers if layer not in self.runtime_cpu_ops))


@cache
def chip_knowledge(version: str, chip: str) -> ChipKnowledge | None:
    """What onnxlint knows about `chip` under this toolkit version; None without probe data for it."""
    table = probe_table(version, chip)
    if table is None:
        return None
    family_file = family(version)
    artefacts = {
        case_id for case_id, note in family_file.get("probe_artefacts", {}).items() if chip in note.get("chips", [chip])
    }
    integer_model = family_file.get("integer_model_abort", {"chips": []})
    cases = {}
    for case_id, record in table["cases"].items():
        # An int8 build of a probe model with no float tensor dies of having nothing to quantize (TG004 says so of
        # such models): the outcome says nothing about the operator.
        integer_only = chip in integer_model["chips"] and integer_model["message"] in record["messages"]
        if case_id in artefacts or integer_only:
            continue
        custom = any(CUSTOM_OPERATOR in message for message in record["messages"])
        cpu_layers = tuple(layer[0] for layer in record["layers"] if layer[2] == "CPU")
        outcome = record["outcome"]
        if outcome == CPU and not own_layer_on_cpu(record["op"], cpu_layers):
            outcome = NPU  # only the Reshape/Transpose the toolkit wrapped around the op ran on the CPU
        cases[case_id] = ProbeCase(
            id=case_id,
            op=record["op"],
            outcome=UNSUPPORTED if custom else outcome,
            messages=tuple(record["messages"]),
            cpu_layers=cpu_layers,
        )
    conditions = tuple(_condition(spec, cases) for spec in family_file.get("op_conditions", []))
    conditioned = {case_id for spec in family_file.get("op_conditions", []) for case_id in spec["cases"]}
    unconditioned: dict[str, list[ProbeCase]] = {}
    for case in cases.values():
        # A crash or hang in a single-op probe teaches nothing about the operator unless a condition names it.
        if case.id not in conditioned and case.outcome != CRASH:
            unconditioned.setdefault(case.op, []).append(case)
    baseline = {op: found[0] for op, found in unconditioned.items() if len({c.outcome for c in found}) == 1}
    runtime = family_file.get("runtime_cpu_ops", {})
    kernels = runtime.get("chips", {}).get(chip)
    if kernels is not None:
        aliases = runtime.get("layer_aliases", {})
        kernels = frozenset(kernels) | {layer for layer, kernel in aliases.items() if kernel in kernels}
    return ChipKnowledge(
        version=version,
        chip=chip,
        cases=cases,
        conditions=conditions,
        baseline=baseline,
        runtime_cpu_ops=kernels,
        runtime_source=runtime.get("source", ""),
        load_conversions={
            _elem_type(dtype): _elem_type(conversion["to"])
            for dtype, conversion in family_file.get("io_dtype_conversions", {}).items()
        },
    )


def _elem_type(dtype: str) -> int:
    return onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


# Layout layers the toolkit inserts around a one-operator model to feed it; on chips whose Reshape and
# Transpose run on the CPU (rk3566/rk3568) they made whole probe cases "cpu" although the operator itself ran on
# the NPU, and in a full model they merge with neighbours (a YOLOv8 MatMul or a scalar-index Gather builds with
# no CPU layer of its own there).
LAYOUT_LAYERS = frozenset({"Reshape", "Transpose"})
LAYOUT_OPS = frozenset({"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten"})


def own_layer_on_cpu(op_type: str, cpu_layers: tuple[str, ...]) -> bool:
    return op_type in LAYOUT_OPS or any(layer not in LAYOUT_LAYERS for layer in cpu_layers)


def _condition(spec: Mapping[str, Any], cases: Mapping[str, ProbeCase]) -> OpCondition:
    unknown = set(spec["when"]) - set(CONDITION_TESTS)
    if unknown:
        raise ValueError(f"op condition '{spec['id']}' uses unknown tests {sorted(unknown)}")
    by_op: dict[str, str] = {}
    for case_id in spec["cases"]:  # the first case of each operator is its evidence
        if case_id in cases:  # a case may be an artefact on this chip
            by_op.setdefault(cases[case_id].op, case_id)
    return OpCondition(
        id=spec["id"],
        says=spec["says"],
        when=spec["when"],
        cases=by_op,
        even_if_folded=spec.get("even_if_folded", False),
        fix=spec["fix"],
        source=spec["source"],
    )


def model_placements(graph: GraphView, knowledge: ChipKnowledge, static_of: Callable[[], set[str]]) -> list[Placement]:
    """Every node of `graph` that the toolkit puts on the CPU or cannot build, in topological order.

    `static_of` gives static_tensors(graph), computed once for every rule that needs it."""
    # Custom-domain operators were never probed; operators that run on the NPU in every known form need nothing.
    candidates = [node for node in graph.nodes if not node.domain and node.op_type in knowledge.placed_ops]
    if not candidates:
        return []
    fused = fused_layer_norms(graph) | fused_gelus(graph)
    candidates = [
        node
        for node in candidates
        if node.index not in fused and not identity_cast(node, graph, knowledge.load_conversions)
    ]
    static = static_of()
    placements = []
    for node in candidates:
        folded = all(name in static for name in node.outputs if name)
        placement = _place(node, graph, static, folded, knowledge)
        if placement is not None:
            placements.append(placement)
    return placements


def _place(node: Node, graph: GraphView, static: set[str], folded: bool, knowledge: ChipKnowledge) -> Placement | None:
    tests = _NodeTests(node, graph, static)
    matched = [
        condition
        for condition in knowledge.conditions_for(node.op_type)
        if (condition.even_if_folded or not folded) and tests.all(condition.when)
    ]
    if matched:
        # The condition with the worst measured outcome decides: a refusal beats a CPU fallback.
        condition = max(matched, key=lambda c: SEVERITY_ORDER[knowledge.cases[c.cases[node.op_type]].outcome])
        case = knowledge.cases[condition.cases[node.op_type]]
        if case.outcome == NPU:
            return None
        usual = knowledge.baseline.get(node.op_type)
        if usual is None or usual.outcome != case.outcome:
            return Placement(node, case.outcome, case, condition, knowledge.missing_kernels(case))
        # The condition changes nothing on this chip: the operator's usual placement is the finding.
        return Placement(node, usual.outcome, usual, None, knowledge.missing_kernels(usual))
    usual = knowledge.baseline.get(node.op_type)
    if folded or usual is None or usual.outcome == NPU:
        return None
    return Placement(node, usual.outcome, usual, None, knowledge.missing_kernels(usual))


SEVERITY_ORDER = {NPU: 0, CPU: 1, CRASH: 2, UNSUPPORTED: 3}


def identity_cast(node: Node, graph: GraphView, load_conversions: Mapping[int, int]) -> bool:
    """A Cast to the element type its input has once load_onnx has rewritten float16 and float64 to float32
    (`load_conversions`). load_onnx removes it ("remove_invalid_cast: remove node = [...]" in a verbose build;
    measured with 2.5.0 on rk3588 and rv1106, float and bool; a float32 to float16 or float64 to float32 Cast builds
    with no layer of its own, agreement cases test_cast_FLOAT_to_FLOAT16 and test_cast_DOUBLE_to_FLOAT), so it
    never reaches the chip, whatever the probes of real conversions say."""
    if node.op_type != "Cast":
        return False
    source = graph.tensor(node.inputs[0]) if node.inputs else None
    if source is None or source.elem_type is None:
        return False
    target = node.attr("to")
    return load_conversions.get(target, target) == load_conversions.get(source.elem_type, source.elem_type)


FLOAT_ELEMENT_TYPES = frozenset(
    {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE, onnx.TensorProto.BFLOAT16}
)


def read_beyond(graph: GraphView, name: str, readers: frozenset[str]) -> bool:
    """Some node reads `name` (a graph input) with a layer other than the CPU kernels of `readers`, the operators
    measured to take an integer input as it is: the NPU, or a CPU kernel without that type."""
    return any(node.op_type not in readers for node in graph.consumers(name))


def computes_without_float(graph: GraphView, static: set[str], computed_in_float: frozenset[str]) -> bool:
    """No tensor the chip computes at run time (graph inputs, outputs of nodes not folded) is floating-point, and no
    node is one the toolkit computes in float whatever its types (`computed_in_float`): an int8 build has nothing to
    calibrate. False wherever that cannot be told: a type unknown, control flow, another domain's operator."""
    computed = [name for name in graph.input_names if name not in static]
    for node in graph.nodes:
        if node.domain not in ("", "ai.onnx") or node.op_type in CONTROL_FLOW or node.op_type in computed_in_float:
            return False
        computed.extend(name for name in node.outputs if name and name not in static)
    for name in computed:
        info = graph.tensor(name)
        if info is None or not info.elem_type or info.elem_type in FLOAT_ELEMENT_TYPES:
            return False
    return True


def fused_layer_norms(graph: GraphView) -> set[int]:
    """Indices of the nodes of layer normalisations written out op by op (exporters before opset 17):
    (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps). The toolkit fuses them into one exNorm layer, so what
    single Sub, Pow, Sqrt or Div probes show says nothing about them."""
    fused: set[int] = set()
    for sqrt in graph.nodes_of("Sqrt"):
        add = graph.producer(sqrt.inputs[0])
        variance = graph.producer(add.inputs[0]) if add is not None and add.op_type == "Add" else None
        power = (
            graph.producer(variance.inputs[0]) if variance is not None and variance.op_type == "ReduceMean" else None
        )
        centred = graph.producer(power.inputs[0]) if power is not None and power.op_type == "Pow" else None
        # centred is found only through power, variance and add: none of them is None then.
        if add is None or variance is None or power is None or centred is None or centred.op_type != "Sub":
            continue
        mean = graph.producer(centred.inputs[1])
        divisions = [
            node
            for node in graph.consumers(sqrt.outputs[0])
            if node.op_type == "Div" and node.inputs[0] == centred.outputs[0]
        ]
        if mean is None or mean.op_type != "ReduceMean" or len(divisions) != 1:
            continue
        fused.update(node.index for node in (mean, centred, power, variance, add, sqrt, divisions[0]))
    return fused


def fused_gelus(graph: GraphView) -> set[int]:
    """Indices of the nodes of GELUs written out with Erf, x * 0.5 * (1 + erf(x / sqrt(2))), as torch and
    paddle2onnx export them: (x * (1 + erf)) * 0.5, or x * (0.5 * (1 + erf)) from the dynamo exporter. The toolkit's
    replace_torch_gelu pass fuses both into one Gelu, run on the NPU with the layer before it (measured with 2.5.0
    on rk3588: a ConvExGelu layer, no Erf on the CPU), so what a single Erf probe shows says nothing about them."""
    fused: set[int] = set()
    for erf in graph.nodes_of("Erf"):
        div = graph.producer(erf.inputs[0])
        if div is None or div.op_type != "Div" or not _scalar_near(graph, div.inputs[1], math.sqrt(2)):
            continue
        x = div.inputs[0]
        adds = graph.consumers(erf.outputs[0])
        if len(adds) != 1 or adds[0].op_type != "Add" or not _scalar_near(graph, _other(adds[0], erf.outputs[0]), 1):
            continue
        muls = graph.consumers(adds[0].outputs[0])
        if len(muls) != 1 or muls[0].op_type != "Mul":
            continue
        factor = _other(muls[0], adds[0].outputs[0])
        outer = graph.consumers(muls[0].outputs[0])
        if len(outer) != 1 or outer[0].op_type != "Mul":
            continue
        last = _other(outer[0], muls[0].outputs[0])
        by_half_last = factor == x and _scalar_near(graph, last, 0.5)  # (x * (1 + erf)) * 0.5
        by_half_first = _scalar_near(graph, factor, 0.5) and last == x  # x * (0.5 * (1 + erf))
        if by_half_last or by_half_first:
            fused.update(node.index for node in (div, erf, adds[0], muls[0], outer[0]))
    return fused


def _other(node: Node, name: str) -> str | None:
    """The other input of a two-input node, or None."""
    others = [given for given in node.inputs if given != name]
    return others[0] if len(node.inputs) == 2 and len(others) == 1 else None


def _scalar_near(graph: GraphView, name: str | None, value: float) -> bool:
    scalar = graph.scalar(name) if name else None
    return scalar is not None and abs(float(scalar.item()) - value) <= 1e-4 * abs(value)


# Operators whose output sizes depend on the values they read, not only on the sizes: with the input sizes fixed,
# the sizes after them are still unknown until run time. Control flow and custom-domain operators count too.
DATA_DEPENDENT_SIZES = frozenset(
    {
        "NonZero",
        "Unique",
        "NonMaxSuppression",
        "Compress",
        "StringSplit",
        "RegexFullMatch",
        "TfIdfVectorizer",
        "SequenceAt",
        "SplitToSequence",
        "ConcatFromSequence",
        "SequenceConstruct",
        "Optional",
        "OptionalGetElement",
    }
)
# Inputs whose values set an operator's output size: when computed from data, the output size is data-dependent.
SIZE_INPUTS: Mapping[str, tuple[int, ...]] = {
    "Reshape": (1,),
    "Expand": (1,),
    "Tile": (1,),
    "Range": (0, 1, 2),
    "ConstantOfShape": (0,),
    "Slice": (1, 2, 3, 4),
    "Pad": (1, 3),
    "Resize": (1, 2, 3),
    "Upsample": (1,),
    "TopK": (1,),
    "OneHot": (1,),
    "Squeeze": (1,),
    "Unsqueeze": (1,),
    "Split": (1,),
    "CenterCropPad": (1, 2),
    "MaxUnpool": (2,),
    "Col2Im": (1, 2),
    "DFT": (1, 2),
    "STFT": (2, 3),
    "Compress": (1,),
    **dict.fromkeys(("BlackmanWindow", "HammingWindow", "HannWindow"), (0,)),
    **dict.fromkeys(
        (
            "ReduceSum",
            "ReduceMean",
            "ReduceMax",
            "ReduceMin",
            "ReduceProd",
            "ReduceL1",
            "ReduceL2",
            "ReduceLogSum",
            "ReduceLogSumExp",
            "ReduceSumSquare",
        ),
        (1,),
    ),
}


def static_tensors(graph: GraphView) -> set[str]:
    """Tensors the toolkit can compute before compiling: initializers, constants, the shapes of tensors, and
    everything computed from those alone.

    The toolkit requires fixed input sizes (TG002) and fixes them before it folds constants, so the shape of a
    tensor is known once every size before it follows from the input sizes: `Shape`/`Size` of a tensor behind
    dynamic input dims, and the arithmetic on them, fold away like any constant. Only a size that depends on
    values computed from the data (NonZero, a Reshape to a computed target, control flow) stays unknown."""
    static = set(graph.initializers)
    # Tensors whose size is fixed once the input sizes are; to begin with, the graph's inputs and initializers
    # (those no node overwrites).
    sized = {name for name in (*static, *graph.input_names) if graph.producer(name) is None}
    # Sizes matter only where a Shape or Size reads them: none are tracked after the last one.
    last_size_reader = max(
        (node.index for op_type in ("Shape", "Size") for node in graph.nodes_of(op_type)), default=-1
    )
    for node in graph.nodes:  # in topological order
        given = node.inputs
        inputs = [name for name in given if name]
        if node.op_type in ("Shape", "Size") and node.domain == "":
            shape = graph.shape(given[0])
            computable = _size_fixed(graph, given[0], sized) or (
                shape is not None and all(isinstance(d, int) for d in shape)
            )
        elif node.op_type in CONTROL_FLOW:
            computable = False  # measured: the toolkit fails on an If even when its condition is a constant
        else:
            computable = static.issuperset(inputs)
        if computable or (node.index < last_size_reader and _output_size_fixed(graph, node, inputs, static, sized)):
            outputs = [name for name in node.outputs if name]
            sized.update(outputs)
            if computable:
                static.update(outputs)
    return static


def _size_fixed(graph: GraphView, name: str, sized: set[str]) -> bool:
    # A tensor no node of this graph produces is a graph input, an initializer or an outer-scope value.
    return name in sized or graph.producer(name) is None


def _output_size_fixed(graph: GraphView, node: Node, inputs: list[str], static: set[str], sized: set[str]) -> bool:
    if node.domain not in ("", "ai.onnx") or node.op_type in CONTROL_FLOW or node.op_type in DATA_DEPENDENT_SIZES:
        return False
    # The set test first: it answers for almost every node.
    if not (sized.issuperset(inputs) or all(_size_fixed(graph, name, sized) for name in inputs)):
        return False
    given = node.inputs
    return all(given[i] in static for i in SIZE_INPUTS.get(node.op_type, ()) if i < len(given) and given[i])


class _NodeTests:
    """The tests an op condition may use, evaluated on one node. Each takes the argument the table gives."""

    def __init__(self, node: Node, graph: GraphView, static: set[str]):
        self.node, self.graph, self.static = node, graph, static

    def all(self, when: Mapping[str, Any]) -> bool:
        return all(CONDITION_TESTS[name](self, argument) for name, argument in when.items())

    def _attr_values(self, spec: Mapping[str, Any]) -> list:
        value = self.node.attr(spec["attr"], spec.get("default"))
        return list(value) if isinstance(value, (list, tuple)) else [value]

    def _input(self, index: int) -> str | None:
        inputs = self.node.inputs
        return inputs[index] if index < len(inputs) and inputs[index] else None

    def _constant(self, index: int) -> np.ndarray | None:
        name = self._input(index)
        return None if name is None else self.graph.constant(name)

    def attr_absent(self, name: str) -> bool:
        return self.node.attr(name) is None

    def attr_in(self, spec: Mapping[str, Any] | list) -> bool:
        """The attribute takes one of the values (a list of such specs: every one holds)."""
        if isinstance(spec, list):
            return all(self.attr_in(each) for each in spec)
        return any(value in spec["values"] for value in self._attr_values(spec))

    def attr_not_in(self, spec: Mapping[str, Any]) -> bool:
        return any(value not in spec["values"] for value in self._attr_values(spec))

    def input_computed(self, index: int) -> bool:
        name = self._input(index)
        return name is not None and name not in self.static

    def size_input_computed(self, expected: bool) -> bool:
        """An input that sets the output size (SIZE_INPUTS: a Reshape target, padding, scales, a count) is computed
        at run time from the data's values, so the toolkit cannot fix the graph's shapes. A size computed from other
        tensors' shapes does not count: with the input sizes fixed, the toolkit folds it, even where onnxlint cannot
        follow the sizes (behind a custom-domain operator)."""
        computed = any(
            self.input_computed(index) and self._reads_values(self.node.inputs[index])
            for index in SIZE_INPUTS.get(self.node.op_type, ())
        )
        return computed == expected

    def _reads_values(self, name: str) -> bool:
        """`name` depends on the values of a graph input, not only on sizes (Shape and Size read sizes only)."""
        pending, seen = [name], set()
        while pending:
            tensor = pending.pop()
            if tensor in seen or tensor in self.static:
                continue
            seen.add(tensor)
            producer = self.graph.producer(tensor)
            if producer is None:
                return True  # a graph input (or an outer-scope value) that is not a constant
            if producer.op_type not in ("Shape", "Size"):
                pending.extend(given for given in producer.inputs if given)
        return False

    def input_constant(self, index: int) -> bool:
        name = self._input(index)
        return name is not None and name in self.static

    def outputs_above(self, count: int) -> bool:
        """The node produces more than `count` outputs (MaxPool's Indices, for one)."""
        return sum(1 for name in self.node.outputs if name) > count

    def constant_in(self, spec: Mapping[str, Any]) -> bool:
        values = self._constant(spec["input"])
        return values is not None and values.size > 0 and bool(np.all(np.isin(values, spec["values"])))

    def constant_not_in(self, spec: Mapping[str, Any]) -> bool:
        values = self._constant(spec["input"])
        return values is not None and bool(np.any(~np.isin(values, spec["values"])))

    def rank_above(self, rank: int) -> bool:
        for name in (*self.node.inputs, *self.node.outputs):
            shape = self.graph.shape(name) if name else None
            if shape is not None and len(shape) > rank:
                return True
        return False

    def dim_above(self, spec: Mapping[str, Any]) -> bool:
        name = self._input(spec["input"])
        shape = self.graph.shape(name) if name else None
        if shape is None or len(shape) <= spec["axis"]:
            return False
        dim = shape[spec["axis"]]
        return isinstance(dim, int) and dim > spec["max"]

    def dim_not_multiple_of(self, spec: Mapping[str, Any]) -> bool:
        name = self._input(spec["input"])
        shape = self.graph.shape(name) if name else None
        if shape is None or len(shape) <= spec["axis"]:
            return False
        dim = shape[spec["axis"]]
        return isinstance(dim, int) and dim % spec["of"] != 0

    def input_rank_not_in(self, spec: Mapping[str, Any]) -> bool:
        name = self._input(spec["input"])
        shape = self.graph.shape(name) if name else None
        return shape is not None and len(shape) not in spec["values"]

    def input_type_in(self, spec: Mapping[str, Any]) -> bool:
        """The input's element type is one of the values (numpy's names: "int64")."""
        name = self._input(spec["input"])
        info = self.graph.tensor(name) if name else None
        return info is not None and info.elem_type in {_elem_type(value) for value in spec["values"]}

    def unaligned_reshape(self, spec: Mapping[str, Any]) -> bool:
        """The elements of input 0 after its first two dims (a 4-D view's height times width) are more than one, at
        most `max` and not a multiple of `of`, and the node does not leave the shape as it is (the toolkit builds a
        no-op as an NPU Reshape). One element is a vector of channels (pooled features, [1, 512, 1, 1]) that any
        reshape keeps in place; above `max` whole-model builds place such reshapes either way."""
        source = self._input(0)
        result = self.node.outputs[0] if self.node.outputs else None
        shape = self.graph.shape(source) if source else None
        reshaped = self.graph.shape(result) if result else None
        if shape is None or len(shape) < 3 or (reshaped is not None and tuple(shape) == tuple(reshaped)):
            return False
        trailing = [d for d in shape[2:] if isinstance(d, int)]
        if len(trailing) != len(shape) - 2:
            return False
        elements = math.prod(trailing)
        return 1 < elements <= spec["max"] and elements % spec["of"] != 0

    def axis_not_last(self, spec: Mapping[str, Any]) -> bool:
        name = self._input(0)
        shape = self.graph.shape(name) if name else None
        if not shape:  # unknown, or a scalar: no axis to judge
            return False
        axis = self.node.attr(spec["attr"], spec["default"])
        return axis % len(shape) != len(shape) - 1

    def axis_first(self, spec: Mapping[str, Any]) -> bool:
        """The axis attribute names the first axis of input 0 (for LayerNormalization: every axis), as `spec`'s
        `expected` says."""
        name = self._input(0)
        shape = self.graph.shape(name) if name else None
        if not shape:
            return False
        axis = self.node.attr(spec["attr"], spec["default"])
        return (axis % len(shape) == 0) == spec["expected"]

    def upscale_not_integer(self, expected: bool) -> bool:
        """Resize: some axis is enlarged by a factor that is not a whole number."""
        scales = _resize_scales(self.node, self.graph)
        fractional = scales is not None and any(s > 1 and abs(s - round(s)) > 1e-6 for s in scales)
        return fractional == expected


def _resize_scales(node: Node, graph: GraphView) -> list[float] | None:
    scales_at = 1 if len(node.inputs) == 2 else 2  # Resize-10 has no roi input
    inputs = node.inputs
    scales = graph.constant(inputs[scales_at]) if len(inputs) > scales_at and inputs[scales_at] else None
    if scales is not None and scales.size:
        return [float(s) for s in scales.ravel()]
    sizes = graph.constant(inputs[3]) if len(inputs) > 3 and inputs[3] else None
    shape = graph.shape(inputs[0])
    if sizes is None or shape is None or len(shape) != sizes.size or node.attr("axes") is not None:
        return None
    dims = [d for d in shape if isinstance(d, int) and d > 0]
    if len(dims) != len(shape):
        return None
    return [float(out) / d for out, d in zip(sizes.ravel(), dims)]


CONDITION_TESTS: Mapping[str, Callable[[_NodeTests, Any], bool]] = {
    name: getattr(_NodeTests, name)
    for name in (
        "attr_absent",
        "attr_in",
        "attr_not_in",
        "input_computed",
        "input_constant",
        "size_input_computed",
        "outputs_above",
        "constant_in",
        "constant_not_in",
        "rank_above",
        "dim_above",
        "dim_not_multiple_of",
        "input_rank_not_in",
        "input_type_in",
        "unaligned_reshape",
        "axis_not_last",
        "axis_first",
        "upscale_not_integer",
    )
}


def verdict(placement: Placement, toolkit_label: str, chip: str, subject: str = "it") -> str:
    """What the toolkit does with the placed node (`subject`), in the toolkit's words where it has any."""
    case = placement.case
    if placement.missing_cpu_kernels:
        layers = ", ".join(placement.missing_cpu_kernels)
        return (
            f"{toolkit_label} builds {subject} for {chip} with CPU layers ({layers}) that the {chip} runtime "
            f"has no kernel for, so rknn_init fails on the board"
        )
    if placement.outcome == CPU:
        return f"{toolkit_label} places {subject} on the CPU for {chip}"
    # The probe named its node 'probe'; the user's build will name theirs.
    words = case.toolkit_words.replace("'probe'", f"'{placement.node.name}'")
    if placement.outcome == UNSUPPORTED:
        return f"{toolkit_label} cannot build {subject} for {chip}: '{words}'"
    return f"{toolkit_label}'s build of {subject} for {chip} dies: '{words}'"
