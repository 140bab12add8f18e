"""Following an image input through the layout-neutral ops that precede the network proper."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from onnxlint.core.graph import GraphView, Node

# Ops that neither mix pixels nor change the layout: preprocessing sits between them and the first Conv.
ELEMENTWISE = frozenset({"Cast", "Identity", "Div", "Mul", "Sub", "Add"})
ARITHMETIC = frozenset({"Div", "Mul", "Sub", "Add"})
IMAGE_CHANNELS = (1, 3, 4)
# Ops that keep every axis where it was, so the layout after them is the layout before them: unary ops, Pad,
# and elementwise ops whose other operand is a constant or of no higher rank.
LAYOUT_PRESERVING_UNARY = frozenset(
    {
        "Cast",
        "Identity",
        "Pad",
        "Clip",
        "Relu",
        "LeakyRelu",
        "Abs",
        "Neg",
        "Floor",
        "Ceil",
        "Round",
        "Sqrt",
        "Sigmoid",
        "Tanh",
        "Exp",
        "Log",
        "Reciprocal",
        "QuantizeLinear",
        "DequantizeLinear",
    }
)
LAYOUT_PRESERVING_BINARY = frozenset({"Add", "Sub", "Mul", "Div", "Pow", "Min", "Max"})


def channel_axis(shape) -> int | None:
    """1 for an NCHW image-like 4-D shape, 3 for NHWC, None when the shape looks like neither."""
    if shape is None or len(shape) != 4:
        return None
    if shape[1] in IMAGE_CHANNELS and shape[3] not in IMAGE_CHANNELS:
        return 1
    if shape[3] in IMAGE_CHANNELS and shape[1] not in IMAGE_CHANNELS:
        return 3
    return None


def image_height(shape) -> int | None:
    """The fixed height of an image-like NCHW or NHWC input, else None."""
    axis = channel_axis(shape)
    if axis is None:
        return None
    height = shape[2] if axis == 1 else shape[1]
    return height if isinstance(height, int) and height > 0 else None


def single_chain(graph: GraphView, tensor: str, allowed: frozenset[str], limit: int = 8) -> Iterator[Node]:
    """Nodes of `allowed` types reached from `tensor` through single-consumer links, in order."""
    for _ in range(limit):
        consumers = graph.consumers(tensor)
        if len(consumers) != 1 or consumers[0].op_type not in allowed or consumers[0].domain:
            return
        node = consumers[0]
        yield node
        tensor = node.outputs[0]


def preserves_layout(graph: GraphView, node: Node, tensor: str) -> bool:
    """Whether `node`, reading `tensor`, gives it out with its axes where they were (see LAYOUT_PRESERVING_*)."""
    if node.domain or not node.outputs:
        return False
    if node.op_type in LAYOUT_PRESERVING_UNARY:
        # Pad's pads, Clip's bounds, a quantisation scale and zero point: every other input must be a constant.
        return node.inputs[:1] == (tensor,) and all(
            graph.constant(name) is not None for name in node.inputs[1:] if name
        )
    if node.op_type in LAYOUT_PRESERVING_BINARY and len(node.inputs) == 2 and tensor in node.inputs:
        # Broadcasting aligns trailing axes: an operand of no higher rank leaves this tensor's axes in place.
        other = node.inputs[1] if node.inputs[0] == tensor else node.inputs[0]
        own, theirs = graph.shape(tensor), graph.shape(other)
        return graph.constant(other) is not None or (own is not None and theirs is not None and len(theirs) <= len(own))
    return False


def layout_chain(graph: GraphView, tensor: str, limit: int = 8) -> Iterator[Node]:
    """Nodes reached from `tensor` through single-consumer links: the layout-preserving ones, then the first
    one that is not (which may change the layout), in order."""
    for _ in range(limit):
        consumers = graph.consumers(tensor)
        if len(consumers) != 1 or consumers[0].domain:
            return
        node = consumers[0]
        yield node
        if not preserves_layout(graph, node, tensor):
            return
        tensor = node.outputs[0]


@dataclass(frozen=True)
class Normalization:
    """Per-channel scaling of an image input inside the graph, as the NPU toolkits write it:
    y = (x - mean) / std."""

    mean: list[float]
    std: list[float]
    nodes: tuple[Node, ...]


def in_graph_normalization(graph: GraphView, name: str, shape) -> Normalization | None:
    """The normalisation the ops right after image input `name` apply, or None if they apply none."""
    axis = channel_axis(shape)
    if axis is None:
        return None
    channels = shape[axis]
    scale = np.ones(channels)  # the chain so far computes scale * x + offset, per channel
    offset = np.zeros(channels)
    applied: list[Node] = []
    for node in single_chain(graph, name, ELEMENTWISE | {"Transpose"}):
        if node.op_type == "Transpose":
            axis = transposed_axis(node, axis, len(shape))
            if axis is None:
                break
            continue
        if node.op_type not in ARITHMETIC:
            continue
        step = _affine_step(graph, node, axis, len(shape), channels)
        if step is None:
            break
        scale, offset = step[0] * scale, step[0] * offset + step[1]
        applied.append(node)
    if not applied or np.any(scale == 0) or (np.allclose(scale, 1) and np.allclose(offset, 0)):
        return None
    return Normalization(mean=_rounded(-offset / scale), std=_rounded(1.0 / scale), nodes=tuple(applied))


def transposed_axis(transpose: Node, axis: int, rank: int) -> int | None:
    """Where a Transpose moves `axis` of its rank-`rank` input; None when its perm is not a permutation of that
    rank (a malformed file: nothing can be said about the layout after it)."""
    perm = list(transpose.attr("perm", range(rank - 1, -1, -1)))  # no perm: the axes reversed
    return perm.index(axis) if sorted(perm) == list(range(rank)) else None


def _affine_step(graph: GraphView, node: Node, axis: int, rank: int, channels: int):
    """(multiplier, addend) per channel for x op c or c op x, or None if not a per-channel affine step."""
    data_first = graph.constant(node.inputs[1]) is not None
    constant = graph.constant(node.inputs[1] if data_first else node.inputs[0])
    if constant is None:
        return None
    target = [1] * rank
    target[axis] = channels
    try:
        per_channel = np.broadcast_to(constant.astype(np.float64), target).reshape(channels)
    except ValueError:
        return None  # the constant varies along a spatial axis: not normalisation
    ones, zeros = np.ones(channels), np.zeros(channels)
    if node.op_type == "Mul":
        return per_channel, zeros
    if node.op_type == "Add":
        return ones, per_channel
    if node.op_type == "Sub":
        return (ones, -per_channel) if data_first else (-ones, per_channel)
    if node.op_type == "Div" and data_first and np.all(per_channel != 0):
        return 1.0 / per_channel, zeros
    return None


def _rounded(values: np.ndarray) -> list[float]:
    return [float(f"{v:.6g}") + 0.0 for v in values]  # + 0.0 turns -0.0 into 0.0


def format_values(values) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"
