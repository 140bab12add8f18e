"""Facts about the deployment that the user states on the command line: anchors, class count, and the
input preprocessing the runtime is configured with (mean, std, layout).

Each parser takes the option's text and returns the value, or raises ValueError with a one-line reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

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
        try:
            content = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"--anchors: cannot read '{value}' ({exc.strerror or exc})") from None
        if path.suffix in (".yaml", ".yml"):
            anchors = _yaml_anchors(content, value)
        else:
            anchors = tuple(float(n) for line in content.splitlines()
                            for n in _NUMBER.findall(line.split("#", 1)[0]))
    if not anchors or len(anchors) % 2:
        raise ValueError(f"--anchors: expected (w, h) pairs, got {len(anchors)} numbers")
    return anchors


def parse_classes(value: str) -> int:
    """A class count: a positive integer, or a labels file with one class name per line."""
    if value.strip().isdigit():
        count = int(value)
    else:
        try:
            count = sum(1 for line in Path(value).read_text(encoding="utf-8").splitlines() if line.strip())
        except OSError as exc:
            raise ValueError(f"--classes: not a number and cannot read '{value}' ({exc.strerror or exc})") from None
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
    if option == "--std" and any(v == 0 for v in values):
        raise ValueError(f"{option}: a std value of 0 would divide by zero")
    return values


def _json_numbers(text: str, option: str) -> tuple[float, ...]:
    """The numbers of a (nested) JSON list, flattened; ValueError naming `option` otherwise."""
    try:
        return _flatten(json.loads(text))
    except (json.JSONDecodeError, TypeError) as exc:
        raise ValueError(f"{option}: not a JSON list of numbers ({exc})") from None


def _flatten(rows) -> tuple[float, ...]:
    if isinstance(rows, (int, float)):
        return (float(rows),)
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
            raise ValueError(f"--anchors: {source} sets 'anchors: {rest}' (autoanchor computes them at training "
                             f"time); give the trained values instead")
        rows = [rest] if rest else []
        for item in lines[index + 1:]:
            stripped = item.strip()
            if not stripped.startswith("-"):
                if stripped and not stripped.startswith("#"):
                    break
                continue
            rows.append(stripped)
        return tuple(float(n) for row in rows for n in _NUMBER.findall(row.split("#", 1)[0]))
    raise ValueError(f"--anchors: {source} has no top-level 'anchors:' entry")
