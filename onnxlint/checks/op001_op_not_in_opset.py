from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.checks._opschema import first_opset, schema_at, standard_operators
from onnxlint.confirm.ort import OrtLoad
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, Rule


class OpNotInOpsetData(TypedDict):
    domain: str
    model_opset: int
    since_version: int | None


class OpNotInOpset(Rule):
    code = "OP001"
    name = "op-not-in-opset"
    summary = "Operator does not exist in the opset the model imports"
    severity = Severity.ERROR
    data_type = OpNotInOpsetData
    confirmer = OrtLoad(run_refutes=True)

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for graph, domain, op_type, opset, nodes in standard_operators(ctx.graphs):
            if schema_at(op_type, opset, domain) is not None:
                continue
            since = first_opset(op_type, domain)
            label = domain or "ai.onnx"
            if since is None:
                message = f"{op_type} is not an operator of domain {label} at any opset"
                fix = "Give the node a custom domain and register a kernel for it, or use standard operators"
            else:
                message = f"{op_type} needs {label} opset >= {since} but the model imports opset {opset}"
                fix = (
                    f"Re-export with opset_version >= {since} (or replace {op_type} with operators that "
                    f"exist in opset {opset})"
                )
            for node in nodes:
                yield self.finding(
                    message,
                    graph=graph,
                    node=node,
                    fix=fix,
                    data={"domain": label, "model_opset": opset, "since_version": since},
                )
