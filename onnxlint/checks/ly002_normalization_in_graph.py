from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.analysis.layout import format_values, in_graph_normalization
from onnxlint.confirm.ort import DoubleNormalization
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, Rule


class NormalizationInGraphData(TypedDict):
    mean_values: list[float]
    std_values: list[float]
    ops: list[str]


def _graph_values(data: NormalizationInGraphData) -> tuple[list[float], list[float]]:
    """The suspected second pass applies the graph's own values."""
    return data["mean_values"], data["std_values"]


class NormalizationInGraph(Rule):
    code = "LY002"
    name = "normalization-in-graph"
    summary = "An image input is scaled or mean/std-normalised inside the graph"
    severity = Severity.INFO
    data_type = NormalizationInGraphData
    confirmer = DoubleNormalization(values=_graph_values)

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for value in ctx.model.declared_inputs:
            found = in_graph_normalization(ctx.main, value.name, value.shape)
            if found is None:
                continue
            yield self.finding(
                f"input '{value.name}' is normalised inside the graph by "
                f"{', '.join(f'{n.op_type} {n.name}' for n in found.nodes)}: equivalent to "
                f"mean_values={format_values(found.mean)}, std_values={format_values(found.std)}",
                node=found.nodes[0],
                tensor=value.name,
                fix="Do not normalise again in the deployment config (rknn.config mean_values/std_values, a "
                "toolchain's mean/scale): keep mean 0, std 1 there; or remove these ops and configure the "
                "values there instead, where the NPU applies them for free",
                data={"mean_values": found.mean, "std_values": found.std, "ops": [n.name for n in found.nodes]},
            )
