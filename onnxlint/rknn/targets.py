"""What an NPU toolkit version accepts, as data: rules/targets/<toolkit>-<version>.json.

Knowledge is per toolkit version: the user names one with --toolkit, or onnxlint asks the installed
rknn-toolkit2 (beside onnxlint, or the Python named by ONNXLINT_RKNN_PYTHON) which version it is.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

TOOLKIT = "rknn-toolkit2"
CHIPS = ("rk3588", "rk3576", "rk3568", "rk3566", "rk3562", "rv1106", "rv1103", "rk2118")


@dataclass(frozen=True)
class ToolkitFacts:
    version: str
    chips: tuple[str, ...]
    max_opset: int
    opset_refusal: str  # the toolkit's own message, quoted in findings
    dynamic_input_refusal: str
    # {input dtype name: {chip: the toolkit's last words}} for input types whose build aborts the process
    input_dtype_aborts: dict[str, dict[str, str]]
    # {dtype name: {"to", "message", "severity", optional "data_refusal"}}: I/O types load_onnx rewrites
    io_dtype_conversions: dict[str, dict[str, str]]
    # mean_values/std_values: the input axis the toolkit counts channels on, and its refusal of a wrong count
    preprocessing_channel_axis: int
    preprocessing_refusal: str

    @property
    def label(self) -> str:
        return f"{TOOLKIT} {self.version}"


def known_versions() -> list[str]:
    folder = resources.files("onnxlint.rules").joinpath("targets")
    prefix = f"{TOOLKIT}-"
    return sorted((entry.name[len(prefix):-len(".json")] for entry in folder.iterdir()
                   if entry.name.startswith(prefix) and entry.name.endswith(".json")),
                  key=lambda v: tuple(int(p) if p.isdigit() else 0 for p in v.split(".")))


@lru_cache(maxsize=None)
def load_facts(version: str) -> ToolkitFacts:
    text = resources.files("onnxlint.rules").joinpath("targets", f"{TOOLKIT}-{version}.json").read_text("utf-8")
    data = json.loads(text)
    return ToolkitFacts(version=data["version"], chips=tuple(data["chips"]), max_opset=data["max_opset"],
                        opset_refusal=data["opset_refusal"], dynamic_input_refusal=data["dynamic_input_refusal"],
                        input_dtype_aborts={dtype: entry["messages"]
                                            for dtype, entry in data.get("input_dtype_aborts", {}).items()},
                        io_dtype_conversions=data.get("io_dtype_conversions", {}),
                        preprocessing_channel_axis=data["preprocessing_channel_axis"],
                        preprocessing_refusal=data["preprocessing_refusal"])


def installed_version() -> str | None:
    """The rknn-toolkit2 version installed beside onnxlint, or in ONNXLINT_RKNN_PYTHON's environment."""
    python = os.environ.get("ONNXLINT_RKNN_PYTHON")
    if python:
        try:
            result = subprocess.run(
                [python, "-c", f"import importlib.metadata as m; print(m.version('{TOOLKIT}'))"],
                capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return result.stdout.strip() or None if result.returncode == 0 else None
    import importlib.metadata  # here: every command that imports the chip list would hold it (2 MiB)

    try:
        return importlib.metadata.version(TOOLKIT)
    except importlib.metadata.PackageNotFoundError:
        return None
