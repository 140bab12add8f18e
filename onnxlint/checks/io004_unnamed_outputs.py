from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TypedDict

from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, Rule

# Names the torch TorchScript exporter invents when output_names is not given: "867", "onnx::Reshape_446".
_GENERATED = re.compile(r"^(\d+|onnx::\w+?_\d+)$")


class UnnamedOutputsData(TypedDict):
    name: str


class UnnamedOutputs(Rule):
    code = "IO004"
    name = "unnamed-outputs"
    summary = "Graph outputs carry exporter-generated numeric names"
    severity = Severity.WARNING
    data_type = UnnamedOutputsData

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for value in ctx.model.declared_outputs:
            if _GENERATED.match(value.name):
                yield self.finding(
                    f"output '{value.name}' has a name the exporter generated; it changes with every export",
                    tensor=value.name,
                    fix="Pass output_names=[...] to torch.onnx.export so deployment code can refer to stable names",
                    data={"name": value.name},
                )
