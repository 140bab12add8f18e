"""Facts about the deployment that the user states on the command line: anchors, class count, and the
input preprocessing the runtime is configured with (mean, std, layout).

Each parser takes the option's text and returns the value, or raises ValueError with a one-line reason.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from onnxlint.core.errors import UnreadableInput
from onnxlint.core.files import parse_json, read_text

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")


def parse_anchors(value: str) -> tuple[float, ...]:
    """Anchors in pixels as a flat (w, h, w, h, ...) tuple in level order.

    Accepts inline JSON (`[[10,13, 16,30, 33,23], ...]` or flat), a yolov5 model yaml (its `anchors:`
    block), or a text file of numbers such as rknn_model_zoo's anchors txt.
    """
    text = value.strip()
    if text.startswith("["):
        anchors = _json_numbers(text, "--anchors")
    else:
        path = Path(value)
        content = _read(path, "--anchors")
        if path.suffix in (".yaml", ".yml"):
            anchors = _yaml_anchors(content, value)
        else:
            anchors = tuple(float(n) for line in content.splitlines() for n in _NUMBER.findall(line.split("#", 1)[0]))
    if not anchors or len(anchors) % 2:
        raise ValueError(f"--anchors: expected (w, h) pairs, got {len(anchors)} numbers")
    _check_finite(anchors, "--anchors")
    return anchors


def parse_classes(value: str) -> int:
    """A class count: a positive integer, or a labels file with one class name per line."""
    text = value.strip()
    if text.isdecimal():  # not isdigit(): int() refuses superscripts such as '²'
        if len(text) > 9:  # int() refuses thousands of digits, and no model has a billion classes
            raise ValueError(f"--classes: expected a class count, got a number of {len(text)} digits")
        count = int(text)
    else:
        count = sum(1 for line in _read(Path(value), "--classes", "not a number and ").splitlines() if line.strip())
    if count <= 0:
        raise ValueError(f"--classes: expected a positive class count, got {count}")
    return count


def parse_channel_values(value: str, option: str) -> tuple[float, ...]:
    """Per-channel values as rknn.config takes them (mean_values=[[0, 0, 0]]): JSON, or numbers separated by
    commas or spaces, in the 0-255 pixel scale."""
    text = value.strip()
    if text.startswith("["):
        values = _json_numbers(text, option)
    else:
        parts = [part for part in re.split(r"[,\s]+", text) if part]
        if not parts or not all(_NUMBER.fullmatch(part) for part in parts):
            raise ValueError(f"{option}: expected numbers such as '0,0,0' or '[[0, 0, 0]]', got '{value}'")
        values = tuple(float(part) for part in parts)
    if not values:
        raise ValueError(f"{option}: no values given")
    _check_finite(values, option)
    if option == "--std" and any(v == 0 for v in values):
        raise ValueError(f"{option}: a std value of 0 would divide by zero")
    return values


def _read(path: Path, option: str, preface: str = "") -> str:
    try:
        return read_text(path)
    except UnreadableInput as exc:
        raise ValueError(f"{option}: {preface}cannot read '{path}' ({exc.reason})") from None


def _check_finite(values: tuple[float, ...], option: str) -> None:
    """No deployment uses NaN or infinity (which 1e999 reads as)."""
    bad = next((v for v in values if not math.isfinite(v)), None)
    if bad is not None:
        raise ValueError(f"{option}: {bad} is not a finite number")


def _json_numbers(text: str, option: str) -> tuple[float, ...]:
    """The numbers of a (nested) JSON list, flattened; ValueError naming `option` otherwise."""
    try:
        return _flatten(parse_json(text))
    except ValueError as exc:
        raise ValueError(f"{option}: not a JSON list of numbers ({exc})") from None
    except RecursionError:  # nesting json accepts can still be too deep to flatten
        raise ValueError(f"{option}: not a JSON list of numbers (nested too deeply)") from None


def _flatten(rows) -> tuple[float, ...]:
    if isinstance(rows, (int, float)) and not isinstance(rows, bool):
        try:
            return (float(rows),)
        except OverflowError:
            raise ValueError("an integer too large to be a number of pixels") from None
    if not isinstance(rows, list):
        raise ValueError(f"{json.dumps(rows)[:40]} is not a number")
    return tuple(number for row in rows for number in _flatten(row))


def _yaml_anchors(content: str, source: str) -> tuple[float, ...]:
    """The `anchors:` block of a yolov5 model yaml, read without a yaml library."""
    lines = content.splitlines()
    for index, line in enumerate(lines):
        key, _, rest = line.partition("#")[0].partition(":")
        if key.strip() != "anchors" or line[:1].isspace():
            continue
        rest = rest.strip()
        if rest and not rest.startswith("["):
            raise ValueError(
                f"--anchors: {source} sets 'anchors: {rest}' (autoanchor computes them at training "
                f"time); give the trained values instead"
            )
        rows = [rest] if rest else []
        for item in lines[index + 1 :]:
            stripped = item.strip()
            if not stripped.startswith("-"):
                if stripped and not stripped.startswith("#"):
                    break
                continue
            rows.append(stripped)
        return tuple(float(n) for row in rows for n in _NUMBER.findall(row.split("#", 1)[0]))
    raise ValueError(f"--anchors: {source} has no top-level 'anchors:' entry")
