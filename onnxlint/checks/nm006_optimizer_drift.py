from __future__ import annotations

from collections.abc import Iterator

from onnxlint.checks._drift import DriftData, drift_findings
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, RunRule


class OptimizerDrift(RunRule):
    code = "NM006"
    name = "optimizer-drift"
    summary = "onnxruntime's graph optimisations change the model's outputs (runs with --confirm)"
    severity = Severity.WARNING
    data_type = DriftData

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        yield from drift_findings(
            self,
            ctx,
            "optimizer_drift",
            "between onnxruntime with graph optimisations off and all on",
            fix="Compare accuracy with the optimisation level the deployment uses; NPU toolkits fuse operators the "
            "same way, so a model this sensitive needs checking on the board too",
        )
