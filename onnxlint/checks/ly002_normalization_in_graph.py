from __future__ import annotations

from typing import Iterator

import numpy as np

from onnxlint.layout import ELEMENTWISE, channel_axis, single_chain
from onnxlint.finding import Finding, Severity
from onnxlint.graph import GraphView, Node
from onnxlint.registry import ModelContext, Rule

ARITHMETIC = frozenset({"Div", "Mul", "Sub", "Add"})


class NormalizationInGraph(Rule):
    code = "LY002"
    name = "normalization-in-graph"
    summary = "An image input is scaled or mean/std-normalised inside the graph"
    severity = Severity.INFO

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        graph = ctx.main
        for value in ctx.model.declared_inputs:
            axis = channel_axis(value.shape)
            if axis is None:
                continue
            channels = value.shape[axis]
            scale = np.ones(channels)   # the chain so far computes scale * x + offset, per channel
            offset = np.zeros(channels)
            applied: list[Node] = []
            for node in single_chain(graph, value.name, ELEMENTWISE | {"Transpose"}):
                if node.op_type == "Transpose":
                    axis = list(node.attr("perm", [])).index(axis)
                    continue
                if node.op_type not in ARITHMETIC:
                    continue
                step = _affine_step(graph, node, axis, len(value.shape), channels)
                if step is None:
                    break
                scale, offset = step[0] * scale, step[0] * offset + step[1]
                applied.append(node)
            if not applied or np.any(scale == 0) or (np.allclose(scale, 1) and np.allclose(offset, 0)):
                continue
            # The NPU toolkits' convention: y = (x - mean) / std.
            std = 1.0 / scale
            mean = -offset / scale
            yield self.finding(
                f"input '{value.name}' is normalised inside the graph by "
                f"{', '.join(f'{n.op_type} {n.name}' for n in applied)}: equivalent to "
                f"mean_values={_fmt(mean)}, std_values={_fmt(std)}",
                node=applied[0], tensor=value.name,
                fix="Do not normalise again in the deployment config (rknn.config mean_values/std_values, a "
                    "toolchain's mean/scale): keep mean 0, std 1 there; or remove these ops and configure the "
                    "values there instead, where the NPU applies them for free",
                data={"mean_values": _rounded(mean), "std_values": _rounded(std),
                      "ops": [n.name for n in applied]})


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


def _fmt(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:g}" for v in _rounded(values)) + "]"
