from __future__ import annotations

from collections.abc import Iterator

from onnxlint.checks._drift import DriftData, drift_findings
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, RunRule


class ReferenceMismatch(RunRule):
    code = "NM007"
    name = "reference-mismatch"
    summary = "The model's outputs differ from the reference outputs saved from the framework (--reference)"
    severity = Severity.ERROR
    data_type = DriftData

    def skip_model_reason(self, ctx: ModelContext) -> str | None:
        return None if ctx.run.reference else "no --reference outputs given"

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        yield from drift_findings(
            self,
            ctx,
            "reference_mismatch",
            "between the reference you saved and onnxruntime on the same inputs",
            fix="Check that --inputs are the exact arrays the reference was computed from (same preprocessing, "
            "model.eval()), then find the first diverging layer: export an intermediate model or use "
            "`onnxlint compare`",
        )
