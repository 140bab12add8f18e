"""The wheel's layout; pyproject.toml holds everything else.

Packages are discovered, never listed by hand, so a new subpackage cannot be left out of the wheel (onnxlint.confirm
once was). The top-level rules/ folder is the knowledge base a reviewer reads; it ships inside the wheel as the
onnxlint.rules package, every page and table in it. tests/test_wheel.py checks the built wheel against the tree.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["onnxlint", "onnxlint.*"]), "onnxlint.rules"],
    package_dir={"onnxlint.rules": "rules"},
    package_data={"onnxlint": ["schemas/*.json"], "onnxlint.rules": ["**/*.md", "**/*.json"]},
)
