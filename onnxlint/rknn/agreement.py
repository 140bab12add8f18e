"""Agreement between onnxlint's placement and rknn-toolkit2's builds of one-op models (tools/placement_agreement.py
records the builds, tests/test_placement_agreement.py checks the figures the README states).

Both sides are reduced to three outcomes: `npu`, `cpu` (the operator's own layer runs on the CPU) and `refused`
(load_onnx or build fails, or the toolkit process dies: the user gets no model either way).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import onnx

import onnxlint
from onnxlint.core.finding import Severity
from onnxlint.core.registry import PlacementRule, TargetRule
from onnxlint.rknn.placement import CPU, NPU, own_layer_on_cpu

REFUSED = "refused"
RANK = {NPU: 0, CPU: 1, REFUSED: 2}


def load_results(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text("utf-8"))


def toolkit_outcome(op_type: str, verdict: Mapping[str, Any]) -> str:
    """What the toolkit did with the one-op model, as npu, cpu or refused."""
    if verdict["outcome"] in ("unsupported", "error"):
        return REFUSED
    cpu_layers = tuple(layer for layer, _, target in verdict["layers"] if target == "CPU")
    return CPU if verdict["outcome"] == CPU and own_layer_on_cpu(op_type, cpu_layers) else NPU


def predicted_outcome(model: onnx.ModelProto, chip: str, toolkit: str) -> str:
    """What onnxlint's target rules say the toolkit does with the model on `chip`: the worst of their findings. A
    finding that carries the measured outcome (a CPU fallback, a refusal, a crash) says it; another placement
    finding means the CPU; an error of any other target rule (opset, input sizes or types, a known build failure)
    means the build fails; warnings and notes (a type the toolkit converts) change nothing."""
    report = onnxlint.lint(model, target=chip, toolkit=toolkit, select=sorted(_target_rules()[TargetRule]))
    if report.error is not None:
        raise ValueError(report.error)
    worst = NPU
    for finding in report.findings:
        if "outcome" in finding.data:
            outcome = CPU if finding.data["outcome"] == CPU else REFUSED
        elif finding.code in _target_rules()[PlacementRule]:
            outcome = CPU
        elif finding.severity is Severity.ERROR:
            outcome = REFUSED
        else:
            continue
        worst = max(worst, outcome, key=RANK.__getitem__)
    return worst


@cache
def _target_rules() -> dict[type, frozenset[str]]:
    """{TargetRule: the codes of the rules about the toolkit's target (not the quantization rules, which need a
    target too), PlacementRule: those among them that place nodes}."""
    from onnxlint.checks import ALL_RULES  # here: the rules import the rknn package this module is part of

    target = frozenset(
        rule.code for rule in ALL_RULES if isinstance(rule, TargetRule) and rule.name.startswith("target-")
    )
    placement = frozenset(rule.code for rule in ALL_RULES if isinstance(rule, PlacementRule))
    return {TargetRule: target, PlacementRule: placement}


@dataclass(frozen=True)
class Disagreement:
    case: str
    toolkit: str
    predicted: str
    cause: str | None  # the recorded explanation's cause, None where there is none


@dataclass
class ChipAgreement:
    agree: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.agree + len(self.disagreements)


def case_model(case: Mapping[str, Any]) -> onnx.ModelProto:
    return onnx.load_from_string(base64.b64decode(case["model"]))


def agreement(results: Mapping[str, Any]) -> dict[str, ChipAgreement]:
    """Per chip, the recorded cases where onnxlint predicts what the toolkit did, and the others with their
    recorded cause (`explanations`: {chip: {case: cause}})."""
    explanations = results.get("explanations", {})
    by_chip: dict[str, ChipAgreement] = {}
    for name, case in sorted(results["cases"].items()):
        if not case["toolkit"]:
            continue
        model = case_model(case)
        for chip, verdict in sorted(case["toolkit"].items()):
            built = toolkit_outcome(case["op"], verdict)
            predicted = predicted_outcome(model, chip, results["toolkit_version"])
            tally = by_chip.setdefault(chip, ChipAgreement())
            if built == predicted:
                tally.agree += 1
            else:
                cause = explanations.get(chip, {}).get(name)
                tally.disagreements.append(Disagreement(name, built, predicted, cause))
    return by_chip
