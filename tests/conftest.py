"""Shared test settings: hypothesis profiles (see tests/helpers.py for the NumPy checker).

The default profile keeps ``pytest tests/core`` fast (20 examples a test);
``HYPOTHESIS_PROFILE=thorough`` runs over ten times as many, for nightly runs or
after changing the core.
"""
import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("chunkflow", max_examples=20, **_COMMON)
settings.register_profile("thorough", max_examples=250, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "chunkflow"))


# --- a real S3-compatible server on loopback (moto's server mode, as s3fs and pyarrow test) ---
import socket
import uuid

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """``http://127.0.0.1:PORT`` of a moto S3 server running for the whole test session."""
    pytest.importorskip("s3fs", reason="the s3 extra is part of the dev install")
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(s3_endpoint):
    """``(bucket_url, storage_options)`` for a fresh, empty bucket on the loopback S3 server."""
    import s3fs

    options = {"endpoint_url": s3_endpoint, "key": "testing", "secret": "testing"}
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    fs = s3fs.S3FileSystem(**options)
    fs.mkdir(bucket)
    s3fs.S3FileSystem.clear_instance_cache()
    yield f"s3://{bucket}", options
