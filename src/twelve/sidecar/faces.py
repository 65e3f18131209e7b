"""`local-vision`'s faces: OpenCV's Haar cascade for frontal faces (it ships inside the
`opencv-python-headless` 4.x wheel; OpenCV 5 dropped the cascades).

The "alt" cascade is used: on scikit-image's sample photos, scaled 1x to 6x, it found the one
face every time and nothing else, where the "default" cascade also found faces in a cat's fur
and a space suit.

Large images are scaled down before the search, which costs time roughly in proportion to the
pixels; the boxes are scaled back to the image's own coordinates.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image

from twelve.sidecar.missing import MissingModel

PACKAGE = "opencv-python-headless<5"
_CASCADE = "haarcascade_frontalface_alt.xml"
# The longest side searched: the search costs time in proportion to the pixels, and 1024 took
# ~2.6x as long as 640 for the same faces on the sample photos; a face under ~1/25 of the image's
# longest side (24 px at 640) is missed.
_SEARCH_SIDE = 640


@dataclass(frozen=True)
class Face:
    x: int
    y: int
    width: int
    height: int


class FaceFinder:
    def __init__(self) -> None:
        try:
            import cv2
        except ModuleNotFoundError:
            raise MissingModel("local-vision", PACKAGE) from None
        haar = getattr(getattr(cv2, "data", None), "haarcascades", None)
        if not haar:
            raise MissingModel("local-vision", PACKAGE)
        self._cascade = cv2.CascadeClassifier(f"{haar}{_CASCADE}")
        if self._cascade.empty():
            raise MissingModel("local-vision", PACKAGE)
        # One thread per request: the runner decides how many run at once.
        cv2.setNumThreads(1)
        self._cv2 = cv2
        self._searching = threading.Lock()

    def faces(self, image: Image.Image) -> list[Face]:
        shrink = min(1.0, _SEARCH_SIDE / max(image.size))
        if shrink < 1.0:
            size = (max(1, round(image.width * shrink)), max(1, round(image.height * shrink)))
            image = image.resize(size, Image.Resampling.BILINEAR)
        gray = self._cv2.equalizeHist(np.asarray(image.convert("L")))
        with self._searching:  # one cascade object is not safe to share between threads
            found = self._cascade.detectMultiScale(
                gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24)
            )
        return [
            Face(*(round(int(v) / shrink) for v in box))
            for box in sorted(found, key=lambda b: (int(b[1]), int(b[0])))
        ]
