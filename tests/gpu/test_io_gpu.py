"""GPU chunks through chunkflow.io and Frame.to_tensor: the values the CPU reads (skipped without a GPU).

Readers read on the host and copy each chunk to the GPU; writers copy GPU
chunks back to the host in their tasks. ``TestOnGpu`` needs CuPy and a CUDA
device; the benchmark check below runs everywhere (on a CPU machine the
benchmark must say why it measured nothing and exit 0).
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import chunkflow as cf
from chunkflow.backend import device_of, gpu_available, gpu_unavailable_reason

REPO = Path(__file__).resolve().parents[2]


def _host(value):
    """A GPU Tensor's computed value (a CuPy array) as NumPy."""
    import cupy

    assert isinstance(value, cupy.ndarray), f"expected a CuPy result, got {type(value).__name__}"
    return cupy.asnumpy(value)


def _on_gpu(t):
    """Whether ``t`` is a GPU Tensor whose blocks are CuPy arrays."""
    return t.device == "gpu" and device_of(t.to_dask()) == "gpu"


class TestOnGpu:
    pytestmark = [pytest.mark.gpu,
                  pytest.mark.skipif(not gpu_available(), reason=f"needs a GPU: {gpu_unavailable_reason()}")]

    @pytest.mark.parametrize("fortran", [False, True])
    def test_from_npy_on_the_gpu_reads_what_the_cpu_reads(self, tmp_path, fortran):
        a = np.arange(600, dtype=np.float32).reshape(60, 10)
        np.save(tmp_path / "a.npy", np.asfortranarray(a) if fortran else a)
        cpu = cf.from_npy(str(tmp_path / "a.npy"), chunks=(16, 5))
        for device in ("gpu", "cuda"):
            gpu = cf.from_npy(str(tmp_path / "a.npy"), chunks=(16, 5), device=device)
            assert _on_gpu(gpu) and gpu.chunks == cpu.chunks and gpu.dtype == cpu.dtype
            np.testing.assert_array_equal(_host(gpu.compute()), a)
        np.testing.assert_allclose(_host((gpu * 2).sum(axis=0).compute()), (a * 2).sum(axis=0))

    def test_from_zarr_on_the_gpu_reads_what_the_cpu_reads(self, tmp_path):
        pytest.importorskip("zarr", minversion="3")
        a = np.random.default_rng(0).normal(size=(50, 7))
        cf.from_array(a, chunks=(20, 7)).to_zarr(str(tmp_path / "z"))
        gpu = cf.from_zarr(str(tmp_path / "z"), device="gpu")
        assert _on_gpu(gpu) and gpu.chunks == cf.from_zarr(str(tmp_path / "z")).chunks
        np.testing.assert_array_equal(_host(gpu.compute()), a)

    def test_frame_to_tensor_on_the_gpu(self, tmp_path):
        df = pd.DataFrame({"a": np.arange(100), "b": np.linspace(0, 1, 100), "c": np.arange(100) % 3 == 0})
        df.to_parquet(tmp_path / "d.parquet", row_group_size=30)
        for f in (cf.from_pandas(df, npartitions=3), cf.read_parquet(str(tmp_path / "d.parquet"))):
            t = f.to_tensor(["a", "b"], device="gpu")
            assert _on_gpu(t) and t.chunks == f.to_tensor(["a", "b"]).chunks
            np.testing.assert_array_equal(_host(t.compute()), df[["a", "b"]].to_numpy(dtype="float64"))
            X, y = f.to_tensors(["a", "b"], "c", device="gpu")
            assert _on_gpu(X) and _on_gpu(y) and X.dtype == np.float64 and y.dtype == np.bool_
            x_val, y_val = cf.compute(X, y)
            np.testing.assert_array_equal(_host(x_val), df[["a", "b"]].to_numpy())
            np.testing.assert_array_equal(_host(y_val), df["c"].to_numpy())

    def test_writers_take_gpu_tensors(self, tmp_path):
        a = np.random.default_rng(1).normal(size=(45, 6))
        x = cf.from_array(a, chunks=(10, 4)).to_device("gpu") * 2  # column chunks: to_npy joins them first
        assert _on_gpu(x)
        x.to_npy(str(tmp_path / "a.npy"))
        np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), a * 2)
        x.to_zarr(str(tmp_path / "z"))
        np.testing.assert_array_equal(cf.from_zarr(str(tmp_path / "z")).compute(), a * 2)
        assert x.to_parquet(str(tmp_path / "p")) == 45
        np.testing.assert_array_equal(cf.read_parquet(str(tmp_path / "p")).to_tensor().compute(), a * 2)

    def test_read_on_the_gpu_and_write_back(self, tmp_path):
        a = np.arange(240, dtype=np.int64).reshape(40, 6)
        np.save(tmp_path / "a.npy", a)
        gpu = cf.from_npy(str(tmp_path / "a.npy"), chunks=(15, 6), device="gpu")
        (gpu + 1).to_npy(str(tmp_path / "b.npy"))
        np.testing.assert_array_equal(np.load(tmp_path / "b.npy"), a + 1)
        (gpu + 1).to_zarr(str(tmp_path / "b.zarr"))
        back = cf.from_zarr(str(tmp_path / "b.zarr"), device="gpu")
        np.testing.assert_array_equal(_host(back.compute()), a + 1)


def test_gpu_benchmark_smoke_run_measures_or_says_why_not(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu.py"), "--smoke",
                          "--json", str(tmp_path / "gpu.json")], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    if gpu_available():
        assert out.stdout.startswith("device: ") and "x cuBLAS" in out.stdout and "failed" not in out.stdout
        assert (tmp_path / "gpu.json").exists()
    else:  # one line: why, and nothing measured
        assert out.stdout.splitlines() == [f"benchmarks/gpu.py: skipped, no GPU to measure: {gpu_unavailable_reason()}"]
        assert not (tmp_path / "gpu.json").exists()
