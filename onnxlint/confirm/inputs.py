"""Inputs for confirmation runs: seeded random by default, or the user's arrays (--inputs file.npz)."""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import onnx

from onnxlint.core.errors import UnreadableInput
from onnxlint.core.files import MiB, regular_file
from onnxlint.core.model import type_and_shape
from onnxlint.settings.table import DEFAULT_SEED

DEFAULT_SIDE = 64
# The most bytes one input array (and one .npz file) may take, generated or read: checked before anything is
# allocated, because a declared shape or an .npz header can claim terabytes. Edge-NPU inputs are a few MB
# (1x3x640x640 fp32: 4.7 MiB).
MAX_ARRAY_BYTES = 2048 * MiB


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


def random_inputs(
    model: onnx.ModelProto | str | os.PathLike[str],
    seed: int = DEFAULT_SEED,
    sizes: Mapping[tuple[str, int], int] | None = None,
    given: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """An array per input: `given` where the user supplied one, else seeded random. Dynamic dims take the
    size `sizes` names for (input, axis), else 1 on axis 0 (a batch) and 64 elsewhere (an image side or a
    sequence length that convolutions and YOLO strides accept); a declared 0 stays 0. Floats are uniform in
    [0, 1), integers in [0, 4), bools fair. Raises ValueError for an array over MAX_ARRAY_BYTES."""
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model), load_external_data=False)
    return random_arrays(input_specs(model), seed, sizes, given)


def random_arrays(
    specs: list[tuple[str, np.dtype, tuple]],
    seed: int = DEFAULT_SEED,
    sizes: Mapping[tuple[str, int], int] | None = None,
    given: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """random_inputs for the inputs `specs` declares (as input_specs gives them): the model itself may be gone."""
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {}
    for name, dtype, shape in specs:
        if given and name in given:
            arrays[name] = np.asarray(given[name])
            continue
        concrete = tuple(
            dim
            if isinstance(dim, int) and dim >= 0
            else (sizes or {}).get((name, axis), 1 if axis == 0 else DEFAULT_SIDE)
            for axis, dim in enumerate(shape)
        )
        size = math.prod(concrete) * dtype.itemsize
        if size > MAX_ARRAY_BYTES:
            raise ValueError(
                f"input '{name}' would be {list(concrete)} {dtype} ({_bytes(size)}), over the "
                f"{_bytes(MAX_ARRAY_BYTES)} limit on one input array: give its arrays with --inputs"
            )
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
        regular_file(path, MAX_ARRAY_BYTES)
    except UnreadableInput as exc:
        raise ValueError(f"{option}: cannot read '{path}' ({exc.reason})") from None
    try:
        _check_npz_headers(Path(path))
        with np.load(Path(path), allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{option}: cannot read '{path}' as .npz ({' '.join(str(exc).split())})") from None


def _check_npz_headers(path: Path) -> None:
    """Refuse anything but an .npz whose members are arrays within MAX_ARRAY_BYTES, from the headers alone:
    np.load would allocate whatever size a header declares."""
    from numpy.lib import format as npy

    if not zipfile.is_zipfile(path):
        with open(path, "rb") as stream:
            is_npy = stream.read(len(npy.MAGIC_PREFIX)) == npy.MAGIC_PREFIX
        raise ValueError(
            "it is a .npy file, one array: save an array per name with numpy.savez(FILE, name=array)"
            if is_npy
            else "it is not a zip archive, as numpy.savez writes"
        )
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            name = member.filename.removesuffix(".npy")
            with archive.open(member) as stream:
                try:
                    version = npy.read_magic(stream)
                    read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
                    shape, _, dtype = read_header(stream)
                except ValueError as exc:
                    raise ValueError(f"'{name}' is not an array: {exc}") from None
            size = math.prod(shape) * dtype.itemsize
            if size > MAX_ARRAY_BYTES:
                raise ValueError(
                    f"'{name}' declares {list(shape)} {dtype} ({_bytes(size)}), over the "
                    f"{_bytes(MAX_ARRAY_BYTES)} limit on one input array"
                )


def _bytes(size: int) -> str:
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024:
            return f"{amount:.3g} {unit}"
        amount /= 1024
    return f"{amount:.3g} TiB"
