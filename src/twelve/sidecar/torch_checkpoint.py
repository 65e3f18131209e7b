"""Reads a PyTorch state dict (a `.pth` file) into numpy arrays without torch.

torch is a multi-gigabyte dependency that nothing else at run time needs, so the EfficientNet-Lite0
weights are read here instead. They are in torch's legacy format (before 1.6): a sequence of
pickles (a magic number, the protocol, system info, the state dict with storages as persistent
ids, the storages' keys), then each storage's raw bytes; a tensor is a strided view of one. The
unpickler is restricted to the few globals a state dict names: any other global is refused, so a
hostile checkpoint cannot run code.
"""

from __future__ import annotations

import pickle
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class CheckpointError(Exception):
    """The file is not a state dict this reader understands."""


class _Storage:
    def __init__(self, dtype: type[Any], numel: int) -> None:
        self.dtype = np.dtype(dtype)
        self.numel = numel
        self.data: np.ndarray[Any, Any] | None = None


class _Tensor:
    """A tensor's view of a storage, resolved once every storage's bytes are read."""

    def __init__(
        self, storage: _Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...]
    ) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def array(self) -> np.ndarray[Any, Any]:
        data = self.storage.data
        if data is None:
            raise CheckpointError("a tensor's storage was never read")
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride, strict=True))
        if min(self.size, default=1) > 0 and (self.offset < 0 or last >= data.size):
            raise CheckpointError("a tensor reaches past its storage")
        item = data.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :], self.size, tuple(s * item for s in self.stride), writeable=False
        )
        return np.ascontiguousarray(view)


def _rebuild_tensor(storage: _Storage, offset: int, size: Any, stride: Any, *_: Any) -> _Tensor:
    return _Tensor(storage, int(offset), tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], storage: Callable[[tuple[Any, ...]], _Storage]) -> None:
        super().__init__(file)
        self._storage = storage

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch" and name in _DTYPES:
            return name
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        raise CheckpointError(
            f"the checkpoint names {module}.{name}, which a state dict never does"
        )

    def persistent_load(self, pid: Any) -> _Storage:
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise CheckpointError("an unknown persistent id")
        return self._storage(pid)


def read_state_dict(path: Path) -> dict[str, np.ndarray[Any, Any]]:
    """The state dict's tensors by name, as contiguous numpy arrays."""
    with path.open("rb") as file:
        if zipfile.is_zipfile(file):
            raise CheckpointError(
                "a zip-format checkpoint (torch >= 1.6); only legacy ones are read"
            )
        file.seek(0)
        try:
            tensors = _read_legacy(file)
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError) as exc:
            raise CheckpointError(f"an unreadable checkpoint: {exc}") from None
    return {name: t.array() for name, t in tensors.items() if isinstance(t, _Tensor)}


def _read_legacy(file: IO[bytes]) -> dict[str, Any]:
    storages: dict[str, _Storage] = {}

    def storage(pid: tuple[Any, ...]) -> _Storage:
        _kind, dtype_name, key, _location, numel = pid[:5]
        if dtype_name not in _DTYPES:
            raise CheckpointError(f"an unknown storage type {dtype_name!r}")
        return storages.setdefault(str(key), _Storage(_DTYPES[dtype_name], int(numel)))

    if _plain(file) != _LEGACY_MAGIC:
        raise CheckpointError("not a PyTorch checkpoint")
    _protocol, _sys_info = _plain(file), _plain(file)
    state = _Unpickler(file, storage).load()
    if not isinstance(state, dict):
        raise CheckpointError("the checkpoint holds no state dict")
    for key in _plain(file):
        header = file.read(8)
        target = storages.get(str(key))
        if len(header) != 8 or target is None:
            raise CheckpointError("a storage is missing or truncated")
        numel = struct.unpack("<q", header)[0]
        raw = file.read(numel * target.dtype.itemsize)
        if numel != target.numel or len(raw) != numel * target.dtype.itemsize:
            raise CheckpointError("a storage is truncated")
        target.data = np.frombuffer(raw, dtype=target.dtype)
    return dict(state)


def _plain(file: IO[bytes]) -> Any:
    """One of the legacy format's other pickles: plain data, no storages."""
    return _Unpickler(file, lambda _pid: _refuse()).load()


def _refuse() -> _Storage:
    raise CheckpointError("a storage where none belongs")
