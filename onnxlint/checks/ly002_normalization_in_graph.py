from __future__ import annotations

from typing import Iterator

from onnxlint.core.finding import Finding, Severity
from onnxlint.analysis.layout import format_values, in_graph_normalization
from onnxlint.core.registry import ModelContext, Rule


class NormalizationInGraph(Rule):
    code = "LY002"
    name = "normalization-in-graph"
    summary = "An image input is scaled or mean/std-normalised inside the graph"
    severity = Severity.INFO
    confirmation = "double-normalization"

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for value in ctx.model.declared_inputs:
            found = in_graph_normalization(ctx.main, value.name, value.shape)
            if found is None:
                continue
            yield self.finding(
                f"input '{value.name}' is normalised inside the graph by "
                f"{', '.join(f'{n.op_type} {n.name}' for n in found.nodes)}: equivalent to "
                f"mean_values={format_values(found.mean)}, std_values={format_values(found.std)}",
                node=found.nodes[0], tensor=value.name,
                fix="Do not normalise again in the deployment config (rknn.config mean_values/std_values, a "
                    "toolchain's mean/scale): keep mean 0, std 1 there; or remove these ops and configure the "
                    "values there instead, where the NPU applies them for free",
                data={"mean_values": found.mean, "std_values": found.std, "ops": [n.name for n in found.nodes]})
