"""Every rule has its page with the five headings; every page a rule; doc examples are executed."""

from __future__ import annotations

import json
import os
import re

import onnx
import pytest
from conftest import parse

from onnxlint.checks import ALL_RULES
from onnxlint.core.engine import lint_file
from onnxlint.core.registry import LintSettings, normalize_dynamic_axes
from onnxlint.core.ruledocs import HEADINGS, doc_files, page_name, read_page, sections
from onnxlint.rknn.targets import known_versions, resolve_target
from onnxlint.settings.deployment import parse_anchors

# A fence line: ```onnx or ```python, optionally followed by a one-line JSON object of lint settings.
BLOCK = re.compile(r"^```(onnx|python)[ \t]*(\{[^\n]*\})?[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_every_rule_has_a_page_and_every_page_a_rule():
    pages = set(doc_files())
    expected = {page_name(r) for r in ALL_RULES}
    assert pages == expected


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_page_has_headings_in_order(rule):
    page = read_page(rule)
    assert page.startswith(f"# {rule.code} {rule.name}\n")
    assert list(sections(page)) == list(HEADINGS)


def _blocks(rule, heading):
    return [
        (m.group(1), json.loads(m.group(2)) if m.group(2) else {}, m.group(3))
        for m in BLOCK.finditer(sections(read_page(rule))[heading])
    ]


def _settings(options: dict) -> LintSettings:
    """The lint settings a fence line gives: {"target", "dynamic_axes", "anchors", "classes", "mean", "std",
    "input_layout", "confirm"}, as on the CLI."""
    return LintSettings(
        target=resolve_target(options["target"], known_versions()[-1]) if "target" in options else None,
        dynamic_axes=normalize_dynamic_axes(options["dynamic_axes"]) if "dynamic_axes" in options else None,
        anchors=parse_anchors(json.dumps(options["anchors"])) if "anchors" in options else None,
        classes=options.get("classes"),
        mean=tuple(options["mean"]) if "mean" in options else None,
        std=tuple(options["std"]) if "std" in options else None,
        input_layout=options.get("input_layout"),
        run=_run_options(options["confirm"]) if "confirm" in options else None,
    )


def _run_options(spec: dict):
    """--confirm's options from a fence: {"seed", "rtol", "atol", "inputs": {name: list}, "reference": {...}}."""
    import numpy as np

    from onnxlint.confirm.metrics import Tolerance
    from onnxlint.confirm.runner import ConfirmOptions

    def arrays(named):
        return {name: np.asarray(values, dtype=np.float32) for name, values in named.items()} if named else None

    return ConfirmOptions(
        seed=spec.get("seed", 0),
        inputs=arrays(spec.get("inputs")),
        reference=arrays(spec.get("reference")),
        tolerance=Tolerance(rtol=spec.get("rtol", 1e-3), atol=spec.get("atol", 1e-5)),
    )


def _lint_block(folder, rule, language, options, body):
    """Lint one doc block with its rule, as a user would from `folder`."""
    folder.mkdir(exist_ok=True)
    path = folder / ("model.onnx" if language == "onnx" else "export.py")
    if language == "onnx":
        onnx.save(parse(body), str(path))
    else:
        path.write_text(body)
    previous = os.getcwd()
    os.chdir(folder)  # lint "model.onnx" as a user in that folder would: paths in fixes read as on the page
    try:
        report = lint_file(path.name, [rule], _settings(options))
    finally:
        os.chdir(previous)
    assert report.error is None, report.error
    assert not report.rules_skipped, report.rules_skipped
    return report


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_example_blocks_fire(tmp_path, rule):
    blocks = _blocks(rule, "Example")
    assert blocks, "the Example section needs an ```onnx or ```python block"
    for language, options, body in blocks:
        assert rule.code in [f.code for f in _lint_block(tmp_path, rule, language, options, body).findings], body


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_fix_blocks_are_clean(tmp_path, rule):
    blocks = _blocks(rule, "Fix")
    assert blocks, "the Fix section needs an ```onnx or ```python block"
    for language, options, body in blocks:
        assert _lint_block(tmp_path, rule, language, options, body).findings == (), body


def _rendered_lines(report) -> str:
    """The finding lines of the text output, as a page quotes them."""
    from io import StringIO

    from onnxlint.output import text

    buffer = StringIO()
    text.lint([report], buffer)
    return "".join(line + "\n" for line in buffer.getvalue().splitlines() if line.startswith("  "))


QUOTED_OUTPUT = re.compile(r"^```text\n((?:  (?:error|warning|info) .*?))^```", re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_quoted_output_is_what_the_examples_print(tmp_path, rule):
    example = sections(read_page(rule))["Example"]
    printed = [
        _rendered_lines(_lint_block(tmp_path / str(index), rule, *block))
        for index, block in enumerate(_blocks(rule, "Example"))
    ]
    for quoted in QUOTED_OUTPUT.findall(example):
        assert quoted in printed, f"stale output quoted in {page_name(rule)}:\n{quoted}"
