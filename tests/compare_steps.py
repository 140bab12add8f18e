"""compare's two steps as test_compare.py runs them in sandbox children. This module imports neither onnx nor
onnxruntime (a test module does), so what a step's child has loaded when it returns, the step loaded."""

from __future__ import annotations

import sys

from onnxlint.confirm.compare import plan_comparison, run_comparison

LIBRARIES = ("onnx", "onnxruntime")


def plan_step(a: str, b: str, folder: str) -> list[str]:
    plan_comparison(a, b, folder)
    return [name for name in LIBRARIES if name in sys.modules]


def run_step(folder: str) -> tuple[dict, list[str]]:
    document = run_comparison(folder).to_dict()
    return document, [name for name in LIBRARIES if name in sys.modules]
