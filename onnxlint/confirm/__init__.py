"""Numeric confirmation (`--confirm`): run the model, and where installed the NPU toolkit, to prove or refute
findings. Rules declare their confirmers from here, so static linting imports them, but onnxruntime and the toolkit
are loaded only when a confirmer runs."""
