"""Lookups in onnx's operator schema registry shared by the opset rules."""

from __future__ import annotations

from functools import cache

import onnx

# Operator domains whose schemas ship with the onnx package; other domains are not judged.
KNOWN_DOMAINS = ("", "ai.onnx.ml")


def standard_operators(graphs):
    """(graph, domain, op_type, imported opset, nodes) for every operator of a domain onnx defines and the
    graph imports; each operator once per graph (an unimported domain is the checker's finding, OP003)."""
    for graph in graphs:
        for (domain, op_type), nodes in graph.by_op.items():
            opset = graph.opset(domain)
            if domain in KNOWN_DOMAINS and opset is not None:
                yield graph, domain, op_type, opset, nodes


@cache
def _first_versions() -> dict[tuple[str, str], int]:
    first: dict[tuple[str, str], int] = {}
    for schema in onnx.defs.get_all_schemas_with_history():
        key = (schema.domain, schema.name)
        first[key] = min(first.get(key, schema.since_version), schema.since_version)
    return first


def first_opset(op_type: str, domain: str = "") -> int | None:
    """The opset in which `op_type` first appeared, or None if onnx has never defined it."""
    return _first_versions().get((domain, op_type))


@cache  # rules ask once per node; models repeat a few dozen (op, opset) pairs
def schema_at(op_type: str, opset: int, domain: str = "") -> onnx.defs.OpSchema | None:
    """The schema a model importing `opset` gets for `op_type`, or None if there is none."""
    if not onnx.defs.has(op_type, opset, domain):
        return None
    return onnx.defs.get_schema(op_type, opset, domain)
