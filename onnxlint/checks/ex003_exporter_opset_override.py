from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ExportScriptRule, ScriptContext

# The lowest opset the torch dynamo exporter (the default since torch 2.9) has implementations for.
DYNAMO_MIN_OPSET = 18


class ExporterOpsetOverrideData(TypedDict):
    opset_version: int
    dynamo: bool | None  # the call's literal dynamo= argument, None when it has none


class ExporterOpsetOverride(ExportScriptRule):
    code = "EX003"
    name = "exporter-opset-override"
    summary = "opset_version below 18 without dynamo=False: torch >= 2.9 may export opset 18 anyway"
    severity = Severity.WARNING
    data_type = ExporterOpsetOverrideData

    def check_script(self, ctx: ScriptContext) -> Iterator[Finding]:
        for call in ctx.exports:
            opset = call.literal("opset_version")
            if not isinstance(opset, int) or opset >= DYNAMO_MIN_OPSET:
                continue
            if call.literal("dynamo") is False or (call.has_star_kwargs and not call.given("dynamo")):
                continue  # the legacy exporter honours opset_version (or **kwargs may choose it)
            yield self.finding(
                f"opset_version={opset} without dynamo=False: torch >= 2.9 exports with the dynamo exporter, "
                f"which builds opset {DYNAMO_MIN_OPSET} and only tries to convert down to {opset}; when that "
                f"fails the file keeps opset {DYNAMO_MIN_OPSET}",
                line=call.line,
                fix=f"Pass dynamo=False to get opset {opset} from the TorchScript exporter, or target "
                f"opset_version={DYNAMO_MIN_OPSET} and check your runtime accepts it",
                data={"opset_version": opset, "dynamo": call.literal("dynamo")},
            )
