"""Recognise YOLO detection heads in an exported graph and read back what the export baked in.

Anchor-based heads (YOLOv5/v7 `Detect`): per level a Conv with na * (5 + nc) channels, reshaped to
[batch, na, 5 + nc, ny, nx] and transposed to [batch, na, ny, nx, 5 + nc]; at export time a box decode
(sigmoid, grid offsets, anchor scaling) follows. Anchors are stored divided by the stride and scaled
back by it, so the constant that multiplies the squared wh is the anchor in pixels.

The head's raw convolution outputs are what rknn_model_zoo's post-processing expects from the board,
so they are the tensors to pass to `rknn.load_onnx(outputs=[...])`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from onnxlint.graph import GraphView, Node
from onnxlint.layout import channel_axis, image_height
from onnxlint.model import LoadedModel

DETECT_PERMUTATION = [0, 1, 3, 4, 2]  # [b, na, no, ny, nx] -> [b, na, ny, nx, no]
# Ops between the head's Sigmoid and the anchor multiplication in the exporters' decode.
DECODE_OPS = frozenset({"Split", "Slice", "Gather", "Mul", "Add", "Sub", "Pow", "Expand", "Concat"})
COCO_ANCHORS_PX = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))


@dataclass(frozen=True)
class HeadLevel:
    conv: Node
    tensor: str  # the raw convolution output: what to cut the model at
    permuted: str  # the [batch, na, ny, nx, 5 + nc] tensor Detect builds from it
    shape: tuple  # [batch, na * (5 + nc), ny, nx]
    stride: int | None
    sigmoid_in_graph: bool
    decode_in_graph: bool
    anchors_px: tuple[tuple[float, float], ...] | None  # read back from the decode, if the graph has one

    def to_dict(self) -> dict[str, Any]:
        return {"tensor": self.tensor, "node": self.conv.name, "shape": list(self.shape), "stride": self.stride,
                "sigmoid_in_graph": self.sigmoid_in_graph, "decode_in_graph": self.decode_in_graph,
                "anchors_px": [list(pair) for pair in self.anchors_px] if self.anchors_px else None}


@dataclass(frozen=True)
class DetectionHead:
    family: str
    nc: int
    na: int
    levels: tuple[HeadLevel, ...]  # in stride order

    @property
    def decode_in_graph(self) -> bool:
        return any(level.decode_in_graph for level in self.levels)

    @property
    def rknn_outputs(self) -> list[str]:
        return [level.tensor for level in self.levels]

    @property
    def strides_text(self) -> str:
        return "/".join(str(level.stride or "?") for level in self.levels)

    @property
    def anchors_px(self) -> list[list[float]] | None:
        """yolov5 yaml layout: one row per level, (w, h) pairs flattened."""
        if not all(level.anchors_px for level in self.levels):
            return None
        return [[value for pair in level.anchors_px for value in pair] for level in self.levels]

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "nc": self.nc, "na": self.na,
                "strides": [level.stride for level in self.levels], "anchors_px": self.anchors_px,
                "decode_in_graph": self.decode_in_graph, "rknn_outputs": self.rknn_outputs,
                "levels": [level.to_dict() for level in self.levels]}


def model_heads(model: LoadedModel, main: GraphView) -> list[DetectionHead]:
    """Heads of a model's main graph, strides measured against its one image input (if it has one)."""
    images = [value.shape for value in model.declared_inputs if channel_axis(value.shape) is not None]
    return detect_heads(main, image_height(images[0]) if len(images) == 1 else None)


def detect_heads(graph: GraphView, image_height: int | None) -> list[DetectionHead]:
    """Anchor-based YOLO heads in a graph; levels that share (na, nc) form one head."""
    levels: dict[tuple[int, int], list[HeadLevel]] = {}
    for conv in graph.nodes_of("Conv"):
        found = _anchor_based_level(graph, conv, image_height)
        if found:
            na, no, level = found
            levels.setdefault((na, no - 5), []).append(level)
    return [DetectionHead("yolov5", nc, na, tuple(sorted(group, key=_stride_order)))
            for (na, nc), group in levels.items() if len(group) >= 2]


def _stride_order(level: HeadLevel) -> tuple:
    # With a dynamic input size the strides are unknown; Detect's levels are then in graph order (P3, P4, P5).
    return (level.stride is None, level.stride or 0, level.conv.index)


def _anchor_based_level(graph: GraphView, conv: Node, image_height: int | None):
    conv_shape = graph.shape(conv.outputs[0])
    reshape = _data_consumer(graph, conv.outputs[0], "Reshape")
    transpose = reshape and _data_consumer(graph, reshape.outputs[0], "Transpose")
    if conv_shape is None or len(conv_shape) != 4 or transpose is None:
        return None
    if list(transpose.attr("perm", [])) != DETECT_PERMUTATION:
        return None
    na, no = _anchors_and_outputs(graph, reshape)
    if na is None or na * no != conv_shape[1] or no < 6:
        return None
    ny = conv_shape[2]
    stride = image_height // ny if isinstance(image_height, int) and isinstance(ny, int) and ny \
        and image_height % ny == 0 else None
    sigmoid = _data_consumer(graph, transpose.outputs[0], "Sigmoid")
    decoded, anchors = _decode(graph, sigmoid, na) if sigmoid else (False, None)
    return na, no, HeadLevel(conv, conv.outputs[0], transpose.outputs[0], tuple(conv_shape), stride,
                             sigmoid is not None, decoded, anchors)


def _anchors_and_outputs(graph: GraphView, reshape: Node) -> tuple[int | None, int | None]:
    """(na, 5 + nc) from the head's 5-D Reshape: its inferred shape, or with a dynamic input size the
    constants in the Concat that builds its target shape [batch, na, no, ny, nx]."""
    five_d = graph.shape(reshape.outputs[0])
    if five_d is not None and len(five_d) == 5 and all(isinstance(d, int) for d in five_d[1:3]):
        return five_d[1], five_d[2]
    target = graph.constant(reshape.inputs[1])
    concat = graph.producer(reshape.inputs[1])
    if target is None and concat is not None and concat.op_type == "Concat" and len(concat.inputs) == 5:
        pieces = [graph.constant(name) for name in concat.inputs[1:3]]
        if all(piece is not None and piece.size == 1 for piece in pieces):
            target = np.array([0, *(int(piece.reshape(-1)[0]) for piece in pieces), 0, 0])
    if target is None or target.size != 5 or min(target[1:3]) <= 0:
        return None, None
    return int(target[1]), int(target[2])


def _data_consumer(graph: GraphView, tensor: str, op_type: str) -> Node | None:
    """The one consumer of `tensor` that uses its values, if it is an `op_type`; Shape nodes that only read its
    size (dynamic exports compute reshape targets that way) do not count."""
    consumers = [node for node in graph.consumers(tensor) if node.op_type != "Shape"]
    return consumers[0] if len(consumers) == 1 and consumers[0].op_type == op_type else None


def _decode(graph: GraphView, sigmoid: Node, na: int) -> tuple[bool, tuple[tuple[float, float], ...] | None]:
    """Whether the box decode follows the head's Sigmoid (its wh branch squares: Pow), and the (w, h) in pixels
    it then multiplies by, when that anchor grid is a constant (it is not in an export without folding)."""
    frontier, seen, decoded = [sigmoid.outputs[0]], set(), False
    for _ in range(16):
        if not frontier:
            break
        tensor = frontier.pop(0)
        for node in graph.consumers(tensor):
            if node.name in seen or node.op_type not in DECODE_OPS:
                continue
            seen.add(node.name)
            decoded = decoded or node.op_type == "Pow"
            if node.op_type == "Mul":
                anchors = _anchor_operand(graph, node, na)
                if anchors is not None:
                    return True, anchors
            frontier.extend(node.outputs)
    return decoded, None


def _anchor_operand(graph: GraphView, mul: Node, na: int):
    data, other = mul.inputs
    if (graph.producer(data) is None or graph.producer(data).op_type != "Pow") and \
            (graph.producer(other) is not None and graph.producer(other).op_type == "Pow"):
        data, other = other, data
    if graph.producer(data) is None or graph.producer(data).op_type != "Pow":
        return None
    value = graph.constant(other)
    producer = graph.producer(other)
    if value is None and producer is not None and producer.op_type == "Expand":
        value = graph.constant(producer.inputs[0])  # an anchor grid expanded at run time
    if value is None or value.ndim != 5 or value.shape[1] != na or value.shape[-1] != 2:
        return None
    per_anchor = value.reshape(na, -1, 2)
    if not np.allclose(per_anchor, per_anchor[:, :1, :]):
        return None  # not one (w, h) per anchor: not an anchor grid
    return tuple((round(float(w), 3), round(float(h), 3)) for w, h in per_anchor[:, 0, :])
