"""The files onnxlint knows an NPU toolkit by, read in one place.

- rules/targets/<toolkit>-<version>.json, the family file: what every chip shares under one toolkit version, each
  fact with its source, read once and kept. Its form is onnxlint/schemas/rknn-family.schema.json; the files ship
  with onnxlint, so tests/test_rknn_knowledge.py checks every one against it rather than every run paying for it.
- rules/targets/probe/<toolkit>-<version>/<chip>.json, the probe tables: what the real toolkit did with
  one-operator models on that chip, as onnxlint.rknn.probe_ops measured it.

Everything else about chips (the chip list, which chips build only int8) derives from these files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

TOOLKIT = "rknn-toolkit2"
SCHEMA = "rknn-family.schema.json"
# rknn.config's quantized_algorithm and quantized_method values (rknn-toolkit2 2.x).
QUANTIZED_ALGORITHMS = ("normal", "mmse", "kl_divergence")
QUANTIZED_METHODS = ("channel", "layer")


def _targets() -> Traversable:
    return resources.files("onnxlint.rules").joinpath("targets")


def known_versions() -> list[str]:
    """The toolkit versions onnxlint has a family file for, oldest first."""
    prefix = f"{TOOLKIT}-"
    return sorted(
        (
            entry.name[len(prefix) : -len(".json")]
            for entry in _targets().iterdir()
            if entry.name.startswith(prefix) and entry.name.endswith(".json")
        ),
        key=lambda v: tuple(int(p) if p.isdigit() else 0 for p in v.split(".")),
    )


@cache
def family(version: str) -> Mapping[str, Any]:
    """The family file of `version`."""
    return json.loads(_targets().joinpath(f"{TOOLKIT}-{version}.json").read_text("utf-8"))


def schema() -> Mapping[str, Any]:
    """The JSON Schema every family file meets."""
    return json.loads(resources.files("onnxlint").joinpath("schemas", SCHEMA).read_text("utf-8"))


@cache
def known_chips() -> tuple[str, ...]:
    """Every chip some known toolkit version builds for, in the family files' order (newest version first)."""
    return tuple(dict.fromkeys(chip for version in reversed(known_versions()) for chip in family(version)["chips"]))


@cache
def int8_only_chips() -> frozenset[str]:
    """Chips whose NPU takes only quantized models (their toolkit refuses fp16 builds), in any known version."""
    return frozenset(chip for version in known_versions() for chip in family(version)["int8_only_chips"])


def probe_table(version: str, chip: str) -> Mapping[str, Any] | None:
    """The probe table of `chip` under `version`, or None where the chip was never probed."""
    entry = _targets().joinpath("probe", probe_folder(version), f"{chip}.json")
    return json.loads(entry.read_text("utf-8")) if entry.is_file() else None


def probe_root() -> Path:
    """rules/targets/probe/: where the probe tables are read from and where the probe tool writes them."""
    return Path(str(_targets().joinpath("probe")))


def probe_folder(version: str) -> str:
    """The folder of a version's probe tables, under rules/targets/probe/ (the probe tool writes there too)."""
    return f"{TOOLKIT}-{version}"


def element_type_name(elem_type: int | None) -> str:
    """onnx's name of an element type in lower case ('bfloat16', 'float8e4m3fn', 'string'), as the family file's
    io_dtype_refusals names them: the same under every onnx version, unlike numpy's names (onnx 1.18 has no numpy
    type for bfloat16 and float8)."""
    import onnx  # here: the chip list, read by every command's help, needs none of it

    if elem_type not in onnx.TensorProto.DataType.values():
        return f"undefined element type {elem_type}"
    return onnx.TensorProto.DataType.Name(elem_type).lower()
