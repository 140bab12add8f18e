"""`onnxlint rknn-build`: build a model with the real rknn-toolkit2 and, when a fusion rule crashes, retry with
the rules the toolkit itself names until a configuration builds (bounded). Reports what worked as the exact
rknn.config / load_onnx calls, and whether the knowledge base (TG008) had predicted the failure."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from onnxlint.core.sandbox import BUILD_TIMEOUT_S
from onnxlint.rknn import toolkit

if TYPE_CHECKING:
    from onnxlint.core.engine import Linted


@dataclass
class Attempt:
    disable_rules: list[str]
    failed_stage: str | None
    error: str | None
    fusion_rules: list[str]
    matched_nodes: list[str]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class BuildReport:
    model: str
    chip: str
    toolkit: str | None
    outputs: list[str] | None
    attempts: list[Attempt] = field(default_factory=list)
    cpu_layers: dict[str, int] = field(default_factory=dict)
    predicted: list[str] = field(default_factory=list)  # TG008 entries that matched the model
    log_path: str | None = None
    exported: str | None = None

    @property
    def built(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].failed_stage is None

    @property
    def calls(self) -> list[str]:
        """The calls that built, ready to paste (empty when nothing built)."""
        if not self.built:
            return []
        rules = self.attempts[-1].disable_rules
        config = f"rknn.config(target_platform='{self.chip}'" + (f", disable_rules={rules!r}" if rules else "") + ")"
        load = f"rknn.load_onnx(model='{self.model}'" + (f", outputs={self.outputs!r}" if self.outputs else "") + ")"
        return [config, load]

    @property
    def unpredicted(self) -> list[str]:
        """Fusion rules the build died in that no knowledge-base entry predicted."""
        from onnxlint.rknn.buildfail import build_failures
        from onnxlint.rknn.targets import installed_version, known_versions

        version = installed_version()
        known = {f.fusion_rule for f in build_failures(version)} if version in known_versions() else set()
        return [rule for attempt in self.attempts for rule in attempt.fusion_rules if rule not in known]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "model": self.model,
            "chip": self.chip,
            "toolkit": self.toolkit,
            "outputs": self.outputs,
            "built": self.built,
            "attempts": [a.to_dict() for a in self.attempts],
            "calls": self.calls,
            "cpu_layers": self.cpu_layers,
            "predicted": self.predicted,
            "unpredicted_fusion_rules": self.unpredicted,
            "log": self.log_path,
            "exported": self.exported,
        }


def predict(model: Path, chip: str) -> Linted:
    """The model linted for `chip` by the knowledge base's build-failure rule alone: its report says which known
    failures match, and its context holds the detection heads `--outputs auto` cuts at (one load for both).
    Raises OptionError when no toolkit knowledge applies."""
    from onnxlint.checks import ALL_RULES
    from onnxlint.checks.tg008_target_toolkit_failure import TargetToolkitFailure
    from onnxlint.pipeline import lint_with_context
    from onnxlint.settings.options import lint_setup

    setup = lint_setup({"target": chip, "select": [TargetToolkitFailure.code]}, None, ALL_RULES)
    return lint_with_context(model, setup)


def rknn_build(
    model: Path,
    chip: str,
    outputs: list[str] | None,
    rounds: int,
    log_path: Path,
    dataset: str | None = None,
    export: Path | None = None,
    timeout: int = BUILD_TIMEOUT_S,
    predicted: list[str] | None = None,
) -> BuildReport:
    report = BuildReport(
        model=str(model),
        chip=chip,
        toolkit=toolkit.installed_label(),
        outputs=outputs,
        predicted=list(predicted or []),
        log_path=str(log_path),
    )
    disabled: list[str] = []
    logs: list[str] = []
    for _ in range(rounds):
        started = time.perf_counter()
        # Build into a temporary file and move it only from a build that succeeded: never a half-written .rknn.
        staging = export.with_name(f".{export.name}.partial") if export else None
        result = toolkit.build(
            model,
            chip,
            verbose=True,
            timeout=timeout,
            config={"disable_rules": disabled} if disabled else None,
            outputs=outputs,
            dataset=dataset,
            export=staging,
        )
        logs.append(f"=== rknn-build attempt {len(logs) + 1}: disable_rules={disabled}\n{result.log}")
        new_rules = [rule for rule in result.suggested_rules if rule not in disabled]
        report.attempts.append(
            Attempt(
                disable_rules=list(disabled),
                failed_stage=result.failed_stage,
                error=next(iter(result.error_lines(1)), None) if result.failed_stage else None,
                fusion_rules=new_rules if result.failed_stage else [],
                matched_nodes=result.matched_nodes if result.failed_stage else [],
                seconds=round(time.perf_counter() - started, 2),
            )
        )
        if result.failed_stage is None:
            report.cpu_layers = result.cpu_layers
            if export and staging and staging.exists():
                staging.replace(export)
                report.exported = str(export)
            break
        if staging and staging.exists():
            staging.unlink()
        if not new_rules:
            break  # the toolkit named no rule to disable: retrying cannot help
        disabled += new_rules
    log_path.write_text("\n".join(logs), encoding="utf-8")
    return report
