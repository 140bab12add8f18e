"""Reading rknn-toolkit2's accuracy_analysis report (error_analysis.txt) to compare it with the prediction, and
the layer names of the .quantization.cfg that hybrid_quantization_step1 writes.

Each layer row reads `[OpType] tensor  entire_cos | entire_euc  single_cos | single_euc`: "entire" with every
layer before it quantized, "single" with float inputs. Layers fused into the next one have no numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import onnx

from onnxlint.rknn.log import strip_ansi

# The euclidean distance can run into the next cosine ("2263.508300.99995"): a cosine has five decimals.
# "q_zero" marks a layer whose int8 output is all zero (cosine 0 against a non-zero reference).
COSINE = r"(-?\d\.\d{5}|q_zero)"
ROW = re.compile(
    r"^\[(?P<op>[^\]]+)\]\s+(?P<tensor>\S+)\s+"
    + COSINE.replace("(", "(?P<entire>", 1)
    + r"\s*\|\s*(?:[\d.]+?|q_zero|nan|inf)\s*"
    + COSINE.replace("(", "(?P<single>", 1)
    + r"\s*\|"
)
# A layer's entry in the .quantization.cfg: four spaces, its name (quoted when YAML needs it), a colon.
CFG_KEY = re.compile(r"^    (\S.*?):\s*$")


@dataclass(frozen=True)
class ToolkitLayer:
    op_type: str
    tensor: str
    entire_cosine: float
    single_cosine: float


def read_error_analysis(path: Path) -> list[ToolkitLayer]:
    rows = []
    for line in Path(path).read_text(errors="replace").splitlines():
        match = ROW.match(strip_ansi(line).strip())
        if match:
            rows.append(ToolkitLayer(match["op"], match["tensor"], _cosine(match["entire"]), _cosine(match["single"])))
    return rows


def output_cosines(rows: list[ToolkitLayer], outputs: list[str]) -> dict[str, float]:
    """The 'entire' cosine of each model output, by the row of the same tensor name (the toolkit keeps ONNX
    names for outputs)."""
    by_name = {row.tensor: row for row in rows}
    return {name: by_name[name].entire_cosine for name in outputs if name in by_name}


def _cosine(text: str) -> float:
    return 0.0 if text == "q_zero" else float(text)


def cfg_layers(text: str) -> list[str]:
    """The tensor names under `quantize_parameters:` in the .quantization.cfg hybrid_quantization_step1 writes:
    the layers as the toolkit named them after fusing, the only keys `custom_quantize_layers` accepts."""
    names, inside = [], False
    for line in text.splitlines():
        if not line.startswith(" "):
            inside = line.startswith("quantize_parameters:")
        elif inside and (match := CFG_KEY.match(line)):
            name = match[1]
            names.append(name[1:-1].replace("''", "'") if name[:1] == "'" else name.strip('"'))
    return names


def key_candidates(model: onnx.ModelProto, tensor: str) -> list[str]:
    """`tensor`, then the tensors its value flows on to while each is read by one node only (the names the
    toolkit may give the fused layer that ends there), in order: the first one the cfg lists is the key."""
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    chain = [tensor]
    while len(consumers.get(chain[-1], [])) == 1 and consumers[chain[-1]][0].output and len(chain) < 16:
        chain.append(consumers[chain[-1]][0].output[0])
    return chain


def toolkit_key(candidates: list[str], names: list[str]) -> str | None:
    known = set(names)
    return next((name for name in candidates if name in known), None)
