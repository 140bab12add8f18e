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
from pathlib import Path
from typing import Any

import onnx

from onnxlint.rknn.placement import CPU, NPU, own_layer_on_cpu

REFUSED = "refused"
# The rules whose findings say where a node runs or that the build fails, and what each finding predicts (None:
# the finding's data says, as TG005 and TG006 do for a CPU fallback, a refusal or a crash).
PREDICTING_RULES: Mapping[str, str | None] = {
    "TG001": REFUSED,  # the opset is refused at load_onnx
    "TG002": REFUSED,  # an input dim that is not a fixed positive size is refused at load_onnx
    "TG003": CPU,
    "TG004": REFUSED,  # only its error findings: an input type the toolkit refuses
    "TG005": None,
    "TG006": None,
    "TG008": REFUSED,  # a known build failure
}
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
    """What onnxlint's target rules say the toolkit does with the model on `chip`: the worst of their findings."""
    import onnxlint  # here: the API imports every rule, and the rules import this package's neighbours

    report = onnxlint.lint(model, target=chip, toolkit=toolkit, select=list(PREDICTING_RULES))
    if report.error is not None:
        raise ValueError(report.error)
    worst = NPU
    for finding in report.findings:
        if finding.code == "TG004" and finding.severity.name != "ERROR":
            continue  # a type the toolkit converts, not one it refuses
        # TG005 and TG006 say "cpu" (a CPU layer, maybe one the board's runtime lacks: the build still succeeds),
        # "unsupported" or "error" (a crash).
        said = PREDICTING_RULES[finding.code] or finding.data["outcome"]
        outcome = said if said in (NPU, CPU) else REFUSED
        worst = max(worst, outcome, key=RANK.__getitem__)
    return worst


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
