"""The cluster's processes as data: each service's command line, a local process cluster, the compose file.

One place holds the command lines of the Dask scheduler, the CPU and GPU
workers and the pipeline client (:func:`scheduler_command`,
:func:`worker_command`, :func:`gpu_worker_command`, :func:`client_command`).
Two things are made from them, so they cannot drift apart:

* ``docker-compose.yml`` is generated: ``python -m chunkflow.cluster compose >
  docker-compose.yml`` (tests/cluster checks the committed file equals the
  output). Edit :func:`compose_spec`, never the YAML.
* :class:`LocalProcessCluster` runs the same commands as separate OS
  processes on 127.0.0.1 (free ports), waits until the workers have
  registered, and stops them all on exit (SIGTERM, then SIGKILL of each
  process group: no orphans). The tests start it with a loopback S3 server
  where compose starts MinIO.

Ports are bound to 127.0.0.1 on the host: a Dask scheduler runs whatever
pickled function a client sends it, so 8786/8787 must not face a public
network (use TLS, ``tls=``, across machines).
"""
from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

__all__ = [
    "scheduler_command", "worker_command", "gpu_worker_command", "client_command", "health_command",
    "compose_spec", "compose_yaml", "LocalProcessCluster", "SCHEDULER_PORT", "DASHBOARD_PORT",
]

SCHEDULER_PORT = 8786
DASHBOARD_PORT = 8787
WORKER_DASHBOARD_PORT = 8788  # inside a worker container only; never published


def _tls_args(tls) -> list:
    """``--tls-*`` options for ``tls=(ca_file, cert_file, key_file)`` (None: plain TCP)."""
    if tls is None:
        return []
    if not (isinstance(tls, (tuple, list)) and len(tls) == 3 and all(isinstance(p, str) and p for p in tls)):
        raise ValueError(f"tls must be (ca_file, cert_file, key_file) paths, got {tls!r}")
    ca, cert, key = tls
    return ["--tls-ca-file", ca, "--tls-cert", cert, "--tls-key", key]


def _count(name, value) -> str:
    """``value`` as a command-line word: an int >= 1, or a string (a ``${VAR:-default}`` for compose)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or (isinstance(value, int) and value < 1):
        raise ValueError(f"{name} must be an int >= 1 or a string, got {value!r}")
    return str(value)


def scheduler_command(host="0.0.0.0", port=SCHEDULER_PORT, dashboard_address=f":{DASHBOARD_PORT}",
                      tls=None) -> list:
    """The scheduler's argv: ``dask scheduler --host ... --port ... --dashboard-address ...``.

    >>> scheduler_command("127.0.0.1", 9000, "127.0.0.1:9001")
    ['dask', 'scheduler', '--host', '127.0.0.1', '--port', '9000', '--dashboard-address', '127.0.0.1:9001']
    """
    argv = ["dask", "scheduler", "--host", host, "--port", str(port), "--dashboard-address", dashboard_address]
    return argv + (["--protocol", "tls"] + _tls_args(tls) if tls else [])


def worker_command(scheduler, nthreads=1, memory_limit="auto", resources=None, host=None,
                   dashboard_address=None, local_directory=None, tls=None) -> list:
    """A worker's argv: ``dask worker SCHEDULER --nthreads N --memory-limit M [--resources ...]``.

    ``resources`` is a dict such as ``{"GPU": 1}``: tasks annotated with a
    resource run only on workers that have it. The worker runs under a nanny
    (Dask's default), which restarts it if it dies.

    >>> worker_command("tcp://scheduler:8786", 2, "4GiB")
    ['dask', 'worker', 'tcp://scheduler:8786', '--nthreads', '2', '--memory-limit', '4GiB']
    """
    if not isinstance(scheduler, str) or "://" not in scheduler:
        raise ValueError(f"scheduler must be an address like 'tcp://host:8786', got {scheduler!r}")
    argv = ["dask", "worker", scheduler, "--nthreads", _count("nthreads", nthreads),
            "--memory-limit", str(memory_limit)]
    if resources:
        if not isinstance(resources, dict):
            raise ValueError(f"resources must be a dict like {{'GPU': 1}}, got {resources!r}")
        argv += ["--resources", " ".join(f"{k}={v}" for k, v in resources.items())]
    if host is not None:
        argv += ["--host", host]
    if dashboard_address is not None:
        argv += ["--dashboard-address", dashboard_address]
    if local_directory is not None:
        argv += ["--local-directory", local_directory]
    return argv + _tls_args(tls)


def gpu_worker_command(scheduler, nthreads=1, memory_limit="auto", host=None, dashboard_address=None,
                       tls=None, local_directory=None) -> list:
    """A GPU worker's argv: a worker with the resource ``GPU=1`` (GPU tasks are annotated with it)."""
    return worker_command(scheduler, nthreads, memory_limit, resources={"GPU": 1}, host=host,
                          dashboard_address=dashboard_address, tls=tls, local_directory=local_directory)


def client_command(pipeline, scheduler) -> list:
    """The client's argv: ``chunkflow run PIPELINE --scheduler SCHEDULER``."""
    return ["chunkflow", "run", pipeline, "--scheduler", scheduler]


_HEALTH_PY = "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)"


def health_command(url) -> list:
    """A health check's argv: exits 0 when ``url`` (a Dask ``/health`` endpoint) answers 200."""
    return ["python", "-c", _HEALTH_PY, url]


# ------------------------------------------------------------------ docker compose
_S3_ENV = {
    # the workers, the scheduler and the client all read and write the same bucket
    "AWS_ACCESS_KEY_ID": "${MINIO_ROOT_USER:?set MINIO_ROOT_USER in .env (cp .env.example .env)}",
    "AWS_SECRET_ACCESS_KEY": "${MINIO_ROOT_PASSWORD:?set MINIO_ROOT_PASSWORD in .env}",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ENDPOINT_URL_S3": "http://minio:9000",  # botocore >= 1.31
    "FSSPEC_S3_ENDPOINT_URL": "http://minio:9000",  # fsspec's default for s3:// URLs
    "CHUNKFLOW_BUCKET": "${CHUNKFLOW_BUCKET:-chunkflow}",
    "CHUNKFLOW_MEMORY_BUDGET": "${CHUNKFLOW_MEMORY_BUDGET:-2GiB}",
}
_SCHEDULER = f"tcp://scheduler:{SCHEDULER_PORT}"


def _health(url, interval="5s", retries=12, start="10s") -> dict:
    return {"test": ["CMD"] + health_command(url), "interval": interval, "timeout": "5s",
            "retries": retries, "start_period": start}


def _chunkflow_image(gpu=False) -> dict:
    return {
        "image": "chunkflow-gpu:${CHUNKFLOW_TAG:-local}" if gpu else "chunkflow:${CHUNKFLOW_TAG:-local}",
        "build": {"context": ".", "dockerfile": "docker/Dockerfile.gpu" if gpu else "docker/Dockerfile"},
    }


def compose_spec() -> dict:
    """The docker compose file as a dict (see the module docstring)."""
    worker_dashboard = f":{WORKER_DASHBOARD_PORT}"
    worker_health = _health(f"http://localhost:{WORKER_DASHBOARD_PORT}/health")
    ready = {"scheduler": {"condition": "service_healthy"},
             "createbuckets": {"condition": "service_completed_successfully"}}
    services = {
        "scheduler": {
            **_chunkflow_image(),
            "command": scheduler_command(),
            "ports": [f"127.0.0.1:${{DASK_SCHEDULER_PORT:-{SCHEDULER_PORT}}}:{SCHEDULER_PORT}",
                      f"127.0.0.1:${{DASK_DASHBOARD_PORT:-{DASHBOARD_PORT}}}:{DASHBOARD_PORT}"],
            "environment": dict(_S3_ENV),
            "healthcheck": _health(f"http://localhost:{DASHBOARD_PORT}/health"),
            "restart": "unless-stopped",
        },
        "worker": {
            **_chunkflow_image(),
            "command": worker_command(_SCHEDULER, "${WORKER_NTHREADS:-2}", "${WORKER_MEMORY_LIMIT:-4GiB}",
                                      dashboard_address=worker_dashboard),
            "environment": dict(_S3_ENV),
            "depends_on": copy.deepcopy(ready),
            "healthcheck": dict(worker_health),
            "restart": "unless-stopped",
        },
        "gpu-worker": {
            **_chunkflow_image(gpu=True),
            "profiles": ["gpu"],
            "command": gpu_worker_command(_SCHEDULER, "${GPU_WORKER_NTHREADS:-1}",
                                          "${GPU_WORKER_MEMORY_LIMIT:-16GiB}", dashboard_address=worker_dashboard),
            "environment": dict(_S3_ENV),
            "depends_on": copy.deepcopy(ready),
            "healthcheck": dict(worker_health),
            "restart": "unless-stopped",
            "deploy": {"resources": {"reservations": {"devices": [
                {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]}}},
        },
        "minio": {
            "image": "${MINIO_IMAGE:-minio/minio:latest}",
            "command": ["server", "/data", "--console-address", ":9001"],
            "environment": {"MINIO_ROOT_USER": _S3_ENV["AWS_ACCESS_KEY_ID"],
                            "MINIO_ROOT_PASSWORD": _S3_ENV["AWS_SECRET_ACCESS_KEY"]},
            "ports": ["127.0.0.1:${MINIO_PORT:-9000}:9000", "127.0.0.1:${MINIO_CONSOLE_PORT:-9001}:9001"],
            "volumes": ["minio-data:/data"],
            "healthcheck": {"test": ["CMD", "mc", "ready", "local"], "interval": "5s", "timeout": "5s",
                            "retries": 12, "start_period": "5s"},
            "restart": "unless-stopped",
        },
        "createbuckets": {
            "image": "${MC_IMAGE:-minio/mc:latest}",
            "depends_on": {"minio": {"condition": "service_healthy"}},
            "environment": {k: _S3_ENV[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "CHUNKFLOW_BUCKET")},
            "entrypoint": ["/bin/sh", "-c"],
            # $$ is a literal $ for compose: the container's shell expands these
            "command": ['mc alias set store http://minio:9000 "$$AWS_ACCESS_KEY_ID" "$$AWS_SECRET_ACCESS_KEY" '
                        '&& mc mb --ignore-existing "store/$$CHUNKFLOW_BUCKET"'],
            "restart": "no",
        },
        "client": {
            **_chunkflow_image(),
            "profiles": ["client"],
            "command": client_command("/work/examples/${CHUNKFLOW_PIPELINE:-logistic_s3.yaml}", _SCHEDULER),
            "environment": {**_S3_ENV, "CHUNKFLOW_RETRIES": "${CHUNKFLOW_RETRIES:-3}"},
            "volumes": ["./examples:/work/examples:ro"],
            "depends_on": {**copy.deepcopy(ready), "worker": {"condition": "service_healthy"}},
        },
    }
    return {"name": "chunkflow", "services": services, "volumes": {"minio-data": {}}}


def compose_yaml() -> str:
    """``docker-compose.yml``'s text: :func:`compose_spec` as YAML under a do-not-edit header."""
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data):  # write repeated values out, no &id001 anchors
            return True

    header = ("# Generated by `python -m chunkflow.cluster compose > docker-compose.yml`: edit\n"
              "# chunkflow/cluster.py (the one place the service commands live), not this file.\n"
              "# Usage: docker/README.md.\n")
    return header + yaml.dump(compose_spec(), Dumper=Dumper, sort_keys=False, width=120,
                              default_flow_style=False)


# ------------------------------------------------------------------ local processes
def _free_port(host="127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _executable(argv) -> list:
    """``argv`` with ``dask``/``chunkflow`` taken from this interpreter's environment when it has them."""
    local = os.path.join(os.path.dirname(sys.executable), argv[0])
    return [local, *argv[1:]] if os.access(local, os.X_OK) else list(argv)


class LocalProcessCluster:
    """A scheduler and ``n_workers`` workers as OS processes running the compose file's commands.

    >>> with LocalProcessCluster(n_workers=2) as cluster:      # doctest: +SKIP
    ...     client = distributed.Client(cluster.address)

    Everything listens on 127.0.0.1 (free ports). ``env`` is added to the
    processes' environment (credentials, ``CHUNKFLOW_*``). Each process is
    the leader of its own process group, so stopping a worker also stops the
    worker process its nanny started.
    """

    def __init__(self, n_workers=2, nthreads=1, memory_limit="1GiB", resources=None, env=None, timeout=60.0):
        self.n_workers, self.nthreads, self.memory_limit = n_workers, nthreads, memory_limit
        self.resources, self.timeout = resources, float(timeout)
        self.env = {**os.environ, **(env or {})}
        self.scheduler = None
        self.workers: list = []
        self.address = self.dashboard = None
        self._logs = None

    # -- lifecycle
    def __enter__(self):
        self._logs = tempfile.TemporaryDirectory(prefix="chunkflow-cluster-")
        try:
            port, dash = _free_port(), _free_port()
            self.address, self.dashboard = f"tcp://127.0.0.1:{port}", f"http://127.0.0.1:{dash}"
            self.scheduler = self._start(scheduler_command("127.0.0.1", port, f"127.0.0.1:{dash}"), "scheduler")
            self._wait(lambda: _answers(f"{self.dashboard}/health"), "the scheduler to answer /health",
                       [self.scheduler])
            for _ in range(self.n_workers):
                self.add_worker(wait=False)
            self.wait_for_workers(self.n_workers)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def add_worker(self, wait=True, gpu=False) -> subprocess.Popen:
        """Start one more worker process (and wait until the scheduler has it, unless ``wait=False``).

        ``gpu=True`` starts it with the GPU service's command (the resource ``GPU=1``).
        """
        kw = dict(host="127.0.0.1", dashboard_address="127.0.0.1:0", local_directory=self._logs.name)
        argv = (gpu_worker_command(self.address, self.nthreads, self.memory_limit, **kw) if gpu else
                worker_command(self.address, self.nthreads, self.memory_limit, self.resources, **kw))
        before = set(self.worker_info())
        proc = self._start(argv, f"worker-{len(self.workers)}")
        self.workers.append(proc)
        proc.address = None
        if wait:
            def joined():
                new = set(self.worker_info()) - before
                proc.address = next(iter(new), None)
                return bool(new)

            self._wait(joined, "the new worker to register", [self.scheduler, proc])
        return proc

    def close(self, grace=10.0):
        """Stop the workers, then the scheduler: SIGTERM to each process group, SIGKILL after ``grace`` s."""
        procs = [p for p in [*self.workers, self.scheduler] if p is not None]
        for group in (procs[:-1], procs[-1:]):  # workers first, so they do not wait on a gone scheduler
            for p in group:
                _signal_group(p, signal.SIGTERM)
            deadline = time.monotonic() + grace
            for p in group:
                try:
                    p.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
                _signal_group(p, signal.SIGKILL)  # the group: a nanny's worker child as well
                p.wait()
        if self._logs is not None:
            self._logs.cleanup()
            self._logs = None

    # -- state
    def worker_info(self) -> dict:
        """``{address: info}`` of the workers the scheduler has now (info has ``pid``, ``nthreads``, ...)."""
        from distributed import Client

        with Client(self.address, set_as_default=False, timeout=self.timeout) as c:
            return c.scheduler_info(n_workers=-1)["workers"]

    def wait_for_workers(self, n):
        """Wait until the scheduler has ``n`` workers (RuntimeError naming a process that exited)."""
        self._wait(lambda: len(self.worker_info()) >= n, f"{n} workers to register", [self.scheduler, *self.workers])

    def worker_pids(self) -> dict:
        """``{address: pid}`` of the worker processes (the nannies' children)."""
        from distributed import Client

        with Client(self.address, set_as_default=False, timeout=self.timeout) as c:
            return c.run(os.getpid)

    def kill_worker(self, address):
        """SIGKILL the worker at ``address`` and its nanny (a machine lost, not restarted)."""
        os.killpg(os.getpgid(self.worker_pids()[address]), signal.SIGKILL)

    def log(self, proc) -> str:
        """What ``proc`` (the scheduler or a worker) has written to stdout/stderr so far."""
        with open(proc.args_log) as f:
            return f.read()

    # -- helpers
    def _start(self, argv, name) -> subprocess.Popen:
        path = os.path.join(self._logs.name, f"{name}.log")
        with open(path, "w") as log:
            proc = subprocess.Popen(_executable(argv), stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        proc.args_log = path
        return proc

    def _wait(self, ready, what, procs):
        deadline = time.monotonic() + self.timeout
        while True:
            for p in procs:
                if p is not None and p.poll() is not None:
                    raise RuntimeError(f"while waiting for {what}, {' '.join(p.args[:2])} exited with code "
                                       f"{p.returncode}:\n{self.log(p)[-3000:]}")
            try:
                if ready():
                    return
            except OSError:  # not listening yet
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {self.timeout:.0f} s for {what}; scheduler log:\n"
                                   f"{self.log(self.scheduler)[-3000:]}")
            time.sleep(0.2)


def _answers(url) -> bool:
    with urllib.request.urlopen(url, timeout=3) as r:
        return r.status == 200


def _signal_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)  # the process leads its own group (start_new_session)
    except ProcessLookupError:
        pass


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m chunkflow.cluster", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("compose", help="print docker-compose.yml (generated from this module)")
    args = parser.parse_args(argv)
    if args.command == "compose":
        sys.stdout.write(compose_yaml())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
