"""Settings from `[tool.onnxlint]` in pyproject.toml and from the command line, each with where it came from.

The file is found by walking up from the working directory to the first pyproject.toml that has a
`[tool.onnxlint]` table (`--config FILE` names one instead; find_config says how broken files are treated).
Command-line options override the file.
Values are checked here for shape; their meaning (rule codes, targets, anchors, ...) is checked by the same
code that checks command-line options, with the key's source in the error.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onnxlint.core.errors import UnreadableInput
from onnxlint.core.files import MAX_TEXT_BYTES, decode, read_bytes
from onnxlint.settings.table import CONFIG_KEYS, FACT, FACT_OR_FILE, SELECTORS, STRING

TABLE = ("tool", "onnxlint")
OUR_TABLE = re.compile(rb"tool\s*\.\s*[\"']?onnxlint\b")  # [tool.onnxlint], tool.onnxlint.x = ..., [tool."onnxlint"]
COMMAND_LINE = "command line"
DEFAULT = "default"
KEYS = tuple(CONFIG_KEYS)


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Sourced:
    value: Any
    source: str  # "command line", "default", or the config file's path


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start` with a [tool.onnxlint] table.

    A pyproject.toml that cannot be read or parsed is passed over, since it may belong to anything above the
    project, unless its text names tool.onnxlint: then it is ours and broken, and that is the error."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        try:
            data = read_bytes(candidate, MAX_TEXT_BYTES)
        except UnreadableInput:
            continue
        try:
            document = _parse_toml(candidate, data)
        except ConfigError:
            if OUR_TABLE.search(data):
                raise
            continue
        if _table(document, candidate) is not None:
            return candidate
    return None


def read_config(path: Path) -> dict[str, Sourced]:
    """The [tool.onnxlint] settings of `path`, checked for known keys and value shapes."""
    table = _table(_read_toml(path), path)
    if table is None:
        raise ConfigError(f"{path}: no [tool.onnxlint] table")
    settings: dict[str, Sourced] = {}
    for key, value in table.items():
        where = f"{path}: [tool.onnxlint] {key}"
        if key not in KEYS:
            raise ConfigError(f"{path}: [tool.onnxlint] unknown key '{key}' (known: {', '.join(KEYS)})")
        settings[key] = Sourced(normalize(key, value, where, path.parent), str(path))
    return settings


def normalize(key: str, value: Any, where: str, folder: Path) -> Any:
    """A setting's value in the form option checking takes: lists of selectors, option strings for deployment
    facts (files found from `folder`), tables as dicts. Raises ConfigError naming `where`."""
    shape = CONFIG_KEYS[key].toml
    if shape == STRING:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if shape == SELECTORS:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of rule codes, prefixes or slugs, got {value!r}")
        return value
    if shape in (FACT, FACT_OR_FILE):
        # A deployment fact takes what its option takes; a string is a path relative to the config file's
        # folder where the option accepts a file.
        if (
            isinstance(value, str)
            and shape == FACT_OR_FILE
            and not value.lstrip().startswith(("[", "{"))
            and not value.strip().isdigit()
        ):
            return str(folder / value)  # a file, found from the config file's folder
        if isinstance(value, (list, dict)):
            return json.dumps(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: unexpected value {value!r}")
    # severity, per-model-ignores, per-node-ignores: tables
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table, got {value!r}")
    for pattern, entry in value.items():
        if key == "rules":
            if not isinstance(entry, dict):
                raise ConfigError(f"{where}.{pattern}: expected a table of the rule's options, got {entry!r}")
            continue  # option names and types are checked against what the rule declares (options.py)
        if key == "severity":
            if not isinstance(entry, str):
                raise ConfigError(f"{where}.{pattern}: expected a severity string, got {entry!r}")
        elif isinstance(entry, str):
            value[pattern] = [part for part in entry.split(",") if part.strip()]
        elif not isinstance(entry, list) or not all(isinstance(v, str) for v in entry):
            raise ConfigError(f'{where}."{pattern}": expected a list of rule codes, got {entry!r}')
    return value


def merge(file_settings: Mapping[str, Sourced], command_line: Mapping[str, Any]) -> dict[str, Sourced]:
    """Command-line values (those given, not None) override the file's."""
    merged = dict(file_settings)
    for key, value in command_line.items():
        if value is not None:
            merged[key] = Sourced(value, COMMAND_LINE)
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = read_bytes(path, MAX_TEXT_BYTES)
    except UnreadableInput as exc:
        raise ConfigError(f"{path}: cannot read ({exc.reason})") from None
    return _parse_toml(path, data)


def _parse_toml(path: Path, data: bytes) -> dict[str, Any]:
    try:
        return tomllib.loads(decode(path, data))
    except UnreadableInput as exc:
        raise ConfigError(f"{path}: {exc.reason}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML (nested too deeply)") from None


def _table(document: Mapping[str, Any], path: Path) -> dict[str, Any] | None:
    table: Any = document
    for part in TABLE:
        if not isinstance(table, Mapping) or part not in table:
            return None
        table = table[part]
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.onnxlint] must be a table")
    return table
