from __future__ import annotations

from typing import Iterator, TypedDict

from onnxlint.checks._ranges import constant_scale, static_range
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, TargetRule

# An input the graph bounds to a span this small (probabilities, [0, 1]) ...
NARROW_SPAN = 2.0
# ... joined with one at least this much wider, or scaled by a constant at least this large (a stride in pixels).
WIDER = 16.0
SCALE = 8.0


class MixedRangeConcatData(TypedDict):
    narrow_input: str
    narrow_range: list[float]
    wide_input: str
    wide_span: float | None
    scaled_by: float | None
    assumes: str


class MixedRangeConcat(TargetRule):
    """Runs with --target: the int8 scheme it assumes is rknn-toolkit2's."""

    code = "QT001"
    name = "mixed-range-concat"
    summary = "A Concat joins a bounded input (scores in 0-1) with a much wider one (boxes in pixels) in one int8 tensor"
    severity = Severity.WARNING
    data_type = MixedRangeConcatData

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for graph in ctx.graphs:
            for node in graph.nodes_of("Concat"):
                ranges = {name: static_range(graph, name) for name in dict.fromkeys(node.inputs)}
                narrow = [(name, r) for name, r in ranges.items() if r is not None and r[1] - r[0] <= NARROW_SPAN]
                if not narrow:
                    continue
                span = max(r[1] - r[0] for _, r in narrow)
                wide = None
                for name, r in ranges.items():
                    if r is not None and r[1] - r[0] >= WIDER * max(span, 1e-6):
                        wide = (name, f"the graph bounds it to [{r[0]:.4g}, {r[1]:.4g}]", r[1] - r[0], None)
                        break
                    scale = constant_scale(graph, name) if r is None else None
                    if scale is not None and scale[0] >= SCALE:
                        wide = (name, f"{scale[1]} multiplies it by up to {scale[0]:.4g}", None, scale[1])
                        break
                if wide is None:
                    continue
                name, how, wide_span, scaler = wide
                levels = (f"about {256 * span / wide_span:.0f} of 256 levels" if wide_span
                          else "a few of the 256 levels")
                yield self.finding(
                    f"Concat {node.name} joins '{narrow[0][0]}' in [{narrow[0][1][0]:.4g}, {narrow[0][1][1]:.4g}] "
                    f"with '{name}' ({how}): quantized as one asymmetric int8 tensor per layer (rknn-toolkit2's "
                    f"w8a8 activations), the narrow input keeps {levels}",
                    graph=graph, node=node,
                    fix="Cut the model before this Concat (rknn.load_onnx(outputs=[...]) with each input as its own "
                        "output, joined in post-processing), so each part gets its own int8 range; or keep the "
                        "Concat in float16 (custom_quantize_layers in the .quantization.cfg; not on rv1106/rv1103). "
                        "'onnxlint quant' measures the loss",
                    data={"narrow_input": narrow[0][0], "narrow_range": list(narrow[0][1]), "wide_input": name,
                          "wide_span": wide_span, "scaled_by": scaler,
                          "assumes": "asymmetric int8 per-tensor activations (w8a8)"})
