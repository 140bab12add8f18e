from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.checks._opschema import schema_at, standard_operators
from onnxlint.confirm.ort import OrtLoad
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, Rule

# What the ONNX changelog names as the successor of each deprecated operator version.
REPLACEMENTS = {
    ("", "Upsample"): "Resize",
    ("", "Scatter"): "ScatterElements",
    ("", "GroupNormalization"): "GroupNormalization from opset 21 (at opset 18 scale and bias hold one value per "
    "group, from 21 one per channel)",
    ("ai.onnx.ml", "TreeEnsembleClassifier"): "TreeEnsemble (ai.onnx.ml opset 5)",
    ("ai.onnx.ml", "TreeEnsembleRegressor"): "TreeEnsemble (ai.onnx.ml opset 5)",
}


class DeprecatedOpData(TypedDict):
    deprecated_since: int
    model_opset: int
    replacement: str | None


class DeprecatedOp(Rule):
    code = "OP002"
    name = "deprecated-op"
    summary = "Operator is deprecated at the model's opset, so onnx.checker rejects the model"
    severity = Severity.ERROR
    data_type = DeprecatedOpData
    confirmer = OrtLoad()

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for graph, domain, op_type, opset, nodes in standard_operators(ctx.graphs):
            schema = schema_at(op_type, opset, domain)
            if schema is None or not schema.deprecated:
                continue
            replacement = REPLACEMENTS.get((domain, op_type), "its successor in the ONNX changelog")
            for node in nodes:
                yield self.finding(
                    f"{op_type} is deprecated since opset {schema.since_version} and the model imports "
                    f"opset {opset}: onnx.checker rejects it",
                    graph=graph,
                    node=node,
                    fix=f"Re-export so the graph uses {replacement}",
                    data={"deprecated_since": schema.since_version, "model_opset": opset, "replacement": replacement},
                )
