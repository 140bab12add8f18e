"""The pre-commit hooks in .pre-commit-hooks.yaml, run by the real pre-commit against this checkout."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest
from conftest import FIXTURES, ROOT

pytestmark = [
    pytest.mark.slow,  # each try-repo installs this checkout into a fresh hook environment
    pytest.mark.skipif(
        shutil.which("git") is None or importlib.util.find_spec("pre_commit") is None,
        reason="needs git and pre-commit (pip install -e '.[test]')",
    ),
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One pre-commit home for both tests: the hook environment is installed once per checkout revision."""
    return tmp_path_factory.mktemp("pre-commit-home")


def _git(repo, *args):
    subprocess.run(
        ["git", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
        },
    )


def _try_repo(repo, cache, hook):
    # try-repo installs this checkout (uncommitted changes included) into a fresh hook environment.
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, "--all-files"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=1500,
        env={**os.environ, "PRE_COMMIT_HOME": str(cache), "PRE_COMMIT_COLOR": "never"},
    )


def test_model_hook_fails_on_the_bad_model_and_passes_without_it(tmp_path, cache):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    shutil.copy(FIXTURES / "yolov5n_legacy_op12.onnx", repo / "good.onnx")
    shutil.copy(FIXTURES / "yolov5n_training.onnx", repo / "bad.onnx")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "models")

    failed = _try_repo(repo, cache, "onnxlint")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "bad.onnx" in failed.stdout and "NM001" in failed.stdout and "bn-training-mode" in failed.stdout

    _git(repo, "rm", "-q", "bad.onnx")
    _git(repo, "commit", "-qm", "fix")
    passed = _try_repo(repo, cache, "onnxlint")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout


def test_export_script_hook(tmp_path, cache):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    shutil.copy(FIXTURES / "scripts" / "export_dynaxes_typo.py", repo / "export.py")
    (repo / "util.py").write_text("def f():\n    return 1\n")  # no export call: nothing to check
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "scripts")
    result = _try_repo(repo, cache, "onnxlint-export-scripts")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "IO005" in result.stdout and "util.py" not in result.stdout.split("Found")[0]
