"""`twelve serve` with its blobs in S3 (moto's S3 server on 127.0.0.1): the SDK's upload,
download and delete, and the object that appears and goes in the bucket."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from openai import OpenAI

from tests.e2e.server import TwelveServer, free_port
from tests.e2e.stack import server_env

BUCKET = "twelve-e2e"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=url, region_name="us-east-1", **CREDENTIALS).create_bucket(
        Bucket=BUCKET
    )
    yield url
    server.stop()


@pytest.fixture(scope="module")
def s3_server(
    s3_url: str, twelve_config: Path, admin_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwelveServer]:
    root = tmp_path_factory.mktemp("twelve-s3")
    env = server_env(twelve_config, root / "data") | {
        "TWELVE_ADMIN_KEY": admin_key,
        "TWELVE_STORAGE_BACKEND": "s3",
        "TWELVE_STORAGE_S3_BUCKET": BUCKET,
        "TWELVE_STORAGE_S3_PREFIX": "blobs/",
        "TWELVE_STORAGE_S3_ENDPOINT_URL": s3_url,
        "TWELVE_STORAGE_S3_REGION": "us-east-1",
        "TWELVE_STORAGE_S3_ACCESS_KEY_ID": "testing",
        "TWELVE_STORAGE_S3_SECRET_ACCESS_KEY": "testing",
    }
    server = TwelveServer(env, root / "stderr.log")
    server.start()
    yield server
    server.stop()


def test_files_live_in_the_bucket(s3_server: TwelveServer, s3_url: str, admin_key: str) -> None:
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=f"{s3_server.base_url}/admin/v1", headers=admin) as office:
        customer = office.post("/customers", json={"name": "s3"}).json()
        key = office.post("/keys", json={"customer_id": customer["id"]}).json()["key"]
    bucket = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1", **CREDENTIALS)
    content = os.urandom(300_000)
    with OpenAI(api_key=key, base_url=f"{s3_server.base_url}/v1", max_retries=0) as sdk:
        created = sdk.files.create(file=("data.bin", content), purpose="user_data")
        listed = bucket.list_objects_v2(Bucket=BUCKET, Prefix="blobs/")
        assert [o["Size"] for o in listed["Contents"]] == [len(content)]
        assert sdk.files.content(created.id).content == content
        sdk.files.delete(created.id)
    assert bucket.list_objects_v2(Bucket=BUCKET, Prefix="blobs/").get("Contents", []) == []
    assert not list((Path(s3_server.env["TWELVE_DATA_DIR"]) / "blobs").glob("??/*"))
