"""`--confirm`: attach numeric evidence to each finding whose rule declares a confirmer.

A rule declares how its findings are confirmed with its class attribute `confirmer` (onnxlint.confirm.confirmer);
the runner asks each finding's rule for it, runs it in a child process, and knows no rule. Confirmation never adds
or drops findings: it sets `Finding.evidence` ({backend, verdict: confirmed | refuted | inconclusive | skipped,
metrics, detail}). Refuted findings stay in the report, marked, and do not count toward --fail-on. Here too: the
model under confirmation (`ModelRun`) and the onnxruntime sessions every run of a model goes through.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx

from onnxlint.confirm.confirmer import INCONCLUSIVE, SKIPPED, Confirmer
from onnxlint.confirm.inputs import DEFAULT_SEED, random_inputs
from onnxlint.confirm.metrics import Tolerance
from onnxlint.core import sandbox
from onnxlint.core.errors import internal_error
from onnxlint.core.finding import Evidence, Finding, InternalError, Report
from onnxlint.core.registry import LintSettings, Rule
from onnxlint.core.sandbox import BUILD_TIMEOUT_S


@dataclass(frozen=True)
class ConfirmOptions:
    seed: int = DEFAULT_SEED
    inputs: Mapping[str, np.ndarray] | None = None  # the user's arrays, by input name
    reference: Mapping[str, np.ndarray] | None = None  # outputs the user saved (e.g. from PyTorch), by name
    tolerance: Tolerance = field(default_factory=Tolerance)
    toolkit_timeout: int = BUILD_TIMEOUT_S
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)  # of each child process that runs the model


def ort_label() -> str:
    import onnxruntime

    return f"onnxruntime {onnxruntime.__version__}"


class ModelRun:
    """One model under confirmation: its proto, its inputs, and cached onnxruntime and toolkit runs."""

    def __init__(self, path: str, settings: LintSettings, options: ConfirmOptions):
        self.path = path
        self.settings = settings
        self.options = options
        self.proto = onnx.load(path)  # with external data: confirmation runs the model
        self._builds: dict[str, object] = {}

    @property
    def ort_label(self) -> str:
        return ort_label()

    def inputs(self, sizes: Mapping[tuple[str, int], int] | None = None):
        return random_inputs(self.proto, seed=self.options.seed, sizes=sizes, given=self.options.inputs)

    def run(
        self,
        model: onnx.ModelProto,
        feeds: Mapping[str, np.ndarray],
        outputs: list[str] | None = None,
        optimized: bool = False,
    ):
        return run_model(model, feeds, outputs, optimized)

    def toolkit_build(self, config: Mapping[str, object] | None = None):
        """The rknn-toolkit2 build of this model for the target chip (cached per config)."""
        from onnxlint.rknn import toolkit

        if self.settings.target is None:
            raise RuntimeError("a toolkit build needs --target")
        key = repr(sorted((config or {}).items()))
        if key not in self._builds:
            self._builds[key] = toolkit.build(
                Path(self.path),
                self.settings.target.chip,
                verbose=True,
                timeout=self.options.toolkit_timeout,
                config=dict(config or {}),
                inputs=self.inputs(),
            )
        return self._builds[key]


def run_model(
    model: onnx.ModelProto, feeds: Mapping[str, np.ndarray], outputs: list[str] | None = None, optimized: bool = False
) -> list[np.ndarray]:
    """Outputs of `model` in onnxruntime: all graph outputs, or the tensors `outputs` names (intermediate ones
    are exposed as graph outputs for the run). Graph optimisations off, or all on."""
    return exposed_runner(model, outputs or (), optimized)(feeds, outputs)


def exposed_runner(
    model: onnx.ModelProto, exposed: Iterable[str], optimized: bool = False
) -> Callable[[Mapping[str, np.ndarray], list[str] | None], list[np.ndarray]]:
    """A session of `model` with the tensors `exposed` names added to its graph outputs, as a function
    (feeds, names or None for all) -> values. The model is left as it was, and not copied: the outputs are added
    for serialising and taken off again. onnxruntime's memory arena is off, so memory a run used goes back."""
    import onnxruntime

    present = {value.name for value in model.graph.output}
    hidden = [name for name in dict.fromkeys(exposed) if name not in present]
    count = len(model.graph.output)
    model.graph.output.extend(onnx.ValueInfoProto(name=name) for name in hidden)
    try:
        serialized = model.SerializeToString()
    finally:
        del model.graph.output[count:]
    session_options = onnxruntime.SessionOptions()
    session_options.graph_optimization_level = (
        onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        if optimized
        else onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    )
    session_options.log_severity_level = 3
    session_options.enable_cpu_mem_arena = False
    session_options.enable_mem_pattern = False
    session = onnxruntime.InferenceSession(serialized, session_options, providers=["CPUExecutionProvider"])
    del serialized
    names = {i.name for i in session.get_inputs()}

    def run(feeds: Mapping[str, np.ndarray], outputs: list[str] | None = None) -> list[np.ndarray]:
        return session.run(outputs, {k: v for k, v in feeds.items() if k in names})

    return run


def confirm_reports(
    reports: Iterable[Report], rules: Iterable[Rule], settings: LintSettings, options: ConfirmOptions = ConfirmOptions()
) -> list[Report]:
    """The reports with evidence on every finding (those of rules without a confirmer: skipped)."""
    how = {rule.code: rule.confirmer for rule in rules}
    confirmed = []
    for report in reports:
        if report.error or not report.findings or report.path.endswith(".py"):
            confirmed.append(report)
            continue
        evidence, crashes = _confirm_model(report, how, settings, options)
        findings = tuple(
            dataclasses.replace(f, evidence=evidence[index]) if index in evidence else f
            for index, f in enumerate(report.findings)
        )
        confirmed.append(
            dataclasses.replace(report, findings=findings, internal_errors=(*report.internal_errors, *crashes))
        )
    return confirmed


def _confirm_model(
    report: Report, how: Mapping[str, Confirmer | None], settings: LintSettings, options: ConfirmOptions
) -> tuple[dict[int, Evidence], list[InternalError]]:
    """({finding index: evidence} for the findings without evidence yet, the confirmers that crashed). The
    confirmations of one model run in one child process under options.limits; evidence streams back as each
    completes, so that a run stopped by a limit leaves inconclusive only the findings it had not reached."""
    evidence = {
        index: Evidence("onnxlint", SKIPPED, detail="this rule has no numeric confirmation")
        for index, finding in enumerate(report.findings)
        if finding.evidence is None and how.get(finding.code) is None
    }
    pending = [
        (index, finding, confirmer.chosen(finding))
        for index, finding in enumerate(report.findings)
        if finding.evidence is None and (confirmer := how.get(finding.code)) is not None
    ]
    crashes: list[InternalError] = []
    if not pending:
        return evidence, crashes

    def received(index: int, found: Evidence, crash: InternalError | None) -> None:
        evidence[index] = found
        if crash is not None:
            crashes.append(crash)

    try:
        sandbox.run(confirm_in_child, report.path, settings, options, pending, limits=options.limits, on_emit=received)
        return evidence, crashes
    except sandbox.LimitExceeded as exc:
        stopped = f"the confirmation run {exc.reason}"
    except Exception as exc:  # a model that takes the run down leaves its findings unconfirmed, never the lint
        stopped = f"the confirmation failed: {type(exc).__name__}: {one_line(str(exc))}"
    for index, _, confirmer in pending:
        evidence.setdefault(index, Evidence(confirmer.name, INCONCLUSIVE, detail=stopped))
    return evidence, crashes


def confirm_in_child(
    path: str, settings: LintSettings, options: ConfirmOptions, pending: list[tuple[int, Finding, Confirmer]]
) -> None:
    """In the sandbox's child: emit (index, evidence, internal error or None) for each pending finding, as each
    is confirmed."""
    run = ModelRun(path, settings, options)
    for index, finding, confirmer in pending:
        sandbox.emit(index, *_evidence(run, finding, confirmer))


def _evidence(run: ModelRun, finding: Finding, confirmer: Confirmer) -> tuple[Evidence, InternalError | None]:
    """The confirmer's evidence. One that breaks says so and never takes the lint down; when what broke is
    onnxlint's own code rather than onnxruntime, onnx or the toolkit refusing the model, it is also an internal
    error (with its traceback), since it is a bug to fix."""
    try:
        return confirmer.confirm(run, finding), None
    except Exception as exc:
        if sandbox.out_of_memory(exc):
            over = f"the confirmation {run.options.limits.over_memory}"
            return Evidence(confirmer.name, INCONCLUSIVE, detail=over), None
        failed = Evidence(
            confirmer.name, INCONCLUSIVE, detail=f"the confirmation failed: {type(exc).__name__}: {one_line(str(exc))}"
        )
        if type(exc).__module__.split(".")[0] in ("onnxruntime", "onnx"):
            return failed, None
        return failed, internal_error(f"{finding.code} confirmation", exc, run.path)


def one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
