from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.analysis.exportscript import Symbol
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ExportScriptRule, ScriptContext, torchscript_exporter_may_run


class ExportTrainingModeData(TypedDict):
    training: str  # the TrainingMode member the call passes: "TRAINING" or "PRESERVE"


class ExportTrainingMode(ExportScriptRule):
    code = "EX001"
    name = "export-training-mode"
    summary = "torch.onnx.export is asked to export in training mode"
    severity = Severity.ERROR
    data_type = ExportTrainingModeData

    def check_script(self, ctx: ScriptContext) -> Iterator[Finding]:
        for call in ctx.exports:
            if not torchscript_exporter_may_run(call):
                continue  # the dynamo exporter ignores `training`
            training = call.literal("training")
            mode = training.last if isinstance(training, Symbol) else training
            if mode == "TRAINING" or mode is True:
                yield self.finding(
                    "torch.onnx.export(training=TrainingMode.TRAINING) makes the TorchScript exporter (dynamo=False, "
                    "the default before torch 2.9) keep BatchNorm and Dropout in training mode: the model normalises "
                    "with batch statistics and drops activations at inference",
                    line=call.line,
                    fix="Remove the training argument (EVAL is the default) and call model.eval() before exporting",
                    data={"training": "TRAINING"},
                )
            elif mode == "PRESERVE":
                yield self.finding(
                    "torch.onnx.export(training=TrainingMode.PRESERVE) exports whatever mode the module is in; "
                    "a module not switched with .eval() exports in training mode",
                    line=call.line,
                    severity=Severity.WARNING,
                    fix="Use the default TrainingMode.EVAL and call model.eval() before exporting",
                    data={"training": "PRESERVE"},
                )
