"""Shared helpers: build models from ONNX text or protos and lint them with chosen rules."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import onnx
import pytest

from onnxlint.checks import ALL_RULES
from onnxlint.core.engine import lint_file
from onnxlint.core.finding import Report
from onnxlint.core.registry import LintSettings, find_rule

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def rule(key: str):
    found = find_rule(ALL_RULES, key)
    assert found is not None, key
    return found


def parse(text: str) -> onnx.ModelProto:
    return onnx.parser.parse_model(text)


def lint_proto(
    tmp_path: Path,
    model: onnx.ModelProto,
    *keys: str,
    name: str = "model.onnx",
    settings: LintSettings = LintSettings(),
) -> Report:
    path = tmp_path / name
    onnx.save(model, str(path))
    rules = [rule(k) for k in keys] if keys else list(ALL_RULES)
    return lint_file(path, rules, settings)


def lint_text(tmp_path: Path, text: str, *keys: str, settings: LintSettings = LintSettings()) -> Report:
    return lint_proto(tmp_path, parse(text), *keys, settings=settings)


def codes(report: Report) -> list[str]:
    assert report.error is None, report.error
    return [f.code for f in report.findings]


@pytest.fixture(scope="session", autouse=True)
def private_temporary_folder(tmp_path_factory):
    """Whatever onnxlint writes to the temporary folder during the tests (the traceback files of the internal
    errors some tests provoke, in this process and in the CLI's child processes) lands under pytest's own folder,
    which pytest prunes, not in the machine's /tmp."""
    import os
    import tempfile

    folder = tmp_path_factory.mktemp("tmpdir")
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = None  # recomputed from TMPDIR on next use
    yield folder
    if saved is None:
        del os.environ["TMPDIR"]
    else:
        os.environ["TMPDIR"] = saved
    tempfile.tempdir = None


@pytest.fixture
def fixture_path():
    def get(name: str) -> Path:
        path = FIXTURES / name
        assert path.is_file(), f"missing fixture {name}: run fixtures/build_fixtures.py"
        return path

    return get


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite fixtures/golden/* from current output")


@pytest.fixture
def golden(request):
    """Compare text with fixtures/golden/<name>, or rewrite it under --update-golden."""

    def check(name: str, text: str) -> None:
        path = FIXTURES / "golden" / name
        if request.config.getoption("--update-golden"):
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert path.is_file(), f"missing golden {name}: run pytest --update-golden"
        assert text == path.read_text(encoding="utf-8")

    return check


def pytest_terminal_summary(terminalreporter):
    """The real-model corpus's per-rule table (tests/test_corpus.py), when it ran."""
    import sys

    corpus = sys.modules.get("test_corpus") or sys.modules.get("tests.test_corpus")
    table = getattr(corpus, "TABLE", None)
    if not table:
        return
    terminalreporter.section("real-model corpus: findings per rule")
    terminalreporter.write_line(f"{'rule':6} {'true':>5} {'false':>5} {'missed':>6} {'unjudged':>8} {'fixed':>5}")
    total = Counter()
    for code in sorted(table):
        row = table[code]
        total.update(row)
        terminalreporter.write_line(
            f"{code:6} {row['true']:5} {row['false']:5} {row['missed']:6} {row['unjudged']:8} {row['fixed']:5}"
        )
    terminalreporter.write_line(
        f"{'all':6} {total['true']:5} {total['false']:5} {total['missed']:6} {total['unjudged']:8} {total['fixed']:5}"
    )
