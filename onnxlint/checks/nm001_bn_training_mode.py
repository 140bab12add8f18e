from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.confirm.ort import InferenceMode
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.graph import Node
from onnxlint.core.registry import ModelContext, Rule


class BnTrainingModeData(TypedDict):
    count: int
    reason: str
    nodes: list[str]


class BnTrainingMode(Rule):
    code = "NM001"
    name = "bn-training-mode"
    summary = "BatchNormalization is exported in training mode"
    severity = Severity.ERROR
    data_type = BnTrainingModeData
    confirmer = InferenceMode(op_type="BatchNormalization")

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        offenders = [
            (graph, node, reason)
            for graph in ctx.graphs
            for node in graph.nodes_of("BatchNormalization")
            if (reason := batchnorm_training_reason(node, graph.opset("")))
        ]
        if not offenders:
            return
        graph, first, reason = offenders[0]
        subject, verb = (
            (f"{len(offenders)} BatchNormalization nodes are", "they normalise")
            if len(offenders) > 1
            else ("BatchNormalization is", "it normalises")
        )
        yield self.finding(
            f"{subject} in training mode ({reason} on {first.name}): {verb} with the statistics of "
            f"each batch instead of the trained running statistics",
            graph=graph,
            node=first,
            related=[(g, n) for g, n, _ in offenders[1:]],
            fix="Call model.eval() before torch.onnx.export and export with "
            "training=torch.onnx.TrainingMode.EVAL (the default)",
            data={"count": len(offenders), "reason": reason, "nodes": [n.name for _, n, _ in offenders]},
        )


def batchnorm_training_reason(node: Node, opset: int | None) -> str | None:
    if node.attr("training_mode", 0) == 1:
        return "training_mode=1"
    extra = [name for name in node.outputs[1:] if name]
    if extra:
        return f"{len(extra)} running-statistics outputs"
    if opset is not None and opset <= 6 and node.attr("is_test", 0) == 0:
        return "is_test=0"
    return None
