"""Calibration and evaluation samples, prepared as rknn-toolkit2 prepares its dataset.

Sources (`--dataset`, repeatable): image files, folders of images, an .npz (the model's input values by input
name, already normalised, samples on axis 0), or the toolkit's dataset.txt (one sample per line: one path per model
input, separated by spaces; relative paths are read from the list's folder, then from the working folder; .npy files
hold raw values the toolkit normalises with mean/std, as it does images). Without a dataset, a generated sample of
seeded random images stands in, and the report says so.

Images are read as RGB (the toolkit's default, `quant_img_RGB2BGR=False`), resized to the input's height and
width with bilinear interpolation when their size differs (OpenCV's cv2.resize when it is installed, as the
toolkit does; Pillow's otherwise), then normalised per channel as (pixel - mean) / std, the 0-255 values that
`rknn.config(mean_values=, std_values=)` take, and laid out NCHW.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
GENERATED_SAMPLES = 4


class DatasetError(ValueError):
    """A dataset that cannot be read or does not fit the model: one line naming the file."""


@dataclass
class Samples:
    """Feeds for the model, by input name, one dict per sample; `images` says pixels were read (the toolkit
    then quantizes the input over the range that pixels 0-255 normalise to)."""

    feeds: list[dict[str, np.ndarray]]
    source: str
    images: bool = False
    generated: bool = False
    notes: list[str] = field(default_factory=list)


def input_shapes(model: onnx.ModelProto, size: Sequence[int] | None) -> dict[str, tuple[int, ...]]:
    """Concrete shapes of the model's inputs: the declared ones, with `size` (N,C,H,W) for the first input when
    given; a dynamic dim left without a size is an error naming it."""
    from onnxlint.confirm.inputs import input_specs

    shapes = {}
    for position, (name, _, shape) in enumerate(input_specs(model)):
        if position == 0 and size:
            if shape and len(size) != len(shape):
                raise DatasetError(f"--input-size has {len(size)} dims but input '{name}' has {len(shape)}")
            fixed = [d for d in shape if isinstance(d, int) and d > 0]
            concrete = tuple(size)
            if any(isinstance(d, int) and d > 0 and d != s for d, s in zip(shape, concrete)):
                raise DatasetError(
                    f"--input-size {list(concrete)} contradicts input '{name}' {list(shape)}"
                    if fixed
                    else f"--input-size does not fit input '{name}'"
                )
        else:
            concrete = tuple(
                d if isinstance(d, int) and d > 0 else (1 if axis == 0 else -1) for axis, d in enumerate(shape)
            )
            if -1 in concrete:
                raise DatasetError(f"input '{name}' has dynamic dims {list(shape)}: give --input-size N,C,H,W")
        shapes[name] = concrete
    return shapes


def load_samples(
    model: onnx.ModelProto,
    paths: Sequence[str],
    shapes: dict[str, tuple[int, ...]],
    mean: Sequence[float] | None,
    std: Sequence[float] | None,
    seed: int = 0,
) -> Samples:
    names = list(shapes)
    if not paths:
        return _generated(shapes, mean, std, seed)
    feeds: list[dict[str, np.ndarray]] = []
    images = False
    notes: list[str] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise DatasetError(f"--dataset: {given}: a folder with no image in it")
            feeds += [{names[0]: _image(p, shapes[names[0]], mean, std, notes)} for p in files]
            images = True
        elif path.suffix.lower() == ".npz":
            feeds += _npz(path, shapes)
        elif path.suffix.lower() == ".txt":
            lines, from_images = _listing(path, shapes, mean, std, notes)
            feeds += lines
            images = images or from_images
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            if len(names) != 1:
                raise DatasetError(
                    f"--dataset: {given}: an image for a model with {len(names)} inputs; use a "
                    f"dataset.txt with one file per input"
                )
            feeds.append({names[0]: _image(path, shapes[names[0]], mean, std, notes)})
            images = True
        else:
            raise DatasetError(f"--dataset: {given}: not an image, a folder, an .npz or a dataset .txt")
    if not feeds:
        raise DatasetError("--dataset: no sample found")
    return Samples(feeds, ", ".join(paths), images=images, notes=sorted(set(notes)))


def _generated(shapes, mean, std, seed) -> Samples:
    rng = np.random.default_rng(seed)
    feeds = []
    for _ in range(GENERATED_SAMPLES):
        sample = {}
        for name, shape in shapes.items():
            pixels = rng.integers(0, 256, size=shape).astype(np.float32)
            sample[name] = _normalise(pixels, mean, std) if len(shape) == 4 else pixels / 255.0
        feeds.append(sample)
    return Samples(
        feeds,
        f"generated: {GENERATED_SAMPLES} seeded random 0-255 images (seed {seed}); predictions "
        f"on random pixels do not show how real images quantize: give --dataset",
        images=True,
        generated=True,
    )


def _normalise(nchw: np.ndarray, mean, std) -> np.ndarray:
    m, s = _mean_std(nchw, mean, std)
    return ((nchw - m) / s).astype(np.float32)


def _mean_std(nchw: np.ndarray, mean, std) -> tuple[np.ndarray, np.ndarray]:
    channels = nchw.shape[1]
    m = np.asarray(_per_channel(mean, channels, 0.0), dtype=np.float32).reshape(1, channels, 1, 1)
    s = np.asarray(_per_channel(std, channels, 1.0), dtype=np.float32).reshape(1, channels, 1, 1)
    return m, s


def raw_values(feed: dict[str, np.ndarray], mean, std) -> dict[str, np.ndarray]:
    """The values the toolkit reads for `feed`: what its mean/std normalisation turns into the feed's arrays
    (N,C,H,W inputs; the toolkit normalises no other)."""
    raw = {}
    for name, array in feed.items():
        if array.ndim == 4 and (mean or std):
            m, s = _mean_std(array, mean, std)
            array = (array * s + m).astype(np.float32)
        raw[name] = array
    return raw


def _per_channel(values, channels: int, default: float) -> list[float]:
    if not values:
        return [default] * channels
    values = list(values)
    if len(values) == 1:
        return values * channels
    if len(values) != channels:
        raise DatasetError(f"{len(values)} mean/std values for {channels} channels")
    return values


def read_rgb(path: Path) -> np.ndarray:
    """HWC uint8 RGB (a grey image is repeated on three channels)."""
    try:
        import cv2  # the toolkit's reader

        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise DatasetError(f"--dataset: {path}: not an image OpenCV can read")
        return image[:, :, ::-1].copy()
    except ImportError:
        pass
    try:
        from PIL import Image
    except ImportError:
        raise DatasetError(
            "reading images needs OpenCV (opencv-python-headless) or Pillow: pip install 'onnxlint[quant]'"
        ) from None
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except OSError as exc:
        raise DatasetError(f"--dataset: {path}: not an image Pillow can read ({exc})") from None


def resize(image: np.ndarray, height: int, width: int, notes: list[str]) -> np.ndarray:
    if image.shape[:2] == (height, width):
        return image
    try:
        import cv2

        notes.append(f"images resized to {height}x{width} with cv2.resize (bilinear), as the toolkit does")
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    except ImportError:
        from PIL import Image

        notes.append(
            f"images resized to {height}x{width} with Pillow's bilinear filter (OpenCV is not installed; "
            f"the toolkit's cv2.resize differs slightly)"
        )
        return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))


def _image(path: Path, shape: tuple[int, ...], mean, std, notes: list[str]) -> np.ndarray:
    if len(shape) != 4:
        raise DatasetError(f"--dataset: {path}: an image for an input of shape {list(shape)} (not N,C,H,W)")
    channels, height, width = shape[1], shape[2], shape[3]
    image = resize(read_rgb(path), height, width, notes)
    if channels == 1:
        image = image.mean(axis=2, keepdims=True)
    elif channels != 3:
        raise DatasetError(f"--dataset: {path}: an RGB image for an input with {channels} channels")
    nchw = np.ascontiguousarray(image.transpose(2, 0, 1)[None].astype(np.float32))
    return np.repeat(_normalise(nchw, mean, std), shape[0], axis=0)


def _npz(path: Path, shapes) -> list[dict[str, np.ndarray]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError) as exc:
        raise DatasetError(f"--dataset: cannot read '{path}' as .npz ({' '.join(str(exc).split())})") from None
    missing = [name for name in shapes if name not in arrays]
    if missing:
        raise DatasetError(f"--dataset: {path} has no array for input {missing} (it has {sorted(arrays)})")
    counts = set()
    per_input = {}
    for name, shape in shapes.items():
        array = arrays[name].astype(np.float32)
        if array.ndim == len(shape) + 1:
            samples = [array[i] for i in range(array.shape[0])]
        elif array.ndim == len(shape) and array.shape[0] > shape[0] and shape[0] == 1:
            samples = [array[i : i + 1] for i in range(array.shape[0])]
        else:
            samples = [array]
        for sample in samples:
            if tuple(sample.shape) != tuple(shape):
                raise DatasetError(
                    f"--dataset: {path}: '{name}' samples are {list(sample.shape)}, the model takes {list(shape)}"
                )
        per_input[name] = samples
        counts.add(len(samples))
    if len(counts) != 1:
        raise DatasetError(f"--dataset: {path}: the inputs have different sample counts {sorted(counts)}")
    return [{name: per_input[name][i] for name in shapes} for i in range(counts.pop())]


def _listing(path: Path, shapes, mean, std, notes) -> tuple[list[dict[str, np.ndarray]], bool]:
    try:
        lines = [line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"--dataset: cannot read '{path}' ({exc})") from None
    feeds, images = [], False
    names = list(shapes)
    for number, entries in enumerate(lines, start=1):
        if len(entries) != len(names):
            raise DatasetError(f"--dataset: {path}: line {number} names {len(entries)} files for {len(names)} inputs")
        sample = {}
        for name, entry in zip(names, entries):
            file = Path(entry)
            if not file.is_absolute():
                file = path.parent / entry if (path.parent / entry).exists() else Path(os.getcwd()) / entry
            if file.suffix.lower() == ".npy":
                try:
                    array = np.load(file, allow_pickle=False).astype(np.float32)
                except (OSError, ValueError) as exc:
                    raise DatasetError(f"--dataset: {path}: line {number}: cannot read '{entry}' ({exc})") from None
                if array.ndim == len(shapes[name]) - 1:
                    array = array[None]
                if array.ndim == 4 and array.shape[-1] == shapes[name][1] and array.shape[1] != shapes[name][1]:
                    array = array.transpose(0, 3, 1, 2)  # the toolkit's .npy samples are often NHWC
                if tuple(array.shape) != tuple(shapes[name]):
                    raise DatasetError(
                        f"--dataset: {path}: line {number}: '{entry}' is {list(array.shape)}, input "
                        f"'{name}' is {list(shapes[name])}"
                    )
                # The toolkit normalises .npy samples with mean/std as it does images.
                sample[name] = _normalise(array, mean, std) if array.ndim == 4 and (mean or std) else array
            else:
                if not file.is_file():
                    raise DatasetError(f"--dataset: {path}: line {number}: no file '{entry}'")
                sample[name] = _image(file, shapes[name], mean, std, notes)
                images = True
        feeds.append(sample)
    return feeds, images


def split_samples(
    samples: Samples, inputs: dict[str, np.ndarray] | None
) -> tuple[list[dict[str, np.ndarray]], list[dict[str, np.ndarray]], str]:
    """(calibration feeds, evaluation feeds, how they were chosen, in words): the last sample held back for
    evaluation when there are two or more, unless `inputs` (--inputs) are the evaluation."""
    feeds = samples.feeds
    if inputs is not None:
        return feeds, [inputs], "evaluated on --inputs; calibrated on every dataset sample"
    if len(feeds) >= 2:
        return (
            feeds[:-1],
            feeds[-1:],
            (
                f"calibrated on {len(feeds) - 1} samples, evaluated on the last one, held "
                f"back (as accuracy_analysis on an image the build did not calibrate on)"
            ),
        )
    return feeds, feeds, "one sample: calibrated and evaluated on the same one (give two or more to hold one back)"
