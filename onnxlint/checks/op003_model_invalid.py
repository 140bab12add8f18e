from __future__ import annotations

import re
from typing import Iterator

from onnxlint.checks._opschema import KNOWN_DOMAINS
from onnxlint.finding import Finding, Severity
from onnxlint.registry import ModelContext, Rule

# The checker's wording for an operator missing at the imported opset, which OP001 reports in full.
_MISSING_OP = re.compile(r"No (?:Op|Schema) registered for (\w+) with domain_version of \d+")


class ModelInvalid(Rule):
    code = "OP003"
    name = "model-invalid"
    summary = "onnx.checker rejects the model"
    severity = Severity.ERROR

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        error = ctx.model.checker_error
        if error is None:
            return
        missing = _MISSING_OP.search(error)
        if missing and any(node.op_type == missing.group(1) and node.domain in KNOWN_DOMAINS
                           for graph in ctx.graphs for node in graph.nodes):
            return  # op-not-in-opset names this operator, with the opset it needs
        first_line = error.splitlines()[0].strip()
        yield self.finding(
            f"onnx.checker rejects the model: {first_line}",
            fix="Fix what the checker names (often a re-export with a supported opset or IR version); "
                "onnxruntime and rknn-toolkit2 refuse such models too",
            data={"checker_message": error})
