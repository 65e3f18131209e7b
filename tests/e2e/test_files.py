"""The OpenAI Files API through a running Twelve, with the official SDK and raw HTTP: upload,
list, retrieve, download and delete, each answer checked against OpenAI's spec; per customer; a
body past the process limit but under the file limit passes, one past the file limit is a 413 that
leaves nothing on disk; bad input is a 4xx in OpenAI's shape."""

from __future__ import annotations

import io
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import NotFoundError, OpenAI

from tests.e2e.server import TwelveServer
from tests.e2e.stack import MAX_BODY_BYTES, MAX_FILE_BYTES
from tests.e2e.wire import assert_openai_error
from tests.support.openai_spec import validate


@pytest.fixture(scope="module")
def other_client(server: TwelveServer, admin: httpx.Client) -> Iterator[OpenAI]:
    """The SDK with a key of another customer."""
    created = admin.post("/customers", json={"name": "e2e-files-other"}).json()
    key = admin.post("/keys", json={"customer_id": created["id"], "name": "other"}).json()["key"]
    with OpenAI(api_key=key, base_url=f"{server.base_url}/v1", max_retries=0) as sdk:
        yield sdk


def blob_root(server: TwelveServer) -> Path:
    return Path(server.env["TWELVE_DATA_DIR"]) / "blobs"


def stored_blobs(server: TwelveServer) -> set[str]:
    return {p.name for p in blob_root(server).glob("??/*")}


def test_the_sdk_round_trip(client: OpenAI, server: TwelveServer) -> None:
    content = b'{"custom_id": "1", "method": "POST"}\n' * 100
    raw = client.files.with_raw_response.create(
        file=("requests.jsonl", io.BytesIO(content)), purpose="batch"
    )
    validate(raw.http_response.json(), "OpenAIFile")
    created = raw.parse()
    assert (created.filename, created.purpose, created.bytes) == (
        "requests.jsonl",
        "batch",
        len(content),
    )
    assert created.id.startswith("file-")

    retrieved = client.files.with_raw_response.retrieve(created.id)
    validate(retrieved.http_response.json(), "OpenAIFile")
    assert retrieved.parse().id == created.id

    listed = client.files.with_raw_response.list(purpose="batch")
    validate(listed.http_response.json(), "ListFilesResponse")
    assert created.id in [f.id for f in listed.parse()]

    assert client.files.content(created.id).content == content

    deleted = client.files.with_raw_response.delete(created.id)
    validate(deleted.http_response.json(), "DeleteFileResponse")
    assert deleted.parse().deleted is True
    with pytest.raises(NotFoundError):
        client.files.retrieve(created.id)


def test_a_file_larger_than_the_body_limit_streams_both_ways(
    client: OpenAI, server: TwelveServer
) -> None:
    content = os.urandom(MAX_FILE_BYTES - 1024)
    assert len(content) > MAX_BODY_BYTES
    created = client.files.create(file=("big.bin", content), purpose="user_data")
    assert created.bytes == len(content)
    with client.files.with_streaming_response.content(created.id) as response:
        assert response.headers["content-length"] == str(len(content))
        assert b"".join(response.iter_bytes()) == content
    client.files.delete(created.id)


def test_pages_and_order(client: OpenAI) -> None:
    ids = [
        client.files.create(file=(f"{i}.txt", b"p%d" % i), purpose="vision").id for i in range(3)
    ]
    first = client.files.list(purpose="vision", limit=2, order="asc")
    page_ids = [f.id for f in first.data]
    assert page_ids == ids[:2] and first.has_more
    everything = [f.id for f in client.files.list(purpose="vision", limit=2, order="asc")]
    assert everything[-3:] == ids  # the SDK followed `after`
    for file_id in ids:
        client.files.delete(file_id)


def test_another_customers_file_is_404(client: OpenAI, other_client: OpenAI) -> None:
    mine = client.files.create(file=("mine.txt", b"private"), purpose="user_data")
    with pytest.raises(NotFoundError) as raised:
        other_client.files.retrieve(mine.id)
    assert raised.value.status_code == 404
    for call in (other_client.files.content, other_client.files.delete):
        with pytest.raises(NotFoundError):
            call(mine.id)
    assert mine.id not in [f.id for f in other_client.files.list()]
    assert client.files.content(mine.id).content == b"private"
    client.files.delete(mine.id)


def test_identical_content_is_one_blob_until_the_last_delete(
    client: OpenAI, other_client: OpenAI, server: TwelveServer
) -> None:
    content = os.urandom(4096)
    a = client.files.create(file=("a.bin", content), purpose="user_data")
    b = other_client.files.create(file=("b.bin", content), purpose="user_data")
    before = stored_blobs(server)
    client.files.delete(a.id)
    assert stored_blobs(server) == before
    other_client.files.delete(b.id)
    assert len(stored_blobs(server)) == len(before) - 1


def test_too_large_is_413_and_leaves_nothing(api: httpx.Client, server: TwelveServer) -> None:
    before = stored_blobs(server)
    for size in (MAX_FILE_BYTES + 1, MAX_FILE_BYTES + 256 * 1024):
        files = {"file": ("huge.bin", b"x" * size)}
        response = api.post("/v1/files", files=files, data={"purpose": "batch"})
        assert_openai_error(response, 413, "invalid_request_error")
    assert stored_blobs(server) == before
    assert list((blob_root(server) / "uploads").iterdir()) == []


PURPOSE = {"purpose": (None, "batch")}  # a form field, sent as multipart
RAW = "multipart/form-data; boundary=b0"
CONTROL_NAME = (
    b'--b0\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
    b'--b0\r\nContent-Disposition: form-data; name="file"; filename="a\x1bb"\r\n\r\nx\r\n'
    b"--b0--\r\n"
)
BAD_UPLOADS: list[tuple[str, dict[str, Any], str | None]] = [
    ("no file", {"files": PURPOSE}, "file"),
    ("bad purpose", {"files": {"purpose": (None, "nope"), "file": ("a", b"x")}}, "purpose"),
    ("no purpose", {"files": {"file": ("a", b"x")}}, "purpose"),
    ("file as text", {"files": PURPOSE | {"file": (None, "text")}}, "file"),
    ("urlencoded", {"data": {"purpose": "batch", "file": "x"}}, None),
    ("json body", {"json": {"purpose": "batch"}}, None),
    (
        "two files",
        {"files": [("purpose", (None, "batch")), ("file", ("a", b"x")), ("file", ("b", b"y"))]},
        None,
    ),
    ("control chars", {"content": CONTROL_NAME, "headers": {"content-type": RAW}}, "file"),
    ("broken multipart", {"content": b"--b0\r\nnonsense", "headers": {"content-type": RAW}}, None),
]


@pytest.mark.parametrize(("case", "kwargs", "param"), BAD_UPLOADS, ids=[c[0] for c in BAD_UPLOADS])
def test_bad_uploads_are_400(
    api: httpx.Client, case: str, kwargs: dict[str, Any], param: str | None
) -> None:
    response = api.post("/v1/files", **kwargs)
    error = assert_openai_error(response, 400, "invalid_request_error")
    if param is not None:
        assert error["param"] == param, (case, error)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/files/file-missing",
        "/v1/files/" + "x" * 300,
        "/v1/files/%00",
        "/v1/files/a%0Ab/content",
    ],
)
def test_bad_ids_are_404(api: httpx.Client, path: str) -> None:
    assert_openai_error(api.get(path), 404, "invalid_request_error")
    assert_openai_error(api.delete(path.removesuffix("/content")), 404, "invalid_request_error")


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=10001", "limit=x", "order=up", "after=" + "x" * 100]
)
def test_bad_list_parameters_are_400(api: httpx.Client, query: str) -> None:
    assert_openai_error(api.get(f"/v1/files?{query}"), 400, "invalid_request_error")


def test_files_need_a_key(server: TwelveServer) -> None:
    with httpx.Client(base_url=server.base_url) as anonymous:
        assert_openai_error(anonymous.get("/v1/files"), 401, "authentication_error")
        response = anonymous.post(
            "/v1/files", files={"file": ("a", b"x")}, data={"purpose": "batch"}
        )
        assert_openai_error(response, 401, "authentication_error")


def test_the_purpose_may_follow_the_file(api: httpx.Client) -> None:
    content = os.urandom(1024 * 1024 + 3)  # more than one storage chunk
    body = (
        b'--b0\r\nContent-Disposition: form-data; name="file"; filename="late.bin"\r\n'
        b"Content-Type: application/x-thing\r\n\r\n" + content + b"\r\n"
        b'--b0\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nvision\r\n--b0--\r\n'
    )
    response = api.post("/v1/files", content=body, headers={"content-type": RAW})
    assert response.status_code == 200, response.text
    created = response.json()
    assert (created["purpose"], created["bytes"], created["filename"]) == (
        "vision",
        len(content),
        "late.bin",
    )
    download = api.get(f"/v1/files/{created['id']}/content")
    assert download.content == content
    assert download.headers["content-type"] == "application/x-thing"
    api.delete(f"/v1/files/{created['id']}")


def test_a_bad_purpose_after_the_file_leaves_nothing(
    api: httpx.Client, server: TwelveServer
) -> None:
    before = stored_blobs(server)
    body = (
        b'--b0\r\nContent-Disposition: form-data; name="file"; filename="x.bin"\r\n\r\n'
        + os.urandom(2 * 1024 * 1024)
        + b'\r\n--b0\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nnope\r\n--b0--\r\n'
    )
    response = api.post("/v1/files", content=body, headers={"content-type": RAW})
    assert_openai_error(response, 400, "invalid_request_error", param="purpose")
    assert stored_blobs(server) == before
    assert list((blob_root(server) / "uploads").iterdir()) == []


def test_a_client_that_hangs_up_mid_upload_leaves_nothing(
    api: httpx.Client, server: TwelveServer
) -> None:
    head = (
        b'--b0\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        b'--b0\r\nContent-Disposition: form-data; name="file"; filename="cut.bin"\r\n\r\n'
    )
    sent = head + b"x" * (1536 * 1024)  # past one storage chunk, short of the declared length
    key = api.headers["Authorization"]
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"POST /v1/files HTTP/1.1\r\nHost: t\r\nAuthorization: " + key.encode() + b"\r\n"
            b"Content-Type: " + RAW.encode() + b"\r\n"
            b"Content-Length: " + str(len(sent) + 4096).encode() + b"\r\n\r\n" + sent
        )
        time.sleep(0.5)
    server.wait_for_log(path="/v1/files", status=499)
    uploads = blob_root(server) / "uploads"
    for _ in range(50):
        if not list(uploads.iterdir()):
            break
        time.sleep(0.1)
    assert list(uploads.iterdir()) == []
