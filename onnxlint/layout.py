"""Following an image input through the layout-neutral ops that precede the network proper."""

from __future__ import annotations

from typing import Iterator

from onnxlint.graph import GraphView, Node

# Ops that neither mix pixels nor change the layout: preprocessing sits between them and the first Conv.
ELEMENTWISE = frozenset({"Cast", "Identity", "Div", "Mul", "Sub", "Add"})
IMAGE_CHANNELS = (1, 3, 4)


def channel_axis(shape) -> int | None:
    """1 for an NCHW image-like 4-D shape, 3 for NHWC, None when the shape looks like neither."""
    if shape is None or len(shape) != 4:
        return None
    if shape[1] in IMAGE_CHANNELS and shape[3] not in IMAGE_CHANNELS:
        return 1
    if shape[3] in IMAGE_CHANNELS and shape[1] not in IMAGE_CHANNELS:
        return 3
    return None


def image_height(shape) -> int | None:
    """The fixed height of an image-like NCHW or NHWC input, else None."""
    axis = channel_axis(shape)
    if axis is None:
        return None
    height = shape[2] if axis == 1 else shape[1]
    return height if isinstance(height, int) and height > 0 else None


def single_chain(graph: GraphView, tensor: str, allowed: frozenset[str], limit: int = 8) -> Iterator[Node]:
    """Nodes of `allowed` types reached from `tensor` through single-consumer links, in order."""
    for _ in range(limit):
        consumers = graph.consumers(tensor)
        if len(consumers) != 1 or consumers[0].op_type not in allowed or consumers[0].domain:
            return
        node = consumers[0]
        yield node
        tensor = node.outputs[0]
