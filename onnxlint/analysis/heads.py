"""Recognise YOLO detection heads in an exported graph and read back what the export baked in.

Anchor-based heads (YOLOv5/v7 `Detect`): per level a Conv with na * (5 + nc) channels, reshaped to
[batch, na, 5 + nc, ny, nx] and transposed to [batch, na, ny, nx, 5 + nc]; at export time a box decode
(sigmoid, grid offsets, anchor scaling) follows. Anchors are stored divided by the stride and scaled
back by it, so the constant that multiplies the squared wh is the anchor in pixels.

Anchor-free heads (YOLOv8/YOLO11 `Detect`): per level a box Conv with 4 * reg_max channels and a class
Conv with nc channels, flattened to [batch, C, ny * nx] and concatenated over levels; the box branch
goes through the DFL (Reshape [batch, 4, reg_max, anchors] -> Softmax), the class branch through a Sigmoid.

The head's raw convolution outputs are what rknn_model_zoo's post-processing expects from the board,
so they are the tensors to pass to `rknn.load_onnx(outputs=[...])`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any, TypeVar, cast

import numpy as np
import onnx

from onnxlint.analysis.layout import channel_axis, image_height
from onnxlint.core.graph import CONTROL_FLOW, GraphView, Node
from onnxlint.core.model import DeclaredValue, LoadedModel, type_and_shape

DETECT_PERMUTATION = [0, 1, 3, 4, 2]  # [b, na, no, ny, nx] -> [b, na, ny, nx, no]
# Ops between the head's Sigmoid and the anchor multiplication in the exporters' decode.
DECODE_OPS = frozenset({"Split", "Slice", "Gather", "Mul", "Add", "Sub", "Pow", "Expand", "Concat", "Identity"})
COCO_ANCHORS_PX = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))
# The input size at which strides are read when the model's is dynamic: any multiple of the largest stride works.
CONCRETE_SIZE = 640
# What a model cut at its head convolutions no longer says: YOLOv5/v7 Detect has 3 anchors per level, and the
# YOLOv8/YOLO11 DFL 16 bins per box side (told from the class branch when both channel counts divide by 4).
CUT_ANCHORS = 3
DEFAULT_REG_MAX = 16
# Constant subgraphs up to this many nodes are evaluated (an export without constant folding leaves the head's
# reshape targets and anchor grids as arithmetic on constants).
FOLD_LIMIT = 48
_T = TypeVar("_T")
RANDOM_OPS = frozenset(
    {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"}
)


@dataclass(frozen=True)
class HeadLevel:
    convs: tuple[Node, ...]  # the head convolutions of this level: one (anchor-based) or box + class
    shape: tuple  # of the first convolution's output: [batch, channels, ny, nx]
    stride: int | None
    sigmoid_in_graph: bool
    decode_in_graph: bool
    anchors_px: tuple[tuple[float, float], ...] | None = None  # read back from the decode, if the graph has one
    permuted: str | None = None  # anchor-based: the [batch, na, ny, nx, 5 + nc] tensor Detect builds

    @property
    def conv(self) -> Node:
        return self.convs[0]

    @property
    def tensors(self) -> list[str]:
        """The raw convolution outputs: where to cut the model."""
        return [conv.outputs[0] for conv in self.convs]

    def to_dict(self) -> dict[str, Any]:
        return {
            "tensors": self.tensors,
            "nodes": [conv.name for conv in self.convs],
            "shape": list(self.shape),
            "stride": self.stride,
            "sigmoid_in_graph": self.sigmoid_in_graph,
            "decode_in_graph": self.decode_in_graph,
            "anchors_px": [list(pair) for pair in self.anchors_px] if self.anchors_px else None,
        }


@dataclass(frozen=True)
class DetectionHead:
    family: str  # "yolov5" (anchor-based: YOLOv5/v7) or "yolov8" (anchor-free: YOLOv8/YOLO11)
    nc: int
    na: int | None  # anchors per level (anchor-based)
    levels: tuple[HeadLevel, ...]  # in stride order
    reg_max: int | None = None  # DFL bins per box side (anchor-free)
    cut: bool = False  # the model already ends at the head convolutions (read from its outputs)

    @property
    def decode_in_graph(self) -> bool:
        return any(level.decode_in_graph for level in self.levels)

    @property
    def rknn_outputs(self) -> list[str]:
        return [tensor for level in self.levels for tensor in level.tensors]

    @property
    def strides_text(self) -> str:
        return "/".join(str(level.stride or "?") for level in self.levels)

    @property
    def anchors_px(self) -> list[list[float]] | None:
        """yolov5 yaml layout: one row per level, (w, h) pairs flattened."""
        rows = []
        for level in self.levels:
            if not level.anchors_px:
                return None
            rows.append([value for pair in level.anchors_px for value in pair])
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "nc": self.nc,
            "na": self.na,
            "reg_max": self.reg_max,
            "strides": [level.stride for level in self.levels],
            "anchors_px": self.anchors_px,
            "decode_in_graph": self.decode_in_graph,
            "cut": self.cut,
            "rknn_outputs": self.rknn_outputs,
            "levels": [level.to_dict() for level in self.levels],
        }


def model_heads(model: LoadedModel, main: GraphView) -> list[DetectionHead]:
    """Heads of a model's main graph, strides measured against its one image input (if it has one).

    With a dynamic input size the strides are read at a concrete size instead (CONCRETE_SIZE, shapes inferred
    once on a copy). A model already cut at its head convolutions has its head read from its outputs."""
    images = [value for value in model.declared_inputs if channel_axis(value.shape) is not None]
    height = image_height(images[0].shape) if len(images) == 1 else None
    heads = detect_heads(main, height) or cut_heads(main, height)
    if heads and len(images) == 1 and any(level.stride is None for head in heads for level in head.levels):
        heads = _with_concrete_strides(model, main, images[0], heads)
    return heads


def detect_heads(graph: GraphView, image_height: int | None) -> list[DetectionHead]:
    return _anchor_based_heads(graph, image_height) + _anchor_free_heads(graph, image_height)


def _stride(image_height: int | None, ny) -> int | None:
    if isinstance(image_height, int) and isinstance(ny, int) and ny > 0 and image_height % ny == 0:
        return image_height // ny
    return None


def _anchor_based_heads(graph: GraphView, image_height: int | None) -> list[DetectionHead]:
    """Anchor-based YOLO heads in a graph; levels that share (na, nc) form one head."""
    levels: dict[tuple[int, int], list[HeadLevel]] = {}
    # Start from Detect's Transpose: graphs have few Transposes and many Convs.
    for transpose in graph.nodes_of("Transpose"):
        found = _anchor_based_level(graph, transpose, image_height)
        if found:
            na, no, level = found
            levels.setdefault((na, no - 5), []).append(level)
    return [
        DetectionHead("yolov5", nc, na, tuple(sorted(group, key=_stride_order)))
        for (na, nc), group in levels.items()
        if len(group) >= 2
    ]


def _stride_order(level: HeadLevel) -> tuple:
    # With a dynamic input size the strides are unknown; Detect's levels are then in graph order (P3, P4, P5).
    return (level.stride is None, level.stride or 0, level.conv.index)


def _anchor_based_level(graph: GraphView, transpose: Node, image_height: int | None):
    """The level whose Detect Transpose this is: Conv -> Reshape [b, na, no, ny, nx] -> Transpose."""
    if list(transpose.attr("perm", [])) != DETECT_PERMUTATION:
        return None
    reshape = graph.producer(transpose.inputs[0])
    if reshape is None or reshape.op_type != "Reshape":
        return None
    conv = graph.producer(reshape.inputs[0])
    if (
        conv is None
        or conv.op_type != "Conv"
        or _data_consumer(graph, conv.outputs[0], "Reshape") is not reshape
        or _data_consumer(graph, reshape.outputs[0], "Transpose") is not transpose
    ):
        return None
    conv_shape = graph.shape(conv.outputs[0])
    if conv_shape is None or len(conv_shape) != 4:
        return None
    found = _anchors_and_outputs(graph, reshape)
    if found is None:
        return None
    na, no = found
    if na * no != conv_shape[1] or no < 6:
        return None
    ny = conv_shape[2]
    stride = _stride(image_height, ny)
    sigmoid = _data_consumer(graph, transpose.outputs[0], "Sigmoid")
    decoded, anchors = _decode(graph, sigmoid, na) if sigmoid else (False, None)
    return (
        na,
        no,
        HeadLevel(
            (conv,), tuple(conv_shape), stride, sigmoid is not None, decoded, anchors, permuted=transpose.outputs[0]
        ),
    )


def _anchors_and_outputs(graph: GraphView, reshape: Node) -> tuple[int, int] | None:
    """(na, 5 + nc) from the head's Reshape to [batch, na, no, ny, nx]."""
    dims = _reshape_dims(graph, reshape)
    if dims is None or len(dims) != 5:
        return None
    na, no = dims[1:3]
    return (na, no) if isinstance(na, int) and isinstance(no, int) and na > 0 and no > 0 else None


def _reshape_dims(graph: GraphView, reshape: Node) -> list[int | None] | None:
    """A Reshape's output dims: inferred, or, when a dynamic input size hides them, the constants in the
    Concat that builds its target shape (exporters assemble [batch, na, no, ny, nx] that way)."""
    inferred = graph.shape(reshape.outputs[0])
    if inferred is not None and all(isinstance(d, int) for d in inferred[1:3]):
        return [d if isinstance(d, int) else None for d in inferred]
    if len(reshape.inputs) != 2:
        return None
    target = constant_value(graph, reshape.inputs[1])
    if target is not None:
        # A shape is int64 by the spec; any other type is a malformed file whose dims say nothing.
        return [int(d) if d > 0 else None for d in target.reshape(-1)] if target.dtype.kind in "iu" else None
    concat = graph.producer(reshape.inputs[1])
    if concat is None or concat.op_type != "Concat":
        return None
    pieces = [_scalar(graph, name) for name in concat.inputs]
    values = [p.item() if p is not None and p.dtype.kind in "iu" else None for p in pieces]  # Python ints
    return [v if v is not None and v > 0 else None for v in values]


def _scalar(graph: GraphView, name: str) -> np.generic | None:
    value = constant_value(graph, name, max_elements=1)
    return value.reshape(-1)[0] if value is not None and value.size == 1 else None


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
    if len(mul.inputs) != 2:
        return None
    data, other = mul.inputs

    def squared(tensor: str) -> bool:
        producer = graph.producer(tensor)
        return producer is not None and producer.op_type == "Pow"

    if not squared(data) and squared(other):
        data, other = other, data
    if not squared(data):
        return None
    value = constant_value(graph, other)
    producer = graph.producer(other)
    if value is None and producer is not None and producer.op_type == "Expand":
        value = constant_value(graph, producer.inputs[0])  # an anchor grid expanded at run time
    if value is None or value.ndim != 5 or value.shape[1] != na or value.shape[-1] != 2 or value.dtype.kind != "f":
        return None
    per_anchor = value.reshape(na, -1, 2)
    if not np.allclose(per_anchor, per_anchor[:, :1, :]):
        return None  # not one (w, h) per anchor: not an anchor grid
    return tuple((round(float(w), 3), round(float(h), 3)) for w, h in per_anchor[:, 0, :])


def _anchor_free_heads(graph: GraphView, image_height: int | None) -> list[DetectionHead]:
    """YOLOv8/YOLO11 heads, found from their DFL Softmax back to the per-level convolutions."""
    heads = []
    for softmax in graph.nodes_of("Softmax"):
        dfl = _dfl_input(graph, softmax)
        if dfl is None:
            continue
        flat, reg_max = dfl
        box_levels, class_levels, nc = _box_and_class_convs(graph, flat, reg_max)
        if not box_levels or len(box_levels) != len(class_levels) or len(box_levels) < 2:
            continue
        sigmoid = any(
            node.op_type == "Sigmoid" for conv in class_levels for node in _downstream(graph, conv.outputs[0], 4)
        )
        levels = []
        for box, cls in zip(box_levels, class_levels):
            shape = _head_map(graph, box)
            levels.append(HeadLevel((box, cls), shape, _stride(image_height, shape[2]), sigmoid, True))
        heads.append(DetectionHead("yolov8", nc, None, tuple(sorted(levels, key=_stride_order)), reg_max))
    return heads


def _dfl_input(graph: GraphView, softmax: Node) -> tuple[str, int] | None:
    """(the [batch, 4 * reg_max, anchors] box tensor, reg_max) feeding a DFL: Reshape -> (Transpose) -> Softmax."""
    node = graph.producer(softmax.inputs[0])
    if node is not None and node.op_type == "Transpose":
        node = graph.producer(node.inputs[0])
    if node is None or node.op_type != "Reshape":
        return None
    dims = _reshape_dims(graph, node)
    if dims is None or len(dims) != 4 or dims[1] != 4 or dims[2] is None:
        return None
    return node.inputs[0], dims[2]


def _box_and_class_convs(graph: GraphView, flat: str, reg_max: int):
    """Per-level box and class convolutions behind the DFL's input, in either export layout:
    box and class concatenated separately over levels (recent ultralytics), or concatenated per level
    and split after the level concat (ultralytics 8.0)."""
    producer = graph.producer(flat)
    if producer is not None and producer.op_type == "Concat":
        boxes = _flattened_convs(graph, producer)
        if boxes and all(_head_map(graph, c)[1] == 4 * reg_max for c in boxes):
            classes, nc = _sibling_class_convs(graph, producer, boxes)
            return boxes, classes, nc
    if producer is not None and producer.op_type in ("Split", "Slice"):
        pairs = _concatenated_levels(graph, graph.producer(producer.inputs[0]))
        if pairs:
            return [b for b, _ in pairs], [c for _, c in pairs], _head_map(graph, pairs[0][1])[1]
    return [], [], None


def _concatenated_levels(graph: GraphView, levels: Node | None) -> list[tuple[Node, Node]]:
    """(box, class) convolutions of each level in ultralytics 8.0's level Concat, where every level is a Concat of
    its two flattened convolutions; [] for anything else."""
    if levels is None or levels.op_type != "Concat":
        return []
    pairs = []
    for name in levels.inputs:
        concat = _flattened_source(graph, graph.producer(name))
        if concat is None or concat.op_type != "Concat" or len(concat.inputs) != 2:
            return []
        box, cls = (graph.producer(name) for name in concat.inputs)
        if box is None or cls is None or not _feature_map(graph, box) or not _feature_map(graph, cls):
            return []
        pairs.append((box, cls))
    return pairs


def _feature_map(graph: GraphView, conv: Node | None) -> tuple | None:
    """The [batch, C, ny, nx] output shape of a head convolution; None for any other node, or a Conv whose output
    shape is unknown or not 4-D (the level's sizes, and so the head, cannot be read)."""
    if conv is None or conv.op_type != "Conv" or not conv.outputs:
        return None
    shape = graph.shape(conv.outputs[0])
    return tuple(shape) if shape is not None and len(shape) == 4 else None


def _head_map(graph: GraphView, conv: Node) -> tuple:
    """The feature map of a convolution already accepted as a head convolution (its _feature_map is known)."""
    shape = _feature_map(graph, conv)
    assert shape is not None, conv.name
    return shape


def _flattened_source(graph: GraphView, reshape: Node | None) -> Node | None:
    """The node whose [batch, C, ny, nx] output a Reshape flattens to [batch, C, ny * nx]."""
    if reshape is None or reshape.op_type != "Reshape":
        return None
    return graph.producer(reshape.inputs[0])


def _flattened_convs(graph: GraphView, concat: Node) -> list[Node]:
    sources = [_flattened_source(graph, graph.producer(name)) for name in concat.inputs]
    convs = [source for source in sources if source is not None and _feature_map(graph, source)]
    return convs if len(convs) == len(sources) else []


def _sibling_class_convs(graph: GraphView, box_concat: Node, boxes: list[Node]) -> tuple[list[Node], int | None]:
    """The class branch: another level concat of flattened convolutions, with the box branch's spatial sizes
    where they are known, that feeds a Sigmoid."""
    sizes = [_head_map(graph, c)[2:] for c in boxes]
    for concat in graph.nodes_of("Concat"):
        if concat is box_concat or len(concat.inputs) != len(boxes):
            continue
        classes = _flattened_convs(graph, concat)
        if not classes or len({_head_map(graph, c)[1] for c in classes}) != 1:
            continue
        class_sizes = [_head_map(graph, c)[2:] for c in classes]
        static = all(isinstance(d, int) for size in sizes + class_sizes for d in size)
        if (
            class_sizes == sizes
            if static
            else any(node.op_type == "Sigmoid" for node in _downstream(graph, concat.outputs[0], 2))
        ):
            return classes, _head_map(graph, classes[0])[1]
    return [], None


def _downstream(graph: GraphView, tensor: str, depth: int) -> list[Node]:
    """Nodes within `depth` consumer hops of a tensor."""
    found, frontier = [], [tensor]
    for _ in range(depth):
        nodes = [node for name in frontier for node in graph.consumers(name)]
        found.extend(nodes)
        frontier = [output for node in nodes for output in node.outputs]
    return found


def constant_value(graph: GraphView, name: str, max_elements: int = 1 << 16) -> np.ndarray | None:
    """The value of a tensor computed from constants alone: a constant, or a small subgraph of ops on constants
    and on the shapes of tensors whose shapes are fixed, evaluated with onnx's reference evaluator. None for
    anything else, including a subgraph the evaluator cannot run (a malformed model)."""
    if not name:
        return None
    value = graph.constant(name, max_elements)
    if value is not None or graph.producer(name) is None:
        return value
    nodes: dict[int, Node] = {}
    leaves: dict[str, np.ndarray] = {}
    stack, seen = [name], set()
    while stack:
        tensor = stack.pop()
        if not tensor or tensor in seen:
            continue
        seen.add(tensor)
        value = graph.constant(tensor)
        if value is not None:
            leaves[tensor] = value
            continue
        node = graph.producer(tensor)
        if (
            node is None
            or node.domain not in ("", "ai.onnx")
            or node.op_type in CONTROL_FLOW
            or node.op_type in RANDOM_OPS
        ):
            return None  # a graph input, or an op whose value is not fixed
        if node.op_type == "Shape":
            shape = graph.shape(node.inputs[0])
            if shape is None or not all(isinstance(d, int) for d in shape):
                return None
            leaves[tensor] = np.array(shape[node.attr("start", 0) : node.attr("end", None)], dtype=np.int64)
            continue
        nodes[node.index] = node
        if len(nodes) > FOLD_LIMIT:
            return None
        stack.extend(node.inputs)
    try:
        from onnx.reference import ReferenceEvaluator  # loaded only for exports without constant folding

        fold = onnx.helper.make_graph(
            [nodes[index].proto for index in sorted(nodes)],
            "fold",
            [],
            [onnx.helper.make_empty_tensor_value_info(name)],
            initializer=[onnx.numpy_helper.from_array(np.asarray(v), n) for n, v in leaves.items()],
        )
        model = onnx.helper.make_model(fold, opset_imports=[onnx.helper.make_opsetid("", graph.opset("") or 13)])
        # run() returns a dict only when asked for intermediate results
        outputs = cast(list[Any], ReferenceEvaluator(model).run(None, {}))
        result = np.asarray(outputs[0])
    except Exception:  # the reference evaluator raises anything on a malformed subgraph
        return None
    return result if result.size <= max_elements else None


def cut_heads(graph: GraphView, image_height: int | None) -> list[DetectionHead]:
    """The head of a model already cut at its head convolutions: every graph output is a 4-D Conv output, one
    (anchor-based, na * (5 + nc) channels) or two (anchor-free: 4 * reg_max box and nc class channels) per
    feature-map size, and each size halves the one before. na and reg_max are not in such a graph: the usual
    values (CUT_ANCHORS, DEFAULT_REG_MAX) are assumed where the channel counts allow them."""
    convs = _every([graph.producer(name) for name in graph.output_names])
    if convs is None or len(convs) < 2 or any(conv.op_type != "Conv" for conv in convs):
        return []
    shapes = _every([_feature_map(graph, conv) for conv in convs])
    if shapes is None or not all(isinstance(d, int) and d > 0 for shape in shapes for d in shape[1:]):
        return []
    by_size: dict[tuple, list[Node]] = {}
    for conv, shape in zip(convs, shapes):
        by_size.setdefault(tuple(shape[2:]), []).append(conv)
    sizes = sorted(by_size, reverse=True)  # the largest map, the smallest stride, first
    if len(sizes) < 2 or any(big != (2 * small[0], 2 * small[1]) for big, small in pairwise(sizes)):
        return []
    per_level = {len(found) for found in by_size.values()}
    if per_level == {1}:
        channels = {shape[1] for shape in shapes}
        no = channels.pop() // CUT_ANCHORS if len(channels) == 1 else 0
        if no < 6 or no * CUT_ANCHORS != shapes[0][1]:
            return []
        levels = tuple(
            HeadLevel(
                (by_size[size][0],), _head_map(graph, by_size[size][0]), _stride(image_height, size[0]), False, False
            )
            for size in sizes
        )
        return [DetectionHead("yolov5", no - 5, CUT_ANCHORS, levels, cut=True)]
    if per_level == {2}:
        pairs = _every([_box_and_class(graph, by_size[size]) for size in sizes])
        if pairs is None:
            return []
        boxes = {_head_map(graph, box)[1] for box, _ in pairs}
        classes = {_head_map(graph, cls)[1] for _, cls in pairs}
        if len(boxes) != 1 or len(classes) != 1:
            return []
        levels = tuple(
            HeadLevel(pair, _head_map(graph, pair[0]), _stride(image_height, size[0]), False, False)
            for pair, size in zip(pairs, sizes)
        )
        return [DetectionHead("yolov8", classes.pop(), None, levels, boxes.pop() // 4, cut=True)]
    return []


def _every(items: list[_T | None]) -> list[_T] | None:
    """The items, or None if any of them is None."""
    present = [item for item in items if item is not None]
    return present if len(present) == len(items) else None


def _box_and_class(graph: GraphView, pair: list[Node]) -> tuple[Node, Node] | None:
    """(box, class) convolutions of one level: the box branch has 4 * reg_max channels."""
    first, second = pair
    candidates = [(box, cls) for box, cls in ((first, second), (second, first)) if _head_map(graph, box)[1] % 4 == 0]
    if len(candidates) == 2:  # nc divides by 4 too: the usual reg_max decides, else the output order
        usual = [p for p in candidates if _head_map(graph, p[0])[1] == 4 * DEFAULT_REG_MAX]
        candidates = usual or candidates
    return candidates[0] if candidates else None


def _with_concrete_strides(
    model: LoadedModel, graph: GraphView, image: DeclaredValue, heads: list[DetectionHead]
) -> list[DetectionHead]:
    """The heads with strides read at CONCRETE_SIZE: shapes inferred once on a copy of the model whose image
    input has a fixed batch of 1 and fixed spatial dims. Heads are returned unchanged where that says nothing."""
    assert image.shape is not None  # model_heads passes only an image input, whose shape has a channel axis
    axis = channel_axis(image.shape)
    spatial = (2, 3) if axis == 1 else (1, 2)
    fixed = [
        d if isinstance(d, int) and d > 0 else 1 if i == 0 else CONCRETE_SIZE if i in spatial else None
        for i, d in enumerate(image.shape)
    ]
    if any(d is None for d in fixed) or model.checker_error:
        return heads  # onnx's C++ inference can crash the process on a graph the checker rejects
    try:
        copy = onnx.ModelProto()
        copy.CopyFrom(model.proto)
        del copy.graph.value_info[:]
        for value in copy.graph.output:
            if value.type.HasField("tensor_type"):
                value.type.tensor_type.ClearField("shape")
        for value in copy.graph.input:
            if value.name == image.name:
                dims = value.type.tensor_type.shape.dim
                for dim, size in zip(dims, fixed):
                    dim.Clear()
                    dim.dim_value = size
        inferred = onnx.shape_inference.infer_shapes(copy, data_prop=True)
    except Exception:  # onnx's inference raises anything on a malformed model
        return heads
    sizes = {
        value.name: type_and_shape(value.type)[1] for value in (*inferred.graph.value_info, *inferred.graph.output)
    }
    height = fixed[spatial[0]]
    result = []
    for head in heads:
        levels = []
        for level in head.levels:
            shape = sizes.get(level.tensors[0])
            stride = level.stride
            if stride is None and shape is not None and len(shape) == 4:
                stride = _stride(height, shape[2])
            levels.append(replace(level, stride=stride))
        result.append(replace(head, levels=tuple(sorted(levels, key=_stride_order))))
    return result
