"""Reading rknn-toolkit2's log: colour codes off, and the per-layer table of a verbose build.

A verbose build (RKNN(verbose=True)) prints a "Network Layer Information Table" with one row per compiled layer:

    D RKNN: [08:04:33.011] 72   Reshape   FLOAT16  CPU   (1,255,20,20),(4)  (3,85,20,20)  0/0/0  200  Reshape:/detect...

The target column (NPU or CPU), not the log's alarming-looking E lines, says where each layer runs. Other tables
that follow it (feature and constant tensors) have rows of the same look, so only rows inside the layer table count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LAYER_TABLE = "Network Layer Information Table"
# What follows the layer table: the next table, or the end of the pass that printed it.
TABLE_ENDS = ("Feature Tensor Information Table", "end: rknn::")
LAYER_ROW = re.compile(
    r"^D RKNN: (?:\[[^\]]*\] )?(?P<index>\d+)\s+(?P<op_type>\S+)\s+(?P<dtype>\S+)\s+(?P<target>NPU|CPU|\S+)\s+"
    r".*\s(?P<full_name>\S+)\s*$"
)
# Layers that feed and collect the model's tensors: on the CPU in every build, they say nothing about placement.
IO_OPERATORS = frozenset({"InputOperator", "OutputOperator"})


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def log_lines(log: str) -> list[str]:
    """The non-blank lines of a toolkit log without colour codes; progress bars' carriage returns split lines."""
    return [strip_ansi(line).rstrip() for line in re.split(r"[\r\n]+", log) if line.strip()]


@dataclass(frozen=True)
class Layer:
    """One row of the layer table."""

    index: int
    op_type: str  # the toolkit's layer type: ConvExSwish, Reshape, exSoftmax13, ...
    dtype: str
    target: str  # NPU or CPU
    full_name: str  # "<ONNX op type>:<ONNX node or tensor name>", e.g. "Conv:/backbone/conv/Conv"

    @property
    def is_io(self) -> bool:
        return self.op_type in IO_OPERATORS


def layer_table(log: str) -> list[Layer]:
    """Rows of every layer table in the build log `log`, in order."""
    layers: list[Layer] = []
    inside = False
    for line in log_lines(log):
        if LAYER_TABLE in line:
            inside = True
        elif inside and any(end in line for end in TABLE_ENDS):
            inside = False
        elif inside and (match := LAYER_ROW.match(line)):
            layers.append(
                Layer(int(match["index"]), match["op_type"], match["dtype"], match["target"], match["full_name"])
            )
    return layers
