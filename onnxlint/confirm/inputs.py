"""Inputs for confirmation runs: seeded random by default, or the user's arrays (--inputs file.npz)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import numpy as np
import onnx

from onnxlint.errors import UnreadableInput
from onnxlint.files import MiB, regular_file
from onnxlint.model import type_and_shape

DEFAULT_SEED = 0
DEFAULT_SIDE = 64
# Every array is loaded into memory; an edge NPU's inputs or outputs for one run are megabytes.
MAX_ARRAYS_BYTES = 1024 * MiB


def input_specs(model: onnx.ModelProto) -> list[tuple[str, np.dtype, tuple]]:
    """(name, numpy dtype, declared shape) of each real graph input (initializers left out)."""
    initializers = {t.name for t in model.graph.initializer}
    specs = []
    for value in model.graph.input:
        if value.name in initializers:
            continue
        elem_type, shape = type_and_shape(value.type)
        dtype = onnx.helper.tensor_dtype_to_np_dtype(elem_type) if elem_type else np.dtype(np.float32)
        specs.append((value.name, np.dtype(dtype), tuple(shape or ())))
    return specs


def random_inputs(model: "onnx.ModelProto | str | os.PathLike[str]", seed: int = DEFAULT_SEED,
                  sizes: Mapping[tuple[str, int], int] | None = None,
                  given: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """An array per input: `given` where the user supplied one, else seeded random. Dynamic dims take the
    size `sizes` names for (input, axis), else 1 on axis 0 (a batch) and 64 elsewhere (an image side or a
    sequence length that convolutions and YOLO strides accept). Floats are uniform in [0, 1), integers in
    [0, 4), bools fair."""
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model), load_external_data=False)
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {}
    for name, dtype, shape in input_specs(model):
        if given and name in given:
            arrays[name] = np.asarray(given[name])
            continue
        concrete = tuple(dim if isinstance(dim, int) and dim > 0
                         else (sizes or {}).get((name, axis), 1 if axis == 0 else DEFAULT_SIDE)
                         for axis, dim in enumerate(shape))
        if dtype == np.bool_:
            arrays[name] = rng.random(concrete) < 0.5
        elif np.issubdtype(dtype, np.integer):
            arrays[name] = rng.integers(0, 4, size=concrete).astype(dtype)
        else:
            arrays[name] = rng.random(concrete).astype(dtype)
    return arrays


def load_inputs(path: str | os.PathLike[str], option: str = "--inputs") -> dict[str, np.ndarray]:
    """The arrays of an .npz file, by name. Raises ValueError with a one-line reason naming `option`."""
    try:
        regular_file(path, MAX_ARRAYS_BYTES)
    except UnreadableInput as exc:
        raise ValueError(f"{option}: cannot read '{path}' ({exc.reason})") from None
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{option}: cannot read '{path}' as .npz ({' '.join(str(exc).split())})") from None
