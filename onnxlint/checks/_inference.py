"""Reading onnx's shape-inference messages, which name the failing node inside parentheses."""

from __future__ import annotations

from onnxlint.analysis.probe import NODE_ERROR
from onnxlint.core.graph import GraphView, Node
from onnxlint.core.registry import ModelContext


def failing_node(ctx: ModelContext, message: str) -> tuple[GraphView | None, Node | None, str]:
    """(graph, node, reason) of the first node a message names; reason is the whole message without one."""
    match = next((match for match in NODE_ERROR.finditer(message) if match.group(2) is not None), None)
    if match is None:
        return None, None, message
    graph, node = ctx.find_node(match.group(2).strip(), match.group(1)) or (None, None)
    return graph, node, (match.group(3) or message).strip()
