"""Every model shipped in the installed onnx package's backend test data lints without a crash."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from onnxlint.checks import ALL_RULES
from onnxlint.core.engine import lint_file

BACKEND_DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"
MODELS = sorted(BACKEND_DATA.rglob("*.onnx"))


def test_backend_data_is_present():
    # onnx 1.18 ships ~1600 models here (node tests included), onnx 1.23 ~150.
    assert len(MODELS) > 100, BACKEND_DATA


# onnx's own test models are valid by construction: a validity finding on one would be noise.
VALIDITY_CODES = {"OP001", "OP003", "OP004"}


@pytest.mark.parametrize("chunk", range(8))
def test_lint_backend_models_without_crashing_or_validity_noise(chunk):
    crashes, noise = [], []
    for path in MODELS[chunk::8]:
        name = path.relative_to(BACKEND_DATA)
        try:
            report = lint_file(path, ALL_RULES)
        except Exception as exc:  # the point of the test: name every crash, not just the first
            crashes.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        assert report.error is None, (name, report.error)
        noise.extend(f"{name}: {f.code} {f.message}" for f in report.findings if f.code in VALIDITY_CODES)
    assert not crashes, "\n".join(crashes[:20])
    assert not noise, "\n".join(noise[:20])
