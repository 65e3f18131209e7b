"""The bad-input corpus of the image, audio and task routes: valid bodies to mutate, and media
that must be refused with a clear 4xx (unsupported format, corrupt image or audio, empty text,
oversized payload), as data for `tests/app/test_bad_input_media.py`."""

from __future__ import annotations

import base64
from typing import Any

from tests.app.corpus.requests import form_part
from tests.fakes.upstream_openai_media import png, wav

PICTURE = base64.b64encode(png()).decode()

# The models these bodies name, all on the fake upstream (its OpenAI wire format and the
# sidecar contract's routes).
CONFIG = """models:
  - name: tasks
    capabilities: [classification, summarization]
    deployments: [{provider: openai-compatible, base_url: '%(url)s', model: tasks, free: true}]
  - name: vision
    capabilities: [image_analysis, ocr]
    deployments: [{provider: openai-compatible, base_url: '%(url)s', model: vision, free: true}]
  - name: dall-e
    capabilities: [image_generation]
    deployments: [{provider: openai, base_url: '%(url)s', model: dall-e, free: true}]
  - name: voice
    capabilities: [speech, transcription]
    deployments: [{provider: openai, base_url: '%(url)s', model: voice, free: true}]
"""

VALID: dict[str, dict[str, Any]] = {
    "/v1/classifications": {"model": "tasks", "input": "hi", "labels": ["a", "b"]},
    "/v1/summaries": {"model": "tasks", "input": "One. Two.", "sentences": 1},
    "/v1/images/analyses": {"model": "vision", "image": PICTURE, "top_k": 3},
    "/v1/ocr": {"model": "vision", "file": PICTURE, "pages": [1]},
    "/v1/images/generations": {"model": "dall-e", "prompt": "a square", "n": 1},
    "/v1/audio/speech": {"model": "voice", "input": "hi", "voice": "alloy", "speed": 1.0},
}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# (route, body, the status it must get): each a kind of bad media.
BAD_MEDIA: dict[str, tuple[str, dict[str, Any], int]] = {
    "image_text": ("/v1/images/analyses", {"model": "vision", "image": _b64(b"hello")}, 415),
    "image_pdf": ("/v1/images/analyses", {"model": "vision", "image": _b64(b"%PDF-1.4")}, 415),
    "image_corrupt_png": ("/v1/images/analyses",
                          {"model": "vision", "image": _b64(png()[:20])}, 400),
    "image_corrupt_jpeg": ("/v1/ocr", {"model": "vision", "file": _b64(b"\xff\xd8\xff\x00")}, 400),
    "image_empty": ("/v1/ocr", {"model": "vision", "file": ""}, 400),
    "image_not_base64": ("/v1/ocr", {"model": "vision", "file": "***"}, 400),
    "image_bomb": ("/v1/images/analyses",
                   {"model": "vision", "image": _b64(png(30_000, 30_000))}, 413),
    "image_two_sources": ("/v1/ocr", {"model": "vision", "file": PICTURE, "file_id": "file-x"},
                          400),
    "image_no_source": ("/v1/images/analyses", {"model": "vision"}, 400),
    "image_unknown_file": ("/v1/ocr", {"model": "vision", "file_id": "file-nope"}, 404),
    "image_data_url_not_base64": ("/v1/ocr", {"model": "vision", "file": "data:image/png,x"},
                                  400),
    "url_metadata": ("/v1/ocr", {"model": "vision", "url": "http://169.254.169.254/"}, 400),
    "url_scheme": ("/v1/ocr", {"model": "vision", "url": "gopher://example.com/"}, 400),
    "speech_empty": ("/v1/audio/speech", {"model": "voice", "input": "", "voice": "alloy"}, 400),
    "speech_too_long": ("/v1/audio/speech",
                        {"model": "voice", "input": "x" * 4097, "voice": "alloy"}, 400),
    "speech_speed": ("/v1/audio/speech",
                     {"model": "voice", "input": "hi", "voice": "alloy", "speed": 9}, 400),
    "prompt_empty": ("/v1/images/generations", {"model": "dall-e", "prompt": ""}, 400),
    "too_many_images": ("/v1/images/generations",
                        {"model": "dall-e", "prompt": "x", "n": 1000}, 400),
    "classify_one_label": ("/v1/classifications",
                           {"model": "tasks", "input": "hi", "labels": ["a"]}, 400),
    "summary_empty": ("/v1/summaries", {"model": "tasks", "input": ""}, 400),
    "wrong_capability": ("/v1/summaries", {"model": "vision", "input": "hi"}, 400),
}  # fmt: skip

# Transcription uploads (multipart, boundary `b0`) that must be refused, with their status.
UPLOAD_CONTENT_TYPE = "multipart/form-data; boundary=b0"


_MODEL = form_part("model", b"voice")
_END = b"--b0--\r\n"
_WAV = form_part("file", wav(0.1), b"a.wav")
_BIG = wav(0.1)[:44] + b"\0" * 3_000_000
BAD_UPLOADS: dict[str, tuple[bytes, int]] = {
    "no_file": (_MODEL + _END, 400),
    "no_model": (form_part("file", wav(0.1), b"a.wav") + _END, 400),
    "text_file": (_MODEL + form_part("file", b"just text", b"a.txt") + _END, 415),
    "empty_file": (_MODEL + form_part("file", b"", b"a.wav") + _END, 400),
    "corrupt_wav": (_MODEL + form_part("file", b"RIFF\0\0\0\0WAVEjunk", b"a.wav") + _END, 400),
    "file_as_field": (_MODEL + form_part("file", b"RIFF") + _END, 400),
    "two_files": (_MODEL + form_part("file", wav(0.1), b"a.wav") * 2 + _END, 400),
    "bad_format": (_MODEL + form_part("response_format", b"mp5")
                   + form_part("file", wav(0.1), b"a.wav") + _END, 400),
    "bad_temperature": (_MODEL + form_part("temperature", b"hot")
                        + form_part("file", wav(0.1), b"a.wav") + _END, 400),
    "unknown_field": (_MODEL + form_part("colour", b"red") + _WAV + _END, 400),
    "unterminated": (_MODEL + b'--b0\r\nContent-Disposition: form-data; name="file"', 400),
    "oversized": (_MODEL + form_part("file", _BIG, b"a.wav") + _END, 413),
}  # fmt: skip
