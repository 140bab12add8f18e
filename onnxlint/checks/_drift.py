"""The shared body of the rules that run two versions of the model and compare their outputs."""

from __future__ import annotations

from typing import Callable, Iterator

from onnxlint.finding import Evidence, Finding, Severity
from onnxlint.registry import ModelContext, Rule


def drift_findings(rule: Rule, ctx: ModelContext, measure_name: str, versions: str, fix: str) -> Iterator[Finding]:
    """One finding per graph output whose two versions (`versions`, e.g. "as exported and as onnxsim simplifies
    it") differ beyond the --confirm tolerance; a measurement that cannot be made is one info finding."""
    from onnxlint.confirm import drift
    from onnxlint.confirm.runner import ModelRun

    run = ModelRun(str(ctx.model.path), ctx.settings, ctx.settings.run)
    measure: Callable = getattr(drift, measure_name)
    try:
        pairs = measure(run)
    except drift.NotDeterministic:
        return  # the model differs from itself (training-mode Dropout, random ops): NM002 and friends say why
    except Exception as exc:  # onnxsim or onnxruntime refusing the model is reported, never raised
        yield rule.finding(f"could not compare the outputs {versions}: {type(exc).__name__}: "
                           f"{' '.join(str(exc).split())[:300]}", severity=Severity.INFO,
                           data={"error": f"{type(exc).__name__}: {exc}"[:1000]})
        return
    tolerance = run.options.tolerance
    for name, metrics in pairs:
        if metrics.within(tolerance):
            continue
        detail = (f"seed {run.options.seed}, rtol {tolerance.rtol}, atol {tolerance.atol}: output '{name}' "
                  f"{versions}")
        yield rule.finding(
            f"output '{name}' differs {versions}: max abs {metrics.max_abs:.3g}, cosine {metrics.cosine:.6f}, "
            f"{metrics.mismatch_ratio:.1%} of values outside tolerance",
            tensor=name, fix=fix, data={"output": name, **metrics.to_dict()},
            evidence=Evidence(run.ort_label, "confirmed", metrics.to_dict(), detail))
