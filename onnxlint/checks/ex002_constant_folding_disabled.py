from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ExportScriptRule, ScriptContext, torchscript_exporter_may_run


class ConstantFoldingDisabledData(TypedDict):
    do_constant_folding: bool


class ConstantFoldingDisabled(ExportScriptRule):
    code = "EX002"
    name = "constant-folding-disabled"
    summary = "torch.onnx.export is called with do_constant_folding=False"
    severity = Severity.WARNING
    data_type = ConstantFoldingDisabledData

    def check_script(self, ctx: ScriptContext) -> Iterator[Finding]:
        for call in ctx.exports:
            if call.literal("do_constant_folding") is False and torchscript_exporter_may_run(call):
                yield self.finding(
                    "torch.onnx.export(do_constant_folding=False) makes the TorchScript exporter (dynamo=False, the "
                    "default before torch 2.9) leave shape arithmetic and unfolded BatchNorm/constant subgraphs in "
                    "the model, which NPU converters handle poorly",
                    line=call.line,
                    fix="Remove do_constant_folding=False (True is the default), or run onnxsim on the result",
                    data={"do_constant_folding": False},
                )
