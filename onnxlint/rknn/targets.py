"""The deployment target: a chip and the toolkit version whose knowledge applies to it.

Knowledge is per toolkit version: the user names one with --toolkit, or onnxlint asks the installed
rknn-toolkit2 (beside onnxlint, or the Python named by ONNXLINT_RKNN_PYTHON) which version it is.
`resolve_target` builds the one Target a run reads.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING

from onnxlint.rknn.knowledge import TOOLKIT, family, known_chips, known_versions

if TYPE_CHECKING:
    from onnxlint.rknn.buildfail import BuildFailure
    from onnxlint.rknn.placement import ChipKnowledge


@dataclass(frozen=True)
class ToolkitFacts:
    version: str
    chips: tuple[str, ...]
    int8_only_chips: tuple[str, ...]  # the toolkit refuses fp16 builds for these: builds need a dataset
    max_opset: int
    opset_refusal: str  # the toolkit's own message, quoted in findings
    dynamic_input_refusal: str
    # {input dtype name: {chip: the toolkit's last words, "" where it prints none}} for input types whose build
    # kills the process, and the signal that does (SIGABRT unless the family file says otherwise)
    input_dtype_aborts: dict[str, dict[str, str]]
    input_abort_signals: dict[str, str]
    # operators whose CPU kernels read such an input as it is: an input only they read builds
    integer_input_readers: frozenset[str]
    # {"chips", "message", "computed_in_float", "cases"}: int8 builds of a model with no floating-point tensor abort
    integer_model_abort: dict
    # {onnx element type name, lower case: {"ports": ["input", "output"], "message"}}: graph input and output types
    # the toolkit cannot build on any chip
    io_dtype_refusals: dict[str, dict]
    # {dtype name: {"to", "message", "severity", optional "data_refusal"}}: I/O types load_onnx rewrites
    io_dtype_conversions: dict[str, dict[str, str]]
    # mean_values/std_values: the input axis the toolkit counts channels on, and its refusal of a wrong count
    preprocessing_channel_axis: int
    preprocessing_refusal: str

    @property
    def label(self) -> str:
        return f"{TOOLKIT} {self.version}"


@cache
def load_facts(version: str) -> ToolkitFacts:
    data = family(version)
    return ToolkitFacts(
        version=data["version"],
        chips=tuple(data["chips"]),
        int8_only_chips=tuple(data["int8_only_chips"]),
        max_opset=data["max_opset"],
        opset_refusal=data["opset_refusal"],
        dynamic_input_refusal=data["dynamic_input_refusal"],
        input_dtype_aborts={dtype: entry["messages"] for dtype, entry in data.get("input_dtype_aborts", {}).items()},
        input_abort_signals={
            dtype: entry.get("signal", "SIGABRT") for dtype, entry in data.get("input_dtype_aborts", {}).items()
        },
        integer_input_readers=frozenset(data.get("integer_input_readers", ())),
        integer_model_abort=data.get("integer_model_abort", {"chips": []}),
        io_dtype_refusals=data.get("io_dtype_refusals", {}),
        io_dtype_conversions=data.get("io_dtype_conversions", {}),
        preprocessing_channel_axis=data["preprocessing_channel_axis"],
        preprocessing_refusal=data["preprocessing_refusal"],
    )


@dataclass(frozen=True)
class Target:
    """The chip a model is linted for, with the facts of the toolkit version that applies and the chip's
    knowledge under it (placement tables, build failures), read on first use."""

    chip: str
    toolkit: ToolkitFacts

    @property
    def label(self) -> str:
        return self.toolkit.label

    @property
    def int8_only(self) -> bool:
        return self.chip in self.toolkit.int8_only_chips

    @cached_property
    def knowledge(self) -> ChipKnowledge | None:
        """Where the toolkit places each operator on this chip; None without probe data for it."""
        from onnxlint.rknn.placement import chip_knowledge

        return chip_knowledge(self.toolkit.version, self.chip)

    @cached_property
    def build_failures(self) -> tuple[BuildFailure, ...]:
        """The build failures of this toolkit version that may happen on this chip."""
        from onnxlint.rknn.buildfail import build_failures

        return tuple(
            failure
            for failure in build_failures(self.toolkit.version)
            if failure.chips is None or self.chip in failure.chips
        )


def resolve_target(chip: str, toolkit_version: str | None = None) -> Target:
    """The target for `chip` under the toolkit version named, else the installed one, else the newest known;
    ValueError naming the valid choices for an unknown chip or a version onnxlint has no knowledge of."""
    if chip not in known_chips():
        raise ValueError(f"invalid target '{chip}' (choose from {', '.join(known_chips())})")
    known = known_versions()
    version = toolkit_version or installed_version() or known[-1]
    if version not in known:
        source = "was named" if toolkit_version else "is installed"
        raise ValueError(
            f"{TOOLKIT} {version} {source}, but onnxlint has knowledge for {', '.join(known)} only; "
            f"pass --toolkit {known[-1]} to apply that"
        )
    facts = load_facts(version)
    if chip not in facts.chips:
        raise ValueError(f"{facts.label} does not build for {chip} (it builds for {', '.join(facts.chips)})")
    return Target(chip=chip, toolkit=facts)


def installed_version() -> str | None:
    """The rknn-toolkit2 version installed beside onnxlint, or in ONNXLINT_RKNN_PYTHON's environment."""
    return _installed_version(os.environ.get("ONNXLINT_RKNN_PYTHON"))


@cache
def _installed_version(python: str | None) -> str | None:
    # Asked once per interpreter: the answer costs a child process where the toolkit has its own Python.
    if python:
        try:
            result = subprocess.run(
                [python, "-c", f"import importlib.metadata as m; print(m.version('{TOOLKIT}'))"],
                capture_output=True,
                text=True,
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return result.stdout.strip() or None if result.returncode == 0 else None
    import importlib.metadata  # here: every command that imports the chip list would hold it (2 MiB)

    try:
        return importlib.metadata.version(TOOLKIT)
    except importlib.metadata.PackageNotFoundError:
        return None
