"""The Python API: what the command line does, for scripts and notebooks.

For example:

    import onnxlint
    report = onnxlint.lint("yolov5s.onnx", target="rk3588", mean=[0, 0, 0], std=[255, 255, 255])
    for finding in report.findings:
        print(finding.code, finding.location.node, finding.message)
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from onnxlint.settings.config import normalize
from onnxlint.settings.table import API_KEYWORDS

if TYPE_CHECKING:
    import onnx

    from onnxlint.core.finding import Report


def lint(
    model: str | os.PathLike[str] | onnx.ModelProto,
    target: str | None = None,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    **options: Any,
) -> Report:
    """Lint one model (a path, or an onnx.ModelProto) or one torch.onnx.export script, as the command line does.

    Every other keyword is a lint option of the command line, named with "_" for "-": `toolkit`, the deployment
    facts (`anchors`, `classes`, `mean`, `std`, `input_layout`, `dynamic_axes`), `confirm` with `seed`, `inputs`,
    `reference`, `rtol`, `atol`, `run_timeout` and `run_memory`, `baseline` and `config`. Each takes what the
    option takes, or for the settings [tool.onnxlint] holds, the Python values the TOML takes (lists, dicts,
    ints). `config` applies a TOML file's [tool.onnxlint] table first; no file is read unless named. Raises
    ValueError for a bad option (TypeError for an unknown keyword); a file that cannot be read gives
    `Report.error`.
    """
    from onnxlint.core.plugins import all_rules
    from onnxlint.pipeline import lint_model
    from onnxlint.settings.options import OptionError, lint_setup

    unknown = sorted(set(options) - set(API_KEYWORDS))
    if unknown:
        raise TypeError(f"lint() got unexpected keyword arguments {unknown} (options: {', '.join(API_KEYWORDS)})")
    given: dict[str, Any] = {
        "target": target,
        "select": list(select) if select is not None else None,
        "ignore": list(ignore) if ignore is not None else None,
    }
    given.update((API_KEYWORDS[keyword].name, value) for keyword, value in options.items())
    config = Path(given.pop("config")) if given.get("config") is not None else None
    try:
        setup = lint_setup({name: _checked(name, value) for name, value in given.items()}, config, all_rules())
    except OptionError as exc:
        raise ValueError(str(exc)) from None
    return lint_model(model, setup)


def _checked(name: str, value: Any) -> Any:
    """A keyword's value in its command-line form, checked as the command line checks it."""
    option = API_KEYWORDS[name.replace("-", "_")]
    where = f"lint({option.keyword}=...)"
    if value is None:
        return None
    if option.toml:
        return normalize(name, value, where, Path.cwd())
    if option.flag:
        if not isinstance(value, bool):
            raise ValueError(f"{where}: expected True or False, got {value!r}")
        return value
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    try:
        return option.parse(str(value)) if option.parse else value
    except (argparse.ArgumentTypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def inspect(model: str | os.PathLike[str] | onnx.ModelProto) -> dict[str, Any]:
    """The `onnxlint inspect` summary of one model, as the JSON output's `models[]` entry.
    Raises onnxlint.core.model.ModelLoadError for a file that cannot be read."""
    import tempfile

    from onnxlint.analysis.summary import summarize
    from onnxlint.core.graph import build_graphs
    from onnxlint.core.model import load_model

    def summary(path: str | os.PathLike[str]) -> dict[str, Any]:
        loaded = load_model(path)
        return summarize(loaded, build_graphs(loaded))

    if isinstance(model, (str, os.PathLike)):
        return summary(model)
    import onnx

    from onnxlint.pipeline import IN_MEMORY

    with tempfile.TemporaryDirectory(prefix="onnxlint-") as folder:  # the loader vets files (see lint_model)
        path = Path(folder) / "model.onnx"
        onnx.save(model, str(path))
        return {**summary(path), "path": IN_MEMORY}
