"""The range rknn-toolkit2 quantizes a tensor over when a saturating activation reads it.

The toolkit clips a tensor's calibrated range to the inputs where the activation that reads it still changes
(its quant_optimizer's `_p_adjust_tanh_sigmoid`, `_p_adjust_hardswish`, `_p_adjust_relu`), then widens it to
hold 0 as any range. Measured with rknn-toolkit2 2.5.0 (rk3588) on the `.quantization.cfg` that
`hybrid_quantization_step1` writes, `min`/`max` against the observed `ori_min`/`ori_max`:
  * Sigmoid [-7, 7], Tanh [-3.2, 3.2], HardSigmoid(alpha, beta) [-beta/alpha, (1-beta)/alpha] (alpha 0.2:
    [-2.5, 2.5]; alpha 1/6: [-3, 3]; alpha 0.1, beta 0.3: [-3, 7]), HardSwish [-3, +inf), Relu [0, +inf),
    Clip [min, max]; Elu, Softplus and LeakyRelu clip nothing;
  * intersected with the observed range: [-16, 1.45] read by a Sigmoid becomes [-7, 1.45], and [-26.6, -0.41]
    becomes [-7, 0] (YOLOv8n's class logits); [-2.14, -0.93] read by a HardSigmoid becomes [-2.14, 0];
  * only when every reader is such an activation: a Conv read by a Sigmoid and an Add keeps its range (so does
    SiLU's x * Sigmoid(x)); the values may reach it through Reshape, Transpose, Concat and Split, which the
    toolkit clips back through (YOLOv8n's class-logit Convs are concatenated with the box Convs, reshaped,
    concatenated again and split off to the Sigmoid: only the class part is clipped);
  * a Concat's range is the hull of its inputs' ranges after they are clipped (YOLOv8n: [-7, 14.03], observed
    [-26.6, 14.03]).
The activation's output is unchanged by the clip (it saturates there), but the tensor's own int8 values are not
its float values beyond the bounds: accuracy_analysis's single-layer cosine of such a tensor is low where the
model output loses nothing from it, and the finer int8 step helps the output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import onnx
from onnx import helper

from onnxlint.quant.layers import Layer, constants

Range = tuple[float, float]
SIGMOID = (-7.0, 7.0)
TANH = (-3.2, 3.2)
HARDSWISH = (-3.0, np.inf)
# Nodes the toolkit sees the clip through: they move values without changing them.
RESHAPING = frozenset({"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Transpose"})
# Readers of a tensor's shape only: they do not read its values.
SHAPE_READERS = frozenset({"Shape", "Size"})
# (axis, start, stop): where the traced tensor's values lie in a tensor; None: anywhere in it.
Region = tuple[int, int, int] | None


def activation_range(node: onnx.NodeProto, known: Mapping[str, np.ndarray]) -> Range | None:
    """The inputs over which `node`'s output still changes, or None when it does not saturate (as the toolkit
    treats it)."""
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if node.op_type == "Sigmoid":
        return SIGMOID
    if node.op_type == "Tanh":
        return TANH
    if node.op_type == "HardSigmoid":
        alpha, beta = float(attributes.get("alpha", 0.2)), float(attributes.get("beta", 0.5))
        return (-beta / alpha, (1.0 - beta) / alpha) if alpha > 0 else None
    if node.op_type == "HardSwish":
        return HARDSWISH
    if node.op_type == "Relu":
        return (0.0, np.inf)
    if node.op_type == "Clip":
        bounds = [float(attributes.get("min", -np.inf)), float(attributes.get("max", np.inf))]
        for position in (1, 2):  # opset 11 on: the bounds are inputs
            if len(node.input) > position and node.input[position]:
                value = known.get(node.input[position])
                if value is None:
                    return None
                bounds[position - 1] = float(np.asarray(value).reshape(-1)[0])
        return (bounds[0], bounds[1])
    return None


def useful_ranges(
    model: onnx.ModelProto, layers: Sequence[Layer], shapes: Mapping[str, Sequence[int]]
) -> dict[int, tuple[Range, str]]:
    """{layer index: (the range its readers use, their op types)} for the layers whose every reader saturates."""
    graph = model.graph
    known = constants(model)
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    outputs = {value.name for value in graph.output}
    found = {}
    for layer in layers:
        if layer.is_input:
            continue
        readers = _terminal_readers(layer.tensor, consumers, outputs, shapes)
        activations = [node for node in readers if node is not None]
        ranges = [r for r in (activation_range(node, known) for node in activations) if r is not None]
        if readers and len(ranges) == len(readers):
            hull = (min(r[0] for r in ranges), max(r[1] for r in ranges))
            found[layer.index] = (hull, "/".join(sorted({node.op_type for node in activations})))
    return found


def clip_ranges(
    layers: Sequence[Layer],
    ranges: Sequence[Range],
    useful: Mapping[int, tuple[Range, str]],
    feeding: Sequence[Sequence[int]],
    concats: set[int],
) -> list[Range]:
    """`ranges` (per layer, from calibration) clipped as the toolkit does: to the range of the activations that
    read the layer, and a Concat (`concats`) whose input was clipped to the hull of its inputs' ranges."""
    clipped = list(ranges)
    for layer in layers:  # topological: a Concat's inputs come first
        k = layer.index
        lo, hi = clipped[k]
        if k in concats and feeding[k] and any(clipped[j] != ranges[j] for j in feeding[k]):
            lo = max(lo, min(clipped[j][0] for j in feeding[k]))
            hi = min(hi, max(clipped[j][1] for j in feeding[k]))
        if k in useful:
            (low, high), _ = useful[k]
            lo, hi = max(lo, low), min(hi, high)
        clipped[k] = (lo, hi)
    return clipped


def _terminal_readers(
    tensor: str,
    consumers: Mapping[str, list[onnx.NodeProto]],
    outputs: set[str],
    shapes: Mapping[str, Sequence[int]],
) -> list[onnx.NodeProto | None]:
    """The nodes that read `tensor`'s values once Reshape/Transpose/Concat/Split have moved them (None: a graph
    output). A Split sends them only to the parts they lie in, tracked as a span along one axis."""
    found: list[onnx.NodeProto | None] = []
    pending: list[tuple[str, Region]] = [(tensor, None)]
    seen: set[tuple[str, Region]] = set()
    while pending:
        name, region = pending.pop()
        if (name, region) in seen or len(seen) > 10000:
            continue
        seen.add((name, region))
        if name in outputs:
            found.append(None)
        for node in consumers.get(name, []):
            if node.op_type in SHAPE_READERS:
                continue
            if node.op_type in RESHAPING and node.input[0] == name:
                pending.append((node.output[0], _reshaped(node, region, shapes)))
            elif node.op_type == "Concat":
                pending += [
                    (node.output[0], _concatenated(node, name, position, region, shapes))
                    for position, input_name in enumerate(node.input)
                    if input_name == name
                ]
            elif node.op_type == "Split" and node.input[0] == name:
                pending += _split(node, region, shapes)
            else:
                found.append(node)
    return found


def _shape(shapes: Mapping[str, Sequence[int]], name: str) -> list[int] | None:
    return list(shapes[name]) if name in shapes else None


def _shapes(shapes: Mapping[str, Sequence[int]], names: Sequence[str]) -> list[list[int]] | None:
    """The shapes of all `names`, or None when one is unknown."""
    found = [list(shapes[name]) for name in names if name in shapes]
    return found if len(found) == len(names) else None


def _axis(node: onnx.NodeProto, rank: int, default: int = 0) -> int:
    axis = next((a.i for a in node.attribute if a.name == "axis"), default)
    return axis + rank if axis < 0 else axis


def _reshaped(node: onnx.NodeProto, region: Region, shapes) -> Region:
    """The span after a shape change: Transpose moves its axis; Reshape and friends keep it where the output has
    the same dimension after the same number of elements (else it may be anywhere)."""
    if region is None:
        return None
    axis, start, stop = region
    before, after = _shape(shapes, node.input[0]), _shape(shapes, node.output[0])
    if before is None or after is None or axis >= len(before):
        return None
    if node.op_type == "Transpose":
        perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), list(range(len(before)))[::-1])
        return (perm.index(axis), start, stop) if axis in perm else None
    leading = int(np.prod(before[:axis]))
    count = 1
    for position, size in enumerate(after):
        if count == leading and size == before[axis]:
            return (position, start, stop)
        count *= size
        if count > leading:
            break
    return None


def _concatenated(node: onnx.NodeProto, name: str, position: int, region: Region, shapes) -> Region:
    """Where input `position` of a Concat lies in its output."""
    inputs = _shapes(shapes, node.input)
    if inputs is None:
        return None
    axis = _axis(node, len(inputs[position]))
    offset = sum(shape[axis] for shape in inputs[:position])
    if region is None:
        return (axis, offset, offset + inputs[position][axis])
    if region[0] == axis:
        return (axis, region[1] + offset, region[2] + offset)
    return region  # along another axis the span still holds (with other inputs' values beside it)


def _split(node: onnx.NodeProto, region: Region, shapes) -> list[tuple[str, Region]]:
    """The Split outputs the span reaches, each with the span inside it."""
    parts = _shapes(shapes, node.output)
    source = _shape(shapes, node.input[0])
    if region is None or source is None or parts is None:
        return [(name, region) for name in node.output if name]
    axis = _axis(node, len(source))
    if region[0] != axis:
        return [(name, region) for name in node.output if name]
    reached: list[tuple[str, Region]] = []
    offset = 0
    for name, shape in zip(node.output, parts):
        start, stop = max(region[1], offset), min(region[2], offset + shape[axis])
        if start < stop and name:
            reached.append((name, (axis, start - offset, stop - offset)))
        offset += shape[axis]
    return reached
