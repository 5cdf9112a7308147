"""chunkflow/io/fs.py: URLs to file systems, storage errors, the commit protocol."""
import pytest

from chunkflow.io import fs as cfs


def test_unknown_scheme_lists_protocols():
    with pytest.raises(ValueError, match=r"unsupported URL scheme 'nosuch'.*installed protocols:.*s3"):
        cfs.url_to_fs("nosuch://bucket/x")


def test_s3_round_trip_through_loopback_server(s3):
    bucket, options = s3
    fs, path = cfs.url_to_fs(f"{bucket}/a/b.bin", options)
    fs.pipe_file(path, b"hello")
    assert fs.cat_file(path) == b"hello"
    assert options["endpoint_url"].startswith("http://127.0.0.1:")


def test_missing_key_names_url(s3):
    bucket, options = s3
    fs, path = cfs.url_to_fs(f"{bucket}/missing.bin", options)
    with pytest.raises(FileNotFoundError, match="missing.bin"):
        with cfs.storage_errors(f"{bucket}/missing.bin", fs):
            fs.cat_file(path)


def test_bad_credentials_name_endpoint_and_source(s3_endpoint, s3):
    bucket, _ = s3
    # moto accepts any key unless IAM auth is on; a wrong endpoint port is the failure we can provoke
    options = {"endpoint_url": "http://127.0.0.1:9", "key": "k", "secret": "s",
               "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1}}
    fs, path = cfs.url_to_fs(f"{bucket}/x", options)
    with pytest.raises(ConnectionError, match=r"127\.0\.0\.1:9.*key/secret from storage_options"):
        with cfs.storage_errors(f"{bucket}/x", fs):
            fs.cat_file(path)


def test_commit_protocol(tmp_path):
    fs, path = cfs.url_to_fs(str(tmp_path / "ds"))
    cfs.begin_dataset(fs, path)
    fs.pipe_file(path + "/part.0", b"x")
    with pytest.raises(ValueError, match="incomplete dataset.*overwrite=True"):
        cfs.check_complete(fs, path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        cfs.begin_dataset(fs, path)
    cfs.begin_dataset(fs, path, overwrite=True)
    assert fs.ls(path, detail=False) == [path + "/" + cfs.INCOMPLETE]
    cfs.commit_dataset(fs, path)
    cfs.check_complete(fs, path)
    assert sorted(p.rsplit("/", 1)[1] for p in fs.ls(path, detail=False)) == [cfs.SUCCESS]


def test_atomic_file_leaves_nothing_on_failure(tmp_path):
    fs, path = cfs.url_to_fs(str(tmp_path / "a.npy"))
    with pytest.raises(RuntimeError):
        with cfs.atomic_file(fs, path) as tmp:
            fs.pipe_file(tmp, b"half")
            raise RuntimeError("writer died")
    assert list(tmp_path.iterdir()) == []
    with cfs.atomic_file(fs, path) as tmp:
        fs.pipe_file(tmp, b"whole")
    assert fs.cat_file(path) == b"whole"
    assert [p.name for p in tmp_path.iterdir()] == ["a.npy"]
