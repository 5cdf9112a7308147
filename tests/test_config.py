"""chunkflow.config: parsing and scoping of settings."""
import subprocess
import sys

import pytest

import chunkflow as cf


def test_set_is_scoped():
    before = cf.config.get("memory_budget")
    with cf.config.set(memory_budget="1GiB"):
        assert cf.config.get("memory_budget") == 2**30
    assert cf.config.get("memory_budget") == before


@pytest.mark.parametrize("text, value", [("2GiB", 2 * 2**30), ("512 MiB", 512 * 2**20), ("1GB", 10**9), (4096, 4096)])
def test_parse_bytes(text, value):
    assert cf.config.parse_bytes(text) == value


@pytest.mark.parametrize("bad", ["lots", "-1GiB", "2 parsecs", 0, True])
def test_bad_byte_sizes_name_the_value(bad):
    with pytest.raises((ValueError, TypeError), match="byte size|positive"):
        cf.config.parse_bytes(bad)


def test_unknown_setting_lists_known_ones():
    with pytest.raises(KeyError, match="memory_budget"):
        cf.config.set(memroy_budget="1GiB")


def test_budget_from_environment():
    out = subprocess.run(
        [sys.executable, "-c", "import chunkflow as cf; print(cf.config.get('memory_budget'))"],
        capture_output=True, text=True, env={"CHUNKFLOW_MEMORY_BUDGET": "3GiB", "PATH": ""}, check=True,
    )
    assert int(out.stdout) == 3 * 2**30
