"""Subgraph patterns that make rknn-toolkit2's build fail (the `build_failures` of a toolkit version's family
file), matched on the ONNX graph before anything is built.

Each pattern is a function from a ModelContext to the node groups it matches in the main graph; the family file
says which pattern an entry uses, what the toolkit prints, the fusion rule it dies in, and the workaround.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from onnxlint.core.graph import GraphView, Node
from onnxlint.rknn.knowledge import family

if TYPE_CHECKING:
    from onnxlint.core.registry import ModelContext

RECURRENT = ("LSTM", "GRU", "RNN")
IDENTITY = ("Identity",)  # removed by the toolkit's load_onnx before any fusion rule runs


@dataclass(frozen=True)
class BuildFailure:
    id: str
    pattern: str
    says: str
    message: str
    fusion_rule: str | None
    workaround: Mapping[str, Any]
    verified: str
    fixture: str
    near_miss: str
    chips: tuple[str, ...] | None  # None: every chip


@cache
def build_failures(version: str) -> tuple[BuildFailure, ...]:
    entries = family(version).get("build_failures", [])
    unknown = {entry["pattern"] for entry in entries} - set(PATTERNS)
    if unknown:
        raise ValueError(f"build_failures use unknown patterns {sorted(unknown)}")
    return tuple(
        BuildFailure(
            id=e["id"],
            pattern=e["pattern"],
            says=e["says"],
            message=e["message"],
            fusion_rule=e.get("fusion_rule"),
            workaround=e["workaround"],
            verified=e["verified"],
            fixture=e["fixture"],
            near_miss=e["near_miss"],
            chips=tuple(e["chips"]) if "chips" in e else None,
        )
        for e in entries
    )


def _single_consumer(graph: GraphView, tensor: str) -> Node | None:
    consumers = graph.consumers(tensor)
    return consumers[0] if len(consumers) == 1 else None


def _producer_through(graph: GraphView, tensor: str, skip: tuple[str, ...]) -> Node | None:
    """The producer of `tensor`, looking through nodes of the `skip` types."""
    node = graph.producer(tensor)
    while node is not None and node.op_type in skip:
        node = graph.producer(node.inputs[0])
    return node


def _consumer_through(graph: GraphView, tensor: str, skip: tuple[str, ...]) -> Node | None:
    """The single consumer of `tensor`, looking through single-consumer nodes of the `skip` types."""
    node = _single_consumer(graph, tensor)
    while node is not None and node.op_type in skip:
        node = _single_consumer(graph, node.outputs[0])
    return node


def _rank(graph: GraphView, tensor: str) -> int | None:
    shape = graph.shape(tensor)
    return len(shape) if shape is not None else None


def dfl_split(ctx: ModelContext) -> Iterator[list[Node]]:
    """A 1x1 Conv with weight [1,16,1,1] and no bias, fed by Softmax (through Transposes) fed by a Reshape whose
    input comes from a flattening Reshape (directly or through a Concat), and whose output is reshaped to 3-D and
    split in two along axis 1 (two Slices or a Split)."""
    graph = ctx.main
    for conv in graph.nodes_of("Conv"):
        if len(conv.inputs) > 2 and conv.inputs[2]:
            continue  # a bias: tested first, as most convolutions have one
        weight = graph.tensor(conv.inputs[1]) if len(conv.inputs) > 1 else None
        if weight is None or weight.shape != (1, 16, 1, 1):
            continue
        softmax = _producer_through(graph, conv.inputs[0], ("Transpose",))
        if softmax is None or softmax.op_type != "Softmax":
            continue
        unflatten = _producer_through(graph, softmax.inputs[0], ("Transpose",))
        if unflatten is None or unflatten.op_type != "Reshape":
            continue
        source = graph.producer(unflatten.inputs[0])
        feeders = (
            [graph.producer(name) for name in source.inputs]
            if source is not None and source.op_type == "Concat"
            else [source]
        )
        if not any(f is not None and f.op_type == "Reshape" and _rank(graph, f.outputs[0]) == 3 for f in feeders):
            continue  # the toolkit's rule needs the flattening Reshape before it: a flat input builds
        reshape = _single_consumer(graph, conv.outputs[0])
        if reshape is None or reshape.op_type != "Reshape" or _rank(graph, reshape.outputs[0]) != 3:
            continue
        # Shape consumers only compute the split sizes (ultralytics' detect export reads them with Shape/Gather).
        halves = [node for node in graph.consumers(reshape.outputs[0]) if node.op_type != "Shape"]
        split = (len(halves) == 1 and halves[0].op_type == "Split" and len(halves[0].outputs) == 2) or (
            len(halves) == 2 and all(node.op_type == "Slice" for node in halves)
        )
        if split:
            yield [conv, unflatten, softmax, reshape, *halves]


def unscaled_attention(ctx: ModelContext) -> Iterator[list[Node]]:
    """MatMul -> Softmax over the last axis -> (Transpose) -> MatMul, with no Mul producing an input of the first
    MatMul (a Mul between the MatMul and the Softmax would make the Softmax's producer a Mul). Identity nodes, which
    the toolkit's load_onnx removes, are looked through (paddle2onnx writes one after the Softmax)."""
    graph = ctx.main
    for softmax in graph.nodes_of("Softmax"):
        scores = _producer_through(graph, softmax.inputs[0], IDENTITY)
        if scores is None or scores.op_type != "MatMul":
            continue
        rank = _rank(graph, softmax.inputs[0])
        axis = softmax.attr("axis", -1 if (graph.opset() or 13) >= 13 else 1)
        if not rank or axis % rank != rank - 1:  # unknown rank, or a scalar: no last axis to judge
            continue
        if any(
            (p := _producer_through(graph, name, IDENTITY)) is not None and p.op_type == "Mul" for name in scores.inputs
        ):
            continue
        after = _consumer_through(graph, softmax.outputs[0], IDENTITY)
        if after is not None and after.op_type == "Transpose":
            after = _consumer_through(graph, after.outputs[0], IDENTITY)
        if after is not None and after.op_type == "MatMul":
            yield [scores, softmax, after]


def rnn_unnamed_output(ctx: ModelContext) -> Iterator[list[Node]]:
    """A recurrent node with an output named '' (unused) while it has more than one output slot."""
    graph = ctx.main
    for op_type in RECURRENT:
        for node in graph.nodes_of(op_type):
            if len(node.outputs) > 1 and "" in node.outputs:
                yield [node]


def constant_outputs(ctx: ModelContext) -> Iterator[list[Node]]:
    """Every graph output computed from constants and static shapes: the toolkit folds them all away."""
    graph = ctx.main
    if not graph.output_names:
        return
    static = ctx.static_tensors
    if all(name in static for name in graph.output_names):
        producers = [graph.producer(name) for name in graph.output_names]
        yield [node for node in producers if node is not None]


def bn_training_attribute(ctx: ModelContext) -> Iterator[list[Node]]:
    graph = ctx.main
    for node in graph.nodes_of("BatchNormalization"):
        if node.attr("training_mode", 0) == 1:
            yield [node]


def bn_statistics_outputs(ctx: ModelContext) -> Iterator[list[Node]]:
    """Extra (statistics) outputs without the training_mode attribute: the pre-opset-14 training export."""
    graph = ctx.main
    for node in graph.nodes_of("BatchNormalization"):
        if node.attr("training_mode", 0) != 1 and sum(1 for name in node.outputs if name) > 1:
            yield [node]


def rnn_missing_bias(ctx: ModelContext) -> Iterator[list[Node]]:
    graph = ctx.main
    for op_type in ("LSTM", "GRU"):
        for node in graph.nodes_of(op_type):
            inputs = node.inputs
            if len(inputs) > 4 and not inputs[3] and any(inputs[4:]):
                yield [node]


def lstm_initial_state(ctx: ModelContext) -> Iterator[list[Node]]:
    graph = ctx.main
    for node in graph.nodes_of("LSTM"):
        if any(node.inputs[5:7]):
            yield [node]


def stft_default_onesided(ctx: ModelContext) -> Iterator[list[Node]]:
    """An STFT that leaves `onesided` at its default (1: frame_length / 2 + 1 bins), with a node after it, whose
    bins onnx's shape inference counts. That inference reads an absent `onesided` as 0 and gives the full
    frame_length of bins; the toolkit's fold_constant declares the nodes after the STFT an input of that inferred
    shape and feeds onnxruntime the real spectrum, which has half as many bins. Where inference gives the STFT no
    shape (a signal padded by sizes computed at run time), the build succeeds. On a model with dynamic input
    sizes inference gives no shape either: the failure shows once they are fixed, as the toolkit needs (TG002)."""
    graph = ctx.main
    for node in graph.nodes_of("STFT"):
        if node.attr("onesided") is not None or not node.outputs:
            continue
        shape = graph.shape(node.outputs[0])
        consumers = graph.consumers(node.outputs[0])
        if consumers and shape is not None and len(shape) == 4 and isinstance(shape[2], int):
            yield [node, *consumers]


# A pattern takes the whole context, not the graph alone, to share what placement computes too (static tensors).
PATTERNS: Mapping[str, Callable[[ModelContext], Iterator[list[Node]]]] = {
    "dfl_split": dfl_split,
    "unscaled_attention": unscaled_attention,
    "rnn_unnamed_output": rnn_unnamed_output,
    "constant_outputs": constant_outputs,
    "bn_training_attribute": bn_training_attribute,
    "bn_statistics_outputs": bn_statistics_outputs,
    "rnn_missing_bias": rnn_missing_bias,
    "lstm_initial_state": lstm_initial_state,
    "stft_default_onesided": stft_default_onesided,
}
