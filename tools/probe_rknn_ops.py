#!/usr/bin/env python3
"""Ask the real rknn-toolkit2 which ONNX operators each chip runs on the NPU: onnxlint.rknn.probe_ops, run from
this checkout (python tools/probe_rknn_ops.py --chips rk3588 --jobs 2; --help lists the options)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's onnxlint, not an installed one

from onnxlint.rknn.probe_ops import main

if __name__ == "__main__":
    sys.exit(main())
