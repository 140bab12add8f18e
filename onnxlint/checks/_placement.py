"""What the rules that report the toolkit's measured placement of a node (TG005, TG006) write in their findings'
data, and the build that confirms it."""

from __future__ import annotations

from typing import TypedDict

from onnxlint.confirm.toolkit_build import BuildClaim, BuildFails, OnCpu, message_tail


class PlacementData(TypedDict):
    chip: str
    toolkit: str
    outcome: str  # "cpu", "unsupported" or "error" (the toolkit process died or hung)
    probe_case: str  # the probe case that measured it
    toolkit_message: str | None  # what the failing build printed (None for "cpu")
    missing_cpu_kernels: list[str]  # CPU layers the chip's runtime lacks


def placement_claim(data: PlacementData) -> BuildClaim:
    """A build puts the node on the CPU, as its probe case did; or fails with the probe's message."""
    if data["outcome"] == "cpu":
        return OnCpu(probe_case=data["probe_case"], missing_kernels=tuple(data["missing_cpu_kernels"]))
    return BuildFails(words=(message_tail(data["toolkit_message"]),))
