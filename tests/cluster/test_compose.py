"""docker-compose.yml, the Dockerfiles and .env.example: generated from chunkflow.cluster, and well formed.

No Docker daemon is needed: the compose file is checked as data (what compose
would start, on which ports, after what), and the commands in it are the ones
tests/cluster/test_processes.py runs as local processes.
"""
import re
from pathlib import Path

import pytest

from chunkflow import cluster

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(spec):
    return spec["services"]


def test_committed_file_is_the_generated_one(capsys):
    assert cluster.main(["compose"]) == 0
    assert COMPOSE.read_text() == capsys.readouterr().out, (
        "docker-compose.yml differs from chunkflow/cluster.py; regenerate it: "
        "python -m chunkflow.cluster compose > docker-compose.yml")


def test_services_and_profiles(services):
    assert set(services) == {"scheduler", "worker", "gpu-worker", "minio", "createbuckets", "client"}
    profiles = {name: s.get("profiles") for name, s in services.items()}
    assert profiles == {"scheduler": None, "worker": None, "minio": None, "createbuckets": None,
                        "gpu-worker": ["gpu"], "client": ["client"]}


def test_commands_are_chunkflow_cluster_commands(services):
    sched = "tcp://scheduler:8786"
    assert services["scheduler"]["command"] == cluster.scheduler_command()
    assert services["scheduler"]["command"][:2] == ["dask", "scheduler"]
    worker = services["worker"]["command"]
    assert worker == cluster.worker_command(sched, "${WORKER_NTHREADS:-2}", "${WORKER_MEMORY_LIMIT:-4GiB}",
                                            dashboard_address=":8788")
    assert worker[:3] == ["dask", "worker", sched]
    assert "${WORKER_NTHREADS:-2}" in worker and "${WORKER_MEMORY_LIMIT:-4GiB}" in worker
    gpu = services["gpu-worker"]["command"]
    assert gpu == cluster.gpu_worker_command(sched, "${GPU_WORKER_NTHREADS:-1}", "${GPU_WORKER_MEMORY_LIMIT:-16GiB}",
                                             dashboard_address=":8788")
    assert gpu[gpu.index("--resources") + 1] == "GPU=1"
    client = services["client"]["command"]
    assert client[:3] == ["chunkflow", "run", "/work/examples/${CHUNKFLOW_PIPELINE:-logistic_s3.yaml}"]
    assert client[3:] == ["--scheduler", sched]


def test_published_ports_are_loopback_only(services):
    published = {name: s.get("ports", []) for name, s in services.items()}
    assert published["scheduler"] == ["127.0.0.1:${DASK_SCHEDULER_PORT:-8786}:8786",
                                      "127.0.0.1:${DASK_DASHBOARD_PORT:-8787}:8787"]
    assert published["worker"] == [] and published["gpu-worker"] == []  # scaled: no host ports
    for name, ports in published.items():
        for p in ports:
            assert isinstance(p, str) and p.startswith("127.0.0.1:"), f"{name} publishes {p!r} beyond loopback"


def test_storage_volume_and_buckets(spec, services):
    minio = services["minio"]
    assert "minio-data:/data" in minio["volumes"] and "minio-data" in spec["volumes"]
    assert minio["command"][:2] == ["server", "/data"]
    make = services["createbuckets"]
    assert make["restart"] == "no" and make["depends_on"] == {"minio": {"condition": "service_healthy"}}
    assert "mc mb --ignore-existing" in make["command"][0]
    assert services["client"]["volumes"] == ["./examples:/work/examples:ro"]
    for name in ("scheduler", "worker", "gpu-worker", "client"):
        env = services[name]["environment"]
        assert env["FSSPEC_S3_ENDPOINT_URL"] == "http://minio:9000", name
        assert env["AWS_ACCESS_KEY_ID"].startswith("${MINIO_ROOT_USER:?"), name


def test_healthchecks_and_start_order(services):
    for name in ("scheduler", "worker", "gpu-worker", "minio"):
        check = services[name]["healthcheck"]
        assert check["test"][0] == "CMD" and check["interval"] and check["retries"] >= 3, name
    assert services["scheduler"]["healthcheck"]["test"][1:] == cluster.health_command("http://localhost:8787/health")
    for name, s in services.items():
        for dep, cond in s.get("depends_on", {}).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            condition = cond["condition"]
            assert condition in ("service_healthy", "service_completed_successfully"), (name, dep)
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy; it has no check"
            else:
                assert services[dep].get("restart") == "no", f"{dep} is one-shot; it must not restart"
    assert services["worker"]["depends_on"]["scheduler"]["condition"] == "service_healthy"
    assert services["worker"]["depends_on"]["createbuckets"]["condition"] == "service_completed_successfully"
    assert services["client"]["depends_on"]["worker"]["condition"] == "service_healthy"


def test_gpu_worker_reserves_a_gpu(services):
    gpu = services["gpu-worker"]
    assert gpu["build"]["dockerfile"] == "docker/Dockerfile.gpu"
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device == {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}


def _env_names(text):
    """Variables compose substitutes (``${NAME...}``; ``$${NAME}`` is left to the container's shell)."""
    return set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))


def test_every_variable_is_in_env_example():
    example = (ROOT / ".env.example").read_text()
    defined = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line and not line.startswith("#")}
    missing = _env_names(COMPOSE.read_text()) - defined
    assert not missing, f".env.example lacks {sorted(missing)}"
    values = dict(line.split("=", 1) for line in example.splitlines() if "=" in line and not line.startswith("#"))
    assert "change" in values["MINIO_ROOT_PASSWORD"], ".env.example must hold a placeholder, not a password"


def test_dockerfiles_install_this_repository():
    cpu = (ROOT / "docker" / "Dockerfile").read_text()
    gpu = (ROOT / "docker" / "Dockerfile.gpu").read_text()
    assert re.search(r"pip install .*'?\.\[s3,zarr,ml,report\]", cpu)
    assert re.search(r"pip install .*'?\.\[s3,zarr,ml,report,gpu\]", gpu) and "nvidia/cuda" in gpu
    # one Python minor on every image: dask pickles functions between client, scheduler and workers
    assert "3.12" in cpu and "24.04" in gpu  # Ubuntu 24.04's python3 is 3.12
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", ".env"} <= set(ignored)


def test_command_builders_validate():
    with pytest.raises(ValueError, match="tcp://host:8786"):
        cluster.worker_command("scheduler:8786")
    with pytest.raises(ValueError, match="nthreads"):
        cluster.worker_command("tcp://s:1", nthreads=0)
    with pytest.raises(ValueError, match="ca_file"):
        cluster.scheduler_command(tls=("ca.pem",))
    tls = ("ca.pem", "cert.pem", "key.pem")
    assert cluster.scheduler_command(tls=tls)[-8:] == ["--protocol", "tls", "--tls-ca-file", "ca.pem", "--tls-cert",
                                                       "cert.pem", "--tls-key", "key.pem"]
    assert cluster.worker_command("tls://s:8786", tls=tls)[-6:] == ["--tls-ca-file", "ca.pem", "--tls-cert",
                                                                   "cert.pem", "--tls-key", "key.pem"]


def test_client_default_pipeline_exists():
    """The compose client's default pipeline file is one of the committed examples."""
    env = (ROOT / ".env.example").read_text()
    name = re.search(r"^CHUNKFLOW_PIPELINE=(\S+)", env, re.M).group(1)
    assert (ROOT / "examples" / name).is_file()
