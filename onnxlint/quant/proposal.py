"""The fix: which rknn.config to build with, and which few layers to take out of int8.

Greedy: start from every layer quantized with the best configuration, try the change that removes each of the
`candidates` layers that hurt most on their own, keep the one that raises the worst output cosine most per layer
it adds, and repeat until the goal is reached, a step removes less than 5% of the remaining error (1 - cosine),
or `max_layers` layers are taken.

On chips that build float16 layers (`custom_quantize_layers: {layer: float16}` in the toolkit's
.quantization.cfg, or `auto_hybrid`), the change is "keep this layer and the layers that read it in float16": the
toolkit converts a float16 layer's output back to int8 for each int8 layer that reads it, over the same range, so
a float16 layer among int8 ones saves only its weights' rounding (accuracy_analysis shows the `<tensor>__int8`
conversion after it). rv1106/rv1103 reject float16 ("not supported 'float16' dtype at rv1103/rv1106!"), so
there the changes stay integer:
  * split: a Concat (or other join) that is a model output and mixes ranges is not requantized, i.e. its
    inputs become separate outputs, each with its own int8 range (a graph change: cut the model before it);
  * int16: the layer in int16 (`custom_quantize_layers: {tensor: int16}`, which rknn-toolkit2 2.5.0's
    hybrid_quantization_step2 accepts for rv1106: checked on PP-OCR cls in the simulator, not on a board). The
    toolkit converts such a layer's output back to int8 for the int8 layers after it, so the simulation keeps its
    weights exact and its activation int8 (int16 only for a model output).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from onnxlint.quant.layers import Layer
from onnxlint.rknn.knowledge import int8_only_chips

FLOAT_CHIPS_EXCLUDED = int8_only_chips()


@dataclass(frozen=True)
class Step:
    layer: int
    action: str  # "float16", "int16" or "split"
    predicted_cosine: float  # worst output cosine after this step


@dataclass
class Greedy:
    steps: list[Step] = field(default_factory=list)
    start: float = 0.0

    @property
    def final(self) -> float:
        return self.steps[-1].predicted_cosine if self.steps else self.start


def moves_for(layer: Layer, chip: str | None, mixed_join: bool, readers: Sequence[int]) -> list[dict[int, str]]:
    """The changes that take `layer`'s rounding away. A float16 layer's output is converted back to int8 for
    every int8 layer that reads it (accuracy_analysis shows `<tensor>__int8` after it), so on its own it saves
    only its weights' rounding: the move is the layer and its readers, a float16 span, as auto_hybrid forms."""
    if chip not in FLOAT_CHIPS_EXCLUDED:
        return [dict.fromkeys((layer.index, *readers), "float16")]
    moves = [{layer.index: "split"}] if layer.graph_output and mixed_join else []
    return [*moves, {layer.index: "int16"}]


def greedy(
    ranked: Sequence[int],
    evaluate: Callable[[dict[int, str]], float],
    start: float,
    moves: Callable[[int], list[dict[int, str]]],
    goal: float = 0.999,
    candidates: int = 8,
    max_layers: int = 8,
    min_share: float = 0.05,
) -> Greedy:
    """`evaluate({layer: action})` -> worst output cosine with those changes; `ranked` layers worst first;
    `moves(layer)`: the changes that remove that layer's loss. Each step takes the move with the largest gain per
    layer it adds, which must remove at least `min_share` of the remaining error (1 - cosine)."""
    chosen: dict[int, str] = {}
    result = Greedy(start=start)
    current = start
    while len(chosen) < max_layers and current < goal:
        pool = [k for k in ranked if k not in chosen][:candidates]
        best: tuple[float, float, dict[int, str]] | None = None
        for k in pool:
            for move in moves(k):
                added = {j: action for j, action in move.items() if chosen.get(j) != action}
                if not added or len(chosen) + len(added) > max_layers:
                    continue
                score = evaluate({**chosen, **added})
                per_layer = (score - current) / len(added)
                if best is None or per_layer > best[0] + 1e-12:
                    best = (per_layer, score, added)
        if best is None or best[1] - current < max(min_share * (1.0 - current), 1e-7):
            break
        current = best[1]
        chosen.update(best[2])
        result.steps.extend(Step(k, action, float(current)) for k, action in best[2].items())
    return result


def quantization_cfg(layers: Sequence[Layer], steps: Sequence[Step]) -> str:
    """The custom_quantize_layers block of the toolkit's .quantization.cfg for the float16/int16 steps."""
    lines = ["custom_quantize_layers:"]
    for step in steps:
        if step.action == "float16":
            lines += [f"    {_yaml_key(name)}: float16" for name in layers[step.layer].toolkit_names]
        elif step.action == "int16":
            lines.append(f"    {_yaml_key(layers[step.layer].tensor)}: int16")
    return "\n".join(lines) + "\n" if len(lines) > 1 else "custom_quantize_layers: {}\n"


def _yaml_key(name: str) -> str:
    return (
        name
        if name and all(c.isalnum() or c in "_./-" for c in name) and name[0] not in "-."
        else "'" + name.replace("'", "''") + "'"
    )


def worst(cosines: dict[str, float]) -> float:
    return float(min(cosines.values())) if cosines else 1.0


def mixes_ranges(ranges: Sequence[tuple[float, float]], factor: float = 10.0) -> bool:
    """Whether inputs' spans differ by more than `factor` (one int8 grid would starve the narrow one)."""
    spans = [hi - lo for lo, hi in ranges if np.isfinite(hi - lo)]
    spans = [s for s in spans if s > 0]
    return len(spans) >= 2 and max(spans) / min(spans) > factor
