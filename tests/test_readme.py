"""The README stays true: its rule table is the registry's, its example output is what the tool prints."""

from __future__ import annotations

import re

from conftest import ROOT

from onnxlint.checks import ALL_RULES
from onnxlint.cli import main
from onnxlint.core.ruledocs import readme_table

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_rule_table_matches_the_registry(request):
    block = re.search(r"<!-- rules:begin.*?-->\n(.*?)\n<!-- rules:end -->", README, re.DOTALL)
    assert block, "README lost its rules:begin/rules:end markers"
    table = readme_table(ALL_RULES)
    if request.config.getoption("--update-golden"):
        (ROOT / "README.md").write_text(README.replace(block.group(1), table), encoding="utf-8")
        return
    assert block.group(1) == table, "run python -m pytest --update-golden to regenerate it"


def test_quoted_lint_output_is_current(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    quoted = re.search(r"onnxlint fixtures/yolov5n_dynamic_batch.onnx\n```\n.*?```text\n(.*?)```", README, re.DOTALL)
    assert quoted
    assert main(["fixtures/yolov5n_dynamic_batch.onnx"]) == 1
    assert capsys.readouterr().out == quoted.group(1)


def test_every_lint_option_is_documented():
    from onnxlint.cli import _lint_parser

    for action in _lint_parser()._actions:
        for flag in action.option_strings:
            if flag.startswith("--") and flag != "--help":
                assert f"`{flag}" in README, flag


def _layout_entries() -> dict[str, str]:
    """The README's project layout, package part: {"" for onnxlint/ itself, else the subpackage: its text}."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Project layout", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    package = block.split("onnxlint/", 1)[1].split("\nrules/", 1)[0]
    entries, current = {"": ""}, ""
    for line in package.splitlines():
        entry = re.match(r"^  (\w+)/\s", line)
        if entry:
            current = entry.group(1)
            entries[current] = ""
        entries[current] += line + "\n"
    return entries


def test_the_layout_section_names_every_package_and_module():
    """A newcomer finds any part from the README: each subpackage has its entry, each module is named in it (the
    rules in checks/ are one module per rule, listed by `onnxlint rules`)."""
    entries = _layout_entries()
    package = ROOT / "onnxlint"
    folders = {path.name for path in package.iterdir() if (path / "__init__.py").is_file()}
    assert set(entries) - {""} == folders | {"schemas"}
    assert (package / "schemas").is_dir()
    for name, text in entries.items():
        if name in ("checks", "schemas"):
            continue
        modules = {path.stem for path in (package / name).glob("*.py")} - {"__init__", "__main__"}
        unnamed = [module for module in sorted(modules) if not re.search(rf"\b{module}\b", text)]
        assert unnamed == [], f"onnxlint/{name}: modules the README's layout does not name"
