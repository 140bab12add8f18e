"""Value ranges a graph fixes by itself, read from its operators and small constants (no run, no weights).

`static_range(graph, tensor)` is (lo, hi) when the graph bounds the tensor: Sigmoid/HardSigmoid/Softmax give
[0, 1], Tanh [-1, 1], Clip its constant bounds, Relu clips the low end, and value-moving nodes (Reshape,
Transpose, Slice, Split, Concat, ...) and affine steps with constants (Mul, Add, Sub, Div by a constant) carry a
known range through. `constant_scale(graph, tensor)` is the largest constant factor a Mul applied on the way
to the tensor (through value-moving nodes and constant offsets), such as a YOLO stride turning grid units
into pixels, or None.
"""

from __future__ import annotations

import numpy as np

from onnxlint.core.graph import GraphView

UNIT = {
    "Sigmoid": (0.0, 1.0),
    "HardSigmoid": (0.0, 1.0),
    "Softmax": (0.0, 1.0),
    "LogSoftmax": None,
    "Tanh": (-1.0, 1.0),
}
MOVES = (
    "Reshape",
    "Transpose",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Identity",
    "Slice",
    "Split",
    "Gather",
    "MaxPool",
    "Expand",
    "Tile",
    "DepthToSpace",
    "SpaceToDepth",
)
DEPTH = 64


def static_range(graph: GraphView, tensor: str, depth: int = 0) -> tuple[float, float] | None:
    node = graph.producer(tensor)
    if node is None or depth > DEPTH or node.domain not in ("", "ai.onnx"):
        return None
    op = node.op_type
    if op in UNIT:
        return UNIT[op]
    if op in MOVES:
        return static_range(graph, node.inputs[0], depth + 1) if node.inputs else None
    if op == "Concat":
        parts = [static_range(graph, name, depth + 1) for name in node.inputs]
        known = [p for p in parts if p is not None]
        if not known or len(known) < len(parts):
            return None
        return min(p[0] for p in known), max(p[1] for p in known)
    if op == "Relu":
        inner = static_range(graph, node.inputs[0], depth + 1)
        return None if inner is None else (max(inner[0], 0.0), max(inner[1], 0.0))
    if op == "Clip":
        low, high = _clip_bounds(graph, node)
        inner = static_range(graph, node.inputs[0], depth + 1)
        if low is None or high is None:
            return (
                None
                if inner is None
                else (
                    max(inner[0], low if low is not None else -np.inf),
                    min(inner[1], high if high is not None else np.inf),
                )
            )
        return (low, high) if inner is None else (max(low, inner[0]), min(high, inner[1]))
    if op in ("Mul", "Add", "Sub", "Div") and len(node.inputs) == 2:
        # One input is a constant (c_lo..c_hi), the other at `position` has a range of its own.
        first, second = (_constant_range(graph, name) for name in node.inputs)
        if first is None and second is not None:
            position, (c_lo, c_hi) = 0, second
        elif first is not None and second is None:
            position, (c_lo, c_hi) = 1, first
        else:
            return None
        inner = static_range(graph, node.inputs[position], depth + 1)
        if inner is None:
            return None
        if op == "Add":
            return inner[0] + c_lo, inner[1] + c_hi
        if op == "Sub":
            return (inner[0] - c_hi, inner[1] - c_lo) if position == 0 else (c_lo - inner[1], c_hi - inner[0])
        if op == "Div" and (position == 1 or c_lo <= 0 <= c_hi):
            return None
        factors = (c_lo, c_hi) if op == "Mul" else (1 / c_lo, 1 / c_hi)
        corners = [a * b for a in inner for b in factors]
        return min(corners), max(corners)
    return None


def constant_scale(graph: GraphView, tensor: str, depth: int = 0) -> tuple[float, str] | None:
    """(largest |factor|, Mul node name) of a constant Mul on the way to `tensor`, or None."""
    node = graph.producer(tensor)
    if node is None or depth > DEPTH:
        return None
    if node.op_type in MOVES or node.op_type == "Concat":
        scales = [
            constant_scale(graph, name, depth + 1)
            for name in (node.inputs[:1] if node.op_type != "Concat" else node.inputs)
        ]
        found = [f for f in scales if f is not None]
        return max(found) if found else None
    if node.op_type in ("Mul", "Add", "Sub") and len(node.inputs) == 2:
        ranges = [_constant_range(graph, name) for name in node.inputs]
        if node.op_type == "Mul":
            for position, value in enumerate(ranges):
                if value is not None and ranges[1 - position] is None:
                    return max(abs(value[0]), abs(value[1])), node.name
            return None
        for position, value in enumerate(ranges):  # an offset: look through it
            if value is not None and ranges[1 - position] is None:
                return constant_scale(graph, node.inputs[1 - position], depth + 1)
    return None


def _constant_range(graph: GraphView, name: str) -> tuple[float, float] | None:
    value = graph.constant(name)
    if value is None or value.size == 0 or value.dtype.kind not in "fiu":
        return None
    return float(np.min(value)), float(np.max(value))


def _clip_bounds(graph: GraphView, node) -> tuple[float | None, float | None]:
    if len(node.inputs) > 1 or (graph.opset("") or 11) >= 11:
        bounds = []
        for position in (1, 2):
            name = node.inputs[position] if len(node.inputs) > position else ""
            value = _constant_range(graph, name) if name else None
            bounds.append(None if value is None else value[0])
        return bounds[0], bounds[1]
    return node.attr("min", None), node.attr("max", None)
