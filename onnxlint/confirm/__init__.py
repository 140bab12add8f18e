"""Numeric confirmation (`--confirm`): run the model, and where installed the NPU toolkit, to prove or refute
findings. Imported only when asked for: static linting never loads onnxruntime."""
