"""Reading onnx's shape-inference messages, which name the failing node inside parentheses."""

from __future__ import annotations

import re

from onnxlint.core.graph import GraphView, Node
from onnxlint.core.registry import ModelContext

# "(op_type:Add, node name: /model.24/Add): [ShapeInferenceError] Incompatible dimensions"
_NODE_ERROR = re.compile(r"\(op_type:(\w+), node name: ([^)]*)\)(?:: \[\w+\] ([^(]*))?")


def failing_node(ctx: ModelContext, message: str) -> tuple[GraphView | None, Node | None, str]:
    """(graph, node, reason) of the first node a message names; reason is the whole message without one."""
    match = _NODE_ERROR.search(message)
    if match is None:
        return None, None, message
    graph, node = ctx.find_node(match.group(2).strip(), match.group(1)) or (None, None)
    return graph, node, (match.group(3) or message).strip()
