"""The confirmer that builds the model for the chip with the real rknn-toolkit2 and compares what the build does
with what a finding claims: that the build fails (`BuildFails`), that layers go to the CPU (`OnCpu`), or that an
I/O type is rewritten (`Converts`). The rule gives the claim, or a function of its finding's data that makes it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from onnxlint.confirm.confirmer import CONFIRMED, INCONCLUSIVE, REFUTED, SKIPPED, Confirmer
from onnxlint.confirm.runner import ModelRun
from onnxlint.core.finding import Evidence, Finding, Verdict


@dataclass(frozen=True)
class BuildFails:
    """The build fails, and its message is about the finding: it names the finding's node or operator, or one of
    `words` (the refusal's own words, when it names no node), or the log holds one of `log_words`."""

    words: tuple[str, ...] = ()
    log_words: tuple[str, ...] = ()

    def named_in(self, finding: Finding, result) -> bool:
        text = " ".join(result.error_lines(limit=10)) + " " + (result.failed_stage or "")
        names = (finding.location.node, finding.location.op_type, *self.words)
        return any(name and name in text for name in names) or any(word in result.log for word in self.log_words)


@dataclass(frozen=True)
class OnCpu:
    """The build succeeds with one of the layers the finding predicts on the CPU: its operator, the CPU kernels it
    names as missing, and the layers its probe case (`probe_case`, else the operator's baseline case) showed."""

    probe_case: str | None = None
    missing_kernels: tuple[str, ...] = ()

    def expected_layers(self, run: ModelRun, finding: Finding) -> set[str]:
        op_type = finding.location.op_type
        expected = set(self.missing_kernels) | ({op_type} if op_type else set())
        knowledge = run.settings.target.knowledge if run.settings.target else None
        if knowledge is not None:
            case = knowledge.cases.get(self.probe_case or "") or knowledge.baseline.get(op_type or "")
            if case is not None:
                expected |= set(case.cpu_layers)
        return expected


@dataclass(frozen=True)
class Converts:
    """The build rewrites an input or output of type `dtype`, and prints the toolkit's conversion message."""

    dtype: str


BuildClaim = BuildFails | OnCpu | Converts


def message_tail(message: str | None) -> str:
    """The end of a toolkit message a probe recorded (after any "..." it was cut at), as a failing build's error
    lines would end it: enough to tell the message, short enough to survive the toolkit's rewording of the start."""
    return (message or "").split("...")[-1].strip(" '")[-30:]


@dataclass(frozen=True)
class ToolkitBuild(Confirmer):
    """Build the model for the `--target` chip (int8 with a generated calibration sample where the chip builds only
    quantized) and judge `claim`: one claim for every finding, or a function of the finding's data that makes it
    (None: a build does not show this finding). With `deployment_preprocessing`, the build gets the deployment's
    --mean and --std as mean_values and std_values."""

    name = "toolkit-build"
    claim: BuildClaim | Callable[[Any], BuildClaim | None]
    deployment_preprocessing: bool = False

    def confirm(self, run: ModelRun, finding: Finding) -> Evidence:
        from onnxlint.rknn import toolkit

        label = toolkit.installed_label()
        if label is None:
            return Evidence("rknn-toolkit2", SKIPPED, detail=toolkit.toolkit_missing())
        if run.settings.target is None:
            return Evidence(label, SKIPPED, detail="building with the toolkit needs --target")
        chip = run.settings.target.chip
        backend = f"{label} ({chip})"
        claim = self.claim(finding.data) if callable(self.claim) else self.claim
        if claim is None:
            return Evidence(backend, SKIPPED, detail="a build does not show this finding")
        config = {}
        if self.deployment_preprocessing:
            config = {
                key: [list(values)]
                for key, values in (("mean_values", run.settings.mean), ("std_values", run.settings.std))
                if values
            }
        result = run.toolkit_build(config)
        if result.failed_stage:
            words = "; ".join(result.error_lines()) or "no error line"
            detail = f"the build fails at {result.failed_stage}: {words}"
            if isinstance(claim, BuildFails):
                named = claim.named_in(finding, result)
                return Evidence(
                    backend,
                    CONFIRMED if named else INCONCLUSIVE,
                    detail=detail if named else detail + " (the message does not name the finding's node or cause)",
                )
            return Evidence(backend, INCONCLUSIVE, detail=detail)
        if isinstance(claim, BuildFails):
            return Evidence(backend, REFUTED, detail="the build succeeds")
        if isinstance(claim, Converts):
            message = run.settings.target.toolkit.io_dtype_conversions.get(claim.dtype, {}).get("message", "")
            shown = bool(message) and message.removeprefix("W ") in result.log
            return Evidence(
                backend,
                CONFIRMED if shown else REFUTED,
                detail=f"the build {'prints' if shown else 'does not print'} the conversion message",
            )
        cpu = result.cpu_layers
        listing = ", ".join(f"{layer} x{count}" for layer, count in sorted(cpu.items())) or "none"
        # Confirmed when a predicted layer is on the CPU.
        verdict: Verdict = CONFIRMED if claim.expected_layers(run, finding) & set(cpu) else REFUTED
        return Evidence(backend, verdict, detail=f"the build succeeds; CPU layers: {listing}")
