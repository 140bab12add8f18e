"""The Python API: what the command line does, for scripts and notebooks.

    import onnxlint
    report = onnxlint.lint("yolov5s.onnx", target="rk3588", mean=[0, 0, 0], std=[255, 255, 255])
    for finding in report.findings:
        print(finding.code, finding.location.node, finding.message)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from onnxlint.settings.config import COMMAND_LINE, Sourced, normalize, read_config

if TYPE_CHECKING:
    import onnx

    from onnxlint.core.finding import Report

IN_MEMORY = "<model>"
# Deployment facts, as keyword arguments: the command-line option names with "_" for "-".
DEPLOYMENT = ("anchors", "classes", "mean", "std", "input_layout", "dynamic_axes")


def lint(model: "str | os.PathLike[str] | onnx.ModelProto", target: str | None = None,
         select: Iterable[str] | None = None, ignore: Iterable[str] | None = None, *,
         toolkit: str | None = None, config: "str | os.PathLike[str] | None" = None,
         **deployment: Any) -> "Report":
    """Lint one model (a path, or an onnx.ModelProto) or one torch.onnx.export script.

    `target`, `select`, `ignore`, `toolkit` and the deployment facts (`anchors`, `classes`, `mean`, `std`,
    `input_layout`, `dynamic_axes`) take what the command-line options take, or the Python values the TOML
    config takes (lists, dicts, ints). `config` applies a TOML file's [tool.onnxlint] table first; no file is
    read unless named. Raises ValueError for a bad option; a file that cannot be read gives `Report.error`.
    """
    from onnxlint.core.engine import lint_file
    from onnxlint.settings.options import OptionError, resolve
    from onnxlint.core.plugins import all_rules

    unknown = sorted(set(deployment) - set(DEPLOYMENT))
    if unknown:
        raise TypeError(f"lint() got unexpected keyword arguments {unknown} "
                        f"(deployment facts: {', '.join(DEPLOYMENT)})")
    config_path = Path(config) if config is not None else None
    options = dict(read_config(config_path)) if config_path else {}
    given = {"target": target, "toolkit": toolkit,
             "select": list(select) if select is not None else None,
             "ignore": list(ignore) if ignore is not None else None,
             **{key.replace("_", "-"): value for key, value in deployment.items()}}
    for key, value in given.items():
        if value is not None:
            options[key] = Sourced(normalize(key, value, f"lint({key.replace('-', '_')}=...)", Path.cwd()),
                                   COMMAND_LINE)
    try:
        resolved = resolve(options, all_rules(), root=config_path.parent if config_path else None)
    except OptionError as exc:
        raise ValueError(str(exc)) from None
    if isinstance(model, (str, os.PathLike)):
        return lint_file(model, resolved.rules, resolved.settings, resolved.policy)
    return _lint_in_memory(model, lambda path: lint_file(path, resolved.rules, resolved.settings, resolved.policy))


def inspect(model: "str | os.PathLike[str] | onnx.ModelProto") -> dict[str, Any]:
    """The `onnxlint inspect` summary of one model, as the JSON output's `models[]` entry.
    Raises onnxlint.core.model.ModelLoadError for a file that cannot be read."""
    from onnxlint.core.graph import build_graphs
    from onnxlint.core.model import load_model
    from onnxlint.analysis.summary import summarize

    def summary(path: str | os.PathLike[str]) -> dict[str, Any]:
        loaded = load_model(path)
        return summarize(loaded, build_graphs(loaded))

    if isinstance(model, (str, os.PathLike)):
        return summary(model)
    return {**_lint_in_memory(model, summary), "path": IN_MEMORY}


def _lint_in_memory(model: "onnx.ModelProto", run):
    import dataclasses

    import onnx

    with tempfile.TemporaryDirectory(prefix="onnxlint-") as folder:
        path = Path(folder) / "model.onnx"
        onnx.save(model, str(path))
        result = run(path)
    return dataclasses.replace(result, path=IN_MEMORY) if dataclasses.is_dataclass(result) else result
