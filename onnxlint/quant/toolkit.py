"""Reading rknn-toolkit2's accuracy_analysis report (error_analysis.txt) to compare it with the prediction.

Each layer row reads `[OpType] tensor  entire_cos | entire_euc  single_cos | single_euc`: "entire" with every
layer before it quantized, "single" with float inputs. Layers fused into the next one have no numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

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
