from __future__ import annotations

from typing import Iterator

from onnxlint.checks._opschema import KNOWN_DOMAINS, first_opset, schema_at
from onnxlint.finding import Finding, Severity
from onnxlint.registry import ModelContext, Rule


class OpNotInOpset(Rule):
    code = "OP001"
    name = "op-not-in-opset"
    summary = "Operator does not exist in the opset the model imports"
    severity = Severity.ERROR

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for graph in ctx.graphs:
            for node in graph.nodes:
                if node.domain not in KNOWN_DOMAINS:
                    continue
                opset = graph.opset(node.domain)
                if opset is None or schema_at(node.op_type, opset, node.domain) is not None:
                    continue  # an unimported domain is the checker's finding (OP003)
                since = first_opset(node.op_type, node.domain)
                domain_label = node.domain or "ai.onnx"
                if since is None:
                    yield self.finding(
                        f"{node.op_type} is not an operator of domain {domain_label} at any opset",
                        graph=graph, node=node,
                        fix=f"Give the node a custom domain and register a kernel for it, or replace it with "
                            f"standard operators",
                        data={"domain": domain_label, "model_opset": opset, "since_version": None})
                else:
                    yield self.finding(
                        f"{node.op_type} needs {domain_label} opset >= {since} but the model imports opset {opset}",
                        graph=graph, node=node,
                        fix=f"Re-export with opset_version >= {since} (or replace {node.op_type} with operators "
                            f"that exist in opset {opset})",
                        data={"domain": domain_label, "model_opset": opset, "since_version": since})
