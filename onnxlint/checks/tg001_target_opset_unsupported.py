from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.confirm.toolkit_build import BuildFails, ToolkitBuild
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, TargetRule


class TargetOpsetUnsupportedData(TypedDict):
    model_opset: int
    max_opset: int
    toolkit: str


class TargetOpsetUnsupported(TargetRule):
    code = "TG001"
    name = "target-opset-unsupported"
    summary = "The model's opset is above what the deployment toolkit loads"
    severity = Severity.ERROR
    data_type = TargetOpsetUnsupportedData
    confirmer = ToolkitBuild(claim=BuildFails(words=("opset",)))

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        facts = ctx.target.toolkit
        opset = ctx.main.opset("")
        if opset is None or opset <= facts.max_opset:
            return
        yield self.finding(
            f"the model imports opset {opset} but {facts.label} loads opset <= {facts.max_opset}: load_onnx "
            f"fails with '{facts.opset_refusal.format(opset=opset, max_opset=facts.max_opset)}'",
            fix=f"Re-export with opset_version={facts.max_opset} (the dynamo exporter writes 18 by default), or "
            f"convert with onnx.version_converter.convert_version(model, {facts.max_opset}) and re-check",
            data={"model_opset": opset, "max_opset": facts.max_opset, "toolkit": facts.label},
        )
