"""No rule code outside its own rule: the runner, the outputs and the other rules ask a rule (its class, its
confirmer, its data type) instead of naming its code. Docstrings and comments may name codes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import ROOT

from onnxlint.checks import ALL_RULES
from onnxlint.core.registry import CODE_PATTERN

PACKAGE = ROOT / "onnxlint"
CODES = frozenset(rule.code for rule in ALL_RULES)
MENTION = re.compile(r"\b[A-Z]{2}\d{3}\b")

# (file, code) pairs still to be rid of their literal, each with why it is here.
ALLOWED: set[tuple[str, str]] = set()


def _own_module(code: str) -> str:
    return f"onnxlint/checks/{code.lower()}_"


def _docstrings(tree: ast.AST) -> set[int]:
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def code_literals(path: Path) -> list[tuple[int, str]]:
    """(line, code) for each string constant in `path`, docstrings aside, that is a rule code or names a
    registered rule's code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str) or id(node) in docstrings:
            continue
        if CODE_PATTERN.match(node.value):
            found.append((node.lineno, node.value))
        else:
            found += [(node.lineno, code) for code in MENTION.findall(node.value) if code in CODES]
    return found


def test_rule_codes_appear_only_in_their_own_rule_module():
    stray = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for line, code in code_literals(path):
            if not relative.startswith(_own_module(code)) and (relative, code) not in ALLOWED:
                stray.append(f"{relative}:{line}: {code}")
    assert stray == []


def test_the_scan_sees_codes_in_strings_and_not_in_docstrings_or_comments(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Module docs may name TG008."""\n'
        "def f(finding):\n"
        '    """So may function docs: OP001."""\n'
        "    x = 1  # and comments: NM001\n"
        '    if finding.code == "IO007":\n'
        '        return f"predicted by {finding.code} and TG008"\n'
        '    return {"XY001": "mentions NM002"}\n',
        encoding="utf-8",
    )
    assert sorted(code_literals(sample)) == [(5, "IO007"), (6, "TG008"), (7, "NM002"), (7, "XY001")]


def test_allowed_entries_are_still_needed():
    for relative, code in ALLOWED:
        assert code in {found for _, found in code_literals(ROOT / relative)}, (relative, code)
