from __future__ import annotations

from collections.abc import Iterator

from onnxlint.checks._drift import DriftData, drift_findings
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, RunRule


class SimplifierDrift(RunRule):
    code = "NM005"
    name = "simplifier-drift"
    summary = "onnxsim's simplified model gives other outputs than the model as exported (runs with --confirm)"
    severity = Severity.WARNING
    data_type = DriftData

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        yield from drift_findings(
            self,
            ctx,
            "simplifier_drift",
            "between the model as exported and as onnxsim simplifies it",
            fix="Deploy the model onnxsim produced only after checking accuracy on real data; find the first "
            "diverging node with `onnxlint compare model.onnx simplified.onnx`, and skip the pass that changes "
            "it (onnxsim --skip-optimization, or keep the op out of constant folding)",
        )
