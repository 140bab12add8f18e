from __future__ import annotations

from typing import Iterator, TypedDict

import numpy as np

from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, TargetRule

# Ratio of the widest to the narrowest output channel's weight range above which per-tensor int8 weights leave
# the narrow channels a level or so (127 / ratio). The narrow end is the live channels' 10th percentile.
RATIO = 100.0
DEAD = 1e-6  # channels below this share of the widest are dead: nothing to lose


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
    summary = "A depthwise convolution's channels have weight ranges so different that per-layer int8 weights crush the narrow ones"
    severity = Severity.INFO
    data_type = DepthwiseRangeDisparityData

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for graph in ctx.graphs:
            for node in graph.nodes_of("Conv"):
                if len(node.inputs) < 2:
                    continue
                weights = graph.constant(node.inputs[1])  # small tensors only: depthwise kernels are
                group = node.attr("group", 1)
                if weights is None or weights.ndim != 4 or group < 2 or group != weights.shape[0] \
                        or weights.shape[1] != 1:
                    continue
                peaks = np.abs(weights.astype(np.float64)).reshape(weights.shape[0], -1).max(axis=1)
                folded, bn = self._fold(graph, node, peaks)
                # Dead channels (weights zero or nearly) lose nothing: judge the live ones by their lowest tenth.
                live = folded[folded > folded.max() * DEAD]
                if live.size < 10:
                    continue
                low = float(np.percentile(live, 10))
                ratio = float(live.max() / low)
                if ratio < RATIO:
                    continue
                wide = int(np.argmax(folded))
                crushed = int(np.sum((folded > folded.max() * DEAD) & (folded <= low)))
                via = f" after folding {bn.op_type} {bn.name}" if bn is not None else ""
                yield self.finding(
                    f"depthwise Conv {node.name}: {crushed} of its {live.size} live channels have weights of at most "
                    f"{low:.3g}{via}, {ratio:.0f}x below channel {wide}'s {folded[wide]:.3g}: with "
                    f"quantized_method='layer' (one symmetric int8 scale per tensor) they keep at most "
                    f"{127.0 / ratio:.1f} of 127 levels",
                    graph=graph, node=node,
                    fix="Build with quantized_method='channel' (rknn-toolkit2's default: one scale per output "
                        "channel); if a chip or a tool forces per-layer weights, equalise the channel ranges across "
                        "this layer and the next (cross-layer equalisation, Nagel et al. 2019) before export",
                    data={"ratio": round(ratio, 1), "widest_channel": wide, "crushed_channels": crushed,
                          "folded": bn.name if bn is not None else None,
                          "assumes": "symmetric int8 weights, quantized_method='layer'"})

    @staticmethod
    def _fold(graph, node, peaks):
        """Per-channel peaks after folding a BatchNormalization that follows the convolution."""
        users = graph.consumers(node.outputs[0])
        if len(users) != 1 or users[0].op_type != "BatchNormalization":
            return peaks, None
        bn = users[0]
        scale, variance = graph.constant(bn.inputs[1]), graph.constant(bn.inputs[4])
        if scale is None or variance is None or scale.shape != peaks.shape or variance.shape != peaks.shape:
            return peaks, None
        epsilon = bn.attr("epsilon", 1e-5)
        return peaks * np.abs(scale.astype(np.float64)) / np.sqrt(variance.astype(np.float64) + epsilon), bn
