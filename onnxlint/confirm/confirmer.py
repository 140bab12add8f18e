"""What a rule declares to have its findings proved or refuted by `--confirm`: a confirmer.

A rule names one as its class attribute `confirmer`, built with the parameters that say what to check, e.g.
`ToolkitBuild(claim=...)` or `InferenceMode(op_type="Dropout", repeat=True)`. The confirmers that run the model in
onnxruntime are in `onnxlint.confirm.ort`, the one that builds it with rknn-toolkit2 in `onnxlint.confirm.toolkit`.
What a confirmer needs from a finding it takes from a function of the finding's `data`, written in the rule's
module next to the rule's declared data type; so the runner, and the confirmers, know no rule.

Confirmers travel to the confirmation's child process by pickle: their parameters are plain values and
module-level functions, never lambdas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final

from onnxlint.core.finding import Evidence, Finding

if TYPE_CHECKING:
    from onnxlint.confirm.runner import ModelRun

# Final keeps each name's literal type, which Evidence.verdict requires.
CONFIRMED: Final = "confirmed"
REFUTED: Final = "refuted"
INCONCLUSIVE: Final = "inconclusive"
SKIPPED: Final = "skipped"


class Confirmer:
    # The confirmation's name (the README's table lists them); the backend of its evidence when it cannot finish.
    name: ClassVar[str]

    def chosen(self, finding: Finding) -> Confirmer:
        """The confirmer that runs for `finding`: this one, or the one a `PerFinding` picks."""
        return self

    def confirm(self, run: ModelRun, finding: Finding) -> Evidence:
        raise NotImplementedError


@dataclass(frozen=True)
class PerFinding(Confirmer):
    """For a rule whose findings different runs show: `when(finding.data)` picks `then`, else `otherwise`."""

    # Given the finding's data, typed as the rule's data type: a TypedDict is not a Mapping[str, Any] to mypy.
    when: Callable[[Any], bool]
    then: Confirmer
    otherwise: Confirmer

    def chosen(self, finding: Finding) -> Confirmer:
        return (self.then if self.when(finding.data) else self.otherwise).chosen(finding)

    def confirm(self, run: ModelRun, finding: Finding) -> Evidence:
        return self.chosen(finding).confirm(run, finding)
