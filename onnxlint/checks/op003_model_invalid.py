from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TypedDict

from onnxlint.checks._opschema import KNOWN_DOMAINS
from onnxlint.confirm.ort import OrtLoad
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, Rule

# The checker's wording for an operator missing at the imported opset (OP001 reports it in full)
# and for a deprecated operator version (OP002 does).
_OTHER_RULES = re.compile(
    r"No (?:Op|Schema) registered for (\w+) with domain_version of \d+"
    r"|Op registered for (\w+) is deprecated in domain_version of \d+"
)


class ModelInvalidData(TypedDict):
    checker_message: str


class ModelInvalid(Rule):
    code = "OP003"
    name = "model-invalid"
    summary = "onnx.checker rejects the model"
    severity = Severity.ERROR
    data_type = ModelInvalidData
    confirmer = OrtLoad()

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        error = ctx.model.checker_error
        if error is None:
            return
        other = _OTHER_RULES.search(error)
        op_type = other and (other.group(1) or other.group(2))
        if op_type and any(
            domain in KNOWN_DOMAINS for graph in ctx.graphs for domain, op in graph.by_op if op == op_type
        ):
            return  # op-not-in-opset / deprecated-op name this operator and what to use instead
        yield self.finding(
            f"onnx.checker rejects the model: {' '.join(error.split())}",
            fix="Fix what the checker names (often a re-export with a supported opset or IR version); most "
            "runtimes and converters refuse models the checker rejects",
            data={"checker_message": error},
        )


def dim_probe_skip_reason(ctx: ModelContext) -> str | None:
    """Why the dim probe cannot run: it re-runs onnx's C++ shape inference at other sizes, which can crash the
    process on a graph onnx.checker rejects (this rule reports that model)."""
    if ctx.model.checker_error:
        return f"onnx.checker rejects the model ({ModelInvalid.code}), so its dims are not probed"
    return None
