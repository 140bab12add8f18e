from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

import numpy as np

from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, TargetRule

# Ratio of the widest to the narrowest output channel's weight range above which per-tensor int8 weights leave
# the narrow channels a level or so (127 / ratio). The narrow end is the live channels' 10th percentile.
RATIO = 100.0
DEAD = 1e-6  # channels whose weights are below this share of the widest are dead: nothing to lose
# Half a step of a per-layer int8 scale (max / 127): a channel whose weights and bias are both below this share of
# the layer's largest adds nothing at the precision the layer keeps. It is dead too, as a BatchNormalization whose
# gamma and beta decayed to zero leaves it after folding.
HALF_STEP = 1 / 254


class DepthwiseRangeDisparityData(TypedDict):
    ratio: float
    widest_channel: int
    crushed_channels: int
    folded: str | None  # the BatchNormalization folded in
    assumes: str


class DepthwiseRangeDisparity(TargetRule):
    """Runs with --target: it assumes rknn-toolkit2's symmetric int8 weights."""

    code = "QT002"
    name = "depthwise-range-disparity"
    summary = (
        "A depthwise convolution's channels have weight ranges so different that per-layer int8 weights crush the"
        " narrow ones"
    )
    severity = Severity.INFO
    data_type = DepthwiseRangeDisparityData

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for graph in ctx.graphs:
            for node in graph.nodes_of("Conv"):
                group = node.attr("group", 1)
                if len(node.inputs) < 2 or group < 2:
                    continue  # not depthwise: its weights are not read
                weights = graph.constant(node.inputs[1])  # small tensors only: depthwise kernels are
                if weights is None or weights.ndim != 4 or group != weights.shape[0] or weights.shape[1] != 1:
                    continue
                peaks = np.abs(weights.astype(np.float64)).reshape(weights.shape[0], -1).max(axis=1)
                folded, bias, bn = self._fold(graph, node, peaks)
                # Dead channels lose nothing: judge the live ones by their lowest tenth.
                alive = ~self._dead(folded, bias)
                live = folded[alive]
                if live.size < 10:
                    continue
                low = float(np.percentile(live, 10))
                ratio = float(live.max() / low)
                if ratio < RATIO:
                    continue
                wide = int(np.argmax(folded))
                crushed = int(np.sum(alive & (folded <= low)))
                via = f" after folding {bn.op_type} {bn.name}" if bn is not None else ""
                yield self.finding(
                    f"depthwise Conv {node.name}: {crushed} of its {live.size} live channels have weights of at most "
                    f"{low:.3g}{via}, {ratio:.0f}x below channel {wide}'s {folded[wide]:.3g}: with "
                    f"quantized_method='layer' (one symmetric int8 scale per tensor) they keep at most "
                    f"{127.0 / ratio:.1f} of 127 levels",
                    graph=graph,
                    node=node,
                    fix="Build with quantized_method='channel' (rknn-toolkit2's default: one scale per output "
                    "channel); if a chip or a tool forces per-layer weights, equalise the channel ranges across "
                    "this layer and the next (cross-layer equalisation, Nagel et al. 2019) before export",
                    data={
                        "ratio": round(ratio, 1),
                        "widest_channel": wide,
                        "crushed_channels": crushed,
                        "folded": bn.name if bn is not None else None,
                        "assumes": "symmetric int8 weights, quantized_method='layer'",
                    },
                )

    @staticmethod
    def _dead(peaks, bias):
        """Channels with weights zero or nearly, or with weights and bias both below half a per-layer int8 step
        of the layer's largest. A narrow channel with a bias like the others' is live: its weights carry the
        signal that per-layer int8 crushes."""
        negligible = (peaks < peaks.max() * HALF_STEP) & (np.abs(bias) < np.abs(bias).max() * HALF_STEP)
        return (peaks <= peaks.max() * DEAD) | negligible

    @staticmethod
    def _fold(graph, node, peaks):
        """(weight peaks, biases, BatchNormalization) per output channel after folding what alone reads the
        convolution: a BatchNormalization, as the toolkit folds it, or the Add of a per-channel constant, which
        is how paddle2onnx writes a convolution's bias."""
        channels = peaks.shape[0]
        own = graph.constant(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
        bias = own.astype(np.float64).reshape(-1) if own is not None and own.size == channels else np.zeros(channels)
        users = graph.consumers(node.outputs[0])
        if len(users) != 1:
            return peaks, bias, None
        user = users[0]
        if user.op_type == "Add" and len(user.inputs) == 2:
            added = graph.constant(user.inputs[1 - user.inputs.index(node.outputs[0])])
            if added is not None and added.size == channels and added.shape[-3:] in ((channels, 1, 1), (channels,)):
                return peaks, bias + added.astype(np.float64).reshape(-1), None
            return peaks, bias, None
        if user.op_type != "BatchNormalization":
            return peaks, bias, None
        gamma, beta, mean, variance = (graph.constant(user.inputs[i]) for i in (1, 2, 3, 4))
        if any(v is None or v.shape != peaks.shape for v in (gamma, beta, mean, variance)):
            return peaks, bias, None
        scale = gamma.astype(np.float64) / np.sqrt(variance.astype(np.float64) + user.attr("epsilon", 1e-5))
        return peaks * np.abs(scale), (bias - mean) * scale + beta, user
