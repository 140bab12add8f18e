"""The shared body of the rules that run two versions of the model and compare their outputs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NotRequired, TypedDict

from onnxlint.core.finding import Evidence, Finding, Severity
from onnxlint.core.registry import ModelContext, Rule


class DriftData(TypedDict):
    """An output that differs, with the metrics of the two versions (onnxlint.confirm.metrics.Metrics); or the
    error that kept the two from being compared."""

    error: NotRequired[str]
    output: NotRequired[str]
    # Metrics.to_dict(): a float that is not finite is written as a string ("inf", "nan"); JSON has no infinity.
    max_abs: NotRequired[float | str]
    max_rel: NotRequired[float | str]
    mismatch_ratio: NotRequired[float | str]
    cosine: NotRequired[float | str]
    snr_db: NotRequired[float | str]
    nan_reference: NotRequired[int]
    nan_actual: NotRequired[int]
    inf_reference: NotRequired[int]
    inf_actual: NotRequired[int]
    size: NotRequired[int]


def drift_findings(rule: Rule, ctx: ModelContext, measure_name: str, versions: str, fix: str) -> Iterator[Finding]:
    """One finding per graph output whose two versions (`versions`, e.g. "as exported and as onnxsim simplifies
    it") differ beyond the --confirm tolerance; a measurement that cannot be made is one info finding. The
    model runs in a child process under the --confirm limits."""
    from onnxlint.confirm import drift
    from onnxlint.confirm.runner import ort_label
    from onnxlint.core import sandbox

    options = ctx.run
    try:
        pairs = sandbox.run(drift.measure, measure_name, str(ctx.model.path), ctx.settings, limits=options.limits)
    except drift.NotDeterministic:
        return  # the model differs from itself (training-mode Dropout, random ops): NM002 and friends say why
    except sandbox.LimitExceeded as exc:
        yield rule.finding(
            f"could not compare the outputs {versions}: the run {exc.reason}",
            severity=Severity.INFO,
            data={"error": exc.reason},
            evidence=Evidence(ort_label(), "inconclusive", detail=f"the run {exc.reason}"),
        )
        return
    except Exception as exc:  # onnxsim or onnxruntime refusing the model is reported, never raised
        yield rule.finding(
            f"could not compare the outputs {versions}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}",
            severity=Severity.INFO,
            data={"error": f"{type(exc).__name__}: {exc}"[:1000]},
        )
        return
    tolerance = options.tolerance
    for name, metrics in pairs:
        if metrics.within(tolerance):
            continue
        detail = f"seed {options.seed}, rtol {tolerance.rtol}, atol {tolerance.atol}: output '{name}' {versions}"
        yield rule.finding(
            f"output '{name}' differs {versions}: max abs {metrics.max_abs:.3g}, cosine {metrics.cosine:.6f}, "
            f"{metrics.mismatch_ratio:.1%} of values outside tolerance",
            tensor=name,
            fix=fix,
            data={"output": name, **metrics.to_dict()},
            evidence=Evidence(ort_label(), "confirmed", metrics.to_dict(), detail),
        )
