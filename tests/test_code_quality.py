"""ruff (lint and format) and mypy pass on the whole project, with the settings in pyproject.toml.

CI runs only the README's test command, so the code checks run here. Both tools are pinned in the `test` extra, so a
new release cannot fail unchanged code. Without them these tests are skipped, except in CI (`CI` set), where that
is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
from conftest import ROOT


def _tool(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Runs the tool installed beside the tests (not whichever one is on the PATH) from the project root."""
    if importlib.util.find_spec(module) is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run {module}: .ci/run installs it with the test extra (pip install -e '.[test]')")
        pytest.skip(f"{module} is not installed (pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_check_finds_nothing():
    result = _tool("ruff", "check", "--no-cache", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_leaves_every_file_as_it_is():
    result = _tool("ruff", "format", "--no-cache", "--diff", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_no_type_error(tmp_path):
    # The files to check come from [tool.mypy]; the cache goes to a temporary folder, not into the checkout.
    result = _tool("mypy", "--cache-dir", str(tmp_path / "mypy-cache"))
    assert result.returncode == 0, result.stdout + result.stderr
