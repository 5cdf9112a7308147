"""fsspec file systems from URLs, storage errors that name the fix, and atomic commits.

Every reader and writer of ``chunkflow.io`` goes through :func:`url_to_fs`
(``s3://``, ``gs://``, ``memory://``, ``file://`` and plain paths, with
``storage_options`` passed to fsspec untouched, so credentials are found the
standard way: environment, AWS config files, instance metadata) and runs its
storage calls inside :func:`storage_errors`, which turns the file systems'
own exceptions into ``FileNotFoundError``/``PermissionError``/``ConnectionError``
naming the URL, the endpoint, the credential source and the fix.

Commit protocol for a dataset directory (Parquet, Zarr, CSV parts):

1. :func:`begin_dataset` refuses an existing dataset unless ``overwrite=True``
   (then removes it) and writes ``_INCOMPLETE`` first;
2. the writer writes its data files;
3. :func:`commit_dataset` writes ``_SUCCESS`` and then removes ``_INCOMPLETE``.

A write that dies anywhere before step 3 leaves ``_INCOMPLETE`` and no
``_SUCCESS``: :func:`check_complete` makes every reader refuse such a dataset
with a message saying how to rewrite it. Datasets written by other tools carry
neither marker and are read as they are. Single files (``.npy``) are written
under a temporary name and moved into place (:func:`atomic_file`): on object
stores a move is a server-side copy, so the final key appears whole or not at
all.
"""
from __future__ import annotations

import contextlib
import uuid

import fsspec

__all__ = [
    "url_to_fs", "storage_errors", "begin_dataset", "commit_dataset", "check_complete", "atomic_file",
    "SUCCESS", "INCOMPLETE",
]

SUCCESS = "_SUCCESS"
INCOMPLETE = "_INCOMPLETE"

# protocol -> the extra (or package) that provides it
_EXTRAS = {
    "s3": "pip install 'chunkflow[s3]' (s3fs)",
    "s3a": "pip install 'chunkflow[s3]' (s3fs)",
    "gs": "pip install gcsfs",
    "gcs": "pip install gcsfs",
    "abfs": "pip install adlfs",
    "az": "pip install adlfs",
}


def url_to_fs(url, storage_options=None):
    """``(filesystem, path)`` for ``url`` with ``storage_options`` passed to fsspec.

    An unknown scheme raises ValueError listing the installed protocols; a
    known one whose package is missing names the extra to install.
    """
    if not isinstance(url, str) or not url:
        raise TypeError(f"expected a URL or path string, got {url!r}")
    if storage_options is not None and not isinstance(storage_options, dict):
        raise TypeError(f"storage_options must be a dict of fsspec options, got {type(storage_options).__name__}")
    protocol = url.split("://", 1)[0] if "://" in url else "file"
    if protocol not in fsspec.available_protocols() and protocol not in fsspec.registry:
        installed = sorted(p for p in fsspec.available_protocols() if _importable(p))
        raise ValueError(f"unsupported URL scheme {protocol!r} in {url!r}; installed protocols: "
                         f"{', '.join(installed)}")
    try:
        return fsspec.core.url_to_fs(url, **(storage_options or {}))
    except ImportError as e:
        hint = _EXTRAS.get(protocol, f"install the fsspec implementation for {protocol!r}")
        raise ImportError(f"reading {url!r} needs the {protocol!r} file system: {hint}") from e


def _importable(protocol) -> bool:
    try:
        fsspec.get_filesystem_class(protocol)
        return True
    except (ImportError, ValueError):
        return False


def _endpoint(fs) -> str:
    """The endpoint ``fs`` talks to and where its credentials came from, in words."""
    if getattr(fs, "protocol", None) and "s3" in _protocols(fs):
        kwargs = getattr(fs, "client_kwargs", None) or {}
        endpoint = getattr(fs, "endpoint_url", None) or kwargs.get("endpoint_url") or "AWS S3 (default endpoint)"
        if getattr(fs, "anon", False):
            source = "anonymous access (anon=True)"
        elif getattr(fs, "key", None):
            source = "key/secret from storage_options"
        else:
            source = ("the default AWS credential chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                      "AWS_PROFILE, ~/.aws/credentials, instance metadata)")
        return f"endpoint {endpoint} with credentials from {source}"
    return f"{'/'.join(_protocols(fs))} file system"


def _protocols(fs):
    p = getattr(fs, "protocol", ())
    return (p,) if isinstance(p, str) else tuple(p)


@contextlib.contextmanager
def storage_errors(url, fs=None):
    """Re-raise storage failures inside the block with the URL, endpoint and fix in the message."""
    try:
        yield
    except FileNotFoundError as e:
        if str(url) in str(e):
            raise
        raise FileNotFoundError(f"{url!r} does not exist ({e}); check the URL, bucket and key") from e
    except PermissionError as e:
        where = _endpoint(fs) if fs is not None else "its file system"
        raise PermissionError(f"access to {url!r} was denied by {where}: {e}. Check the credentials "
                              f"(storage_options key/secret, or the environment) and the bucket policy") from e
    except OSError as e:
        name = type(e).__name__
        text = str(e)
        if _is_connection_error(e):
            where = _endpoint(fs) if fs is not None else "its file system"
            raise ConnectionError(f"could not reach the storage for {url!r} ({where}): {text}. Check "
                                  f"storage_options['endpoint_url'] (or client_kwargs) and that the server "
                                  f"is running") from e
        if "InvalidAccessKeyId" in text or "SignatureDoesNotMatch" in text or "AccessDenied" in text \
                or "Forbidden" in text:
            where = _endpoint(fs) if fs is not None else "its file system"
            raise PermissionError(f"access to {url!r} was denied by {where} ({name}: {text}). Check the "
                                  f"credentials (storage_options key/secret, or the environment)") from e
        raise
    except Exception as e:  # botocore's credential errors are not OSErrors
        name = type(e).__name__
        if name in ("NoCredentialsError", "PartialCredentialsError", "ClientError"):
            where = _endpoint(fs) if fs is not None else "its file system"
            raise PermissionError(f"access to {url!r} failed with {where} ({name}: {e}). Pass "
                                  f"storage_options={{'key': ..., 'secret': ...}}, set AWS_ACCESS_KEY_ID/"
                                  f"AWS_SECRET_ACCESS_KEY, or anon=True for public buckets") from e
        if name in ("EndpointConnectionError", "ConnectTimeoutError", "ClientConnectorError"):
            where = _endpoint(fs) if fs is not None else "its file system"
            raise ConnectionError(f"could not reach the storage for {url!r} ({where}): {e}. Check "
                                  f"storage_options['endpoint_url'] and that the server is running") from e
        raise


def _is_connection_error(e) -> bool:
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, ConnectionError) or type(e).__name__ in (
                "EndpointConnectionError", "ConnectTimeoutError", "ClientConnectorError", "ClientOSError"):
            return True
        e = e.__cause__ or e.__context__
    return False


def _join(path, name):
    return f"{path.rstrip('/')}/{name}"


def check_complete(fs, path, url=None):
    """Raise if ``path`` is a dataset whose chunkflow write did not finish."""
    url = url or path
    if fs.exists(_join(path, INCOMPLETE)) and not fs.exists(_join(path, SUCCESS)):
        raise ValueError(f"{url!r} is an incomplete dataset: the write that made it did not finish "
                         f"(it has {INCOMPLETE} and no {SUCCESS}). Write it again with overwrite=True")


def begin_dataset(fs, path, overwrite=False, url=None):
    """Prepare ``path`` for a new dataset: refuse or remove what is there, then mark it incomplete."""
    url = url or path
    if fs.exists(path):
        if not overwrite:
            raise FileExistsError(f"{url!r} already exists; pass overwrite=True to replace it")
        fs.rm(path, recursive=True)
    fs.makedirs(path, exist_ok=True)
    fs.pipe_file(_join(path, INCOMPLETE), b"")


def commit_dataset(fs, path):
    """Mark the dataset at ``path`` complete: ``_SUCCESS`` first, then drop ``_INCOMPLETE``."""
    fs.pipe_file(_join(path, SUCCESS), b"")
    with contextlib.suppress(FileNotFoundError):
        fs.rm_file(_join(path, INCOMPLETE))
    fs.invalidate_cache(path)


@contextlib.contextmanager
def atomic_file(fs, path, overwrite=False, url=None):
    """Yield a temporary path to write; on success move it to ``path``, on failure remove it."""
    url = url or path
    if fs.exists(path) and not overwrite:
        raise FileExistsError(f"{url!r} already exists; pass overwrite=True to replace it")
    parent = path.rstrip("/").rsplit("/", 1)[0] if "/" in path.rstrip("/") else ""
    if parent:
        fs.makedirs(parent, exist_ok=True)
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    try:
        yield tmp
        fs.mv(tmp, path)
    except BaseException:
        with contextlib.suppress(Exception):
            if fs.exists(tmp):
                fs.rm(tmp, recursive=True)
        raise
    finally:
        fs.invalidate_cache(path)
