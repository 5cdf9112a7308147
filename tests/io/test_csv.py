"""chunkflow/io/csv.py: byte-range blocks that neither lose nor repeat lines, schema from the first block."""
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chunkflow as cf
from chunkflow.io.fs import INCOMPLETE, SUCCESS
from tests.io.test_parquet import counting  # registers the byte-counting countfs:// file system


def _frame(n=500):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"i": np.arange(n), "x": rng.normal(size=n).round(6), "s": [f"w{i % 5}" for i in range(n)]})


def test_blocks_round_trip(tmp_path):
    df = _frame()
    df.to_csv(tmp_path / "d.csv", index=False)
    f = cf.read_csv(str(tmp_path / "d.csv"), blocksize=1000)
    assert f.npartitions == -(-os.path.getsize(tmp_path / "d.csv") // 1000) and f.lengths is None
    assert f.columns == ["i", "x", "s"]
    got = f.compute().reset_index(drop=True)
    pd.testing.assert_frame_equal(got, pd.read_csv(tmp_path / "d.csv"), check_dtype=False)
    t = f[["i", "x"]].to_tensor()  # unknown lengths: one counting pass
    np.testing.assert_allclose(t.compute(), df[["i", "x"]].to_numpy())
    assert sum(t.chunks[0]) == len(df)


@given(lines=st.lists(st.text(alphabet="abcxyz", min_size=0, max_size=30), min_size=1, max_size=40),
       blocksize=st.integers(1, 200))
def test_every_line_read_exactly_once(tmp_path_factory, lines, blocksize):
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    body = "n,text\n" + "".join(f"{i},{s}\n" for i, s in enumerate(lines))
    path.write_text(body)
    got = cf.read_csv(str(path), blocksize=blocksize, dtype={"text": "str"}).compute()
    assert list(got["n"]) == list(range(len(lines)))
    assert [("" if pd.isna(v) else v) for v in got["text"]] == lines


def test_columns_dtype_and_no_header(tmp_path):
    (tmp_path / "a.csv").write_text("1,2.5,x\n3,4.5,y\n")
    f = cf.read_csv(str(tmp_path / "a.csv"), header=False, dtype={"f0": "float32"}, columns=["f0", "f2"])
    got = f.compute()
    assert list(got.columns) == ["f0", "f2"] and got["f0"].dtype == np.float32
    assert list(got["f2"]) == ["x", "y"]
    g = cf.read_csv(str(tmp_path / "a.csv"), header=False, dtype="float64", columns=["f0", "f1"])
    np.testing.assert_array_equal(g.to_tensor().compute(), [[1, 2.5], [3, 4.5]])


def test_glob_directory_and_headers_of_every_file(tmp_path):
    df = _frame(300)
    for i in range(3):
        df.iloc[i * 100:(i + 1) * 100].to_csv(tmp_path / f"p{i}.csv", index=False)
    f = cf.read_csv(str(tmp_path / "p*.csv"), blocksize=700)
    pd.testing.assert_frame_equal(f.compute().reset_index(drop=True), df, check_dtype=False)
    (tmp_path / "p3.csv").write_text("i,y,s\n1,2,a\n")
    with pytest.raises(ValueError, match=r"header of .*p3\.csv.*\['i', 'y', 's'\]"):
        cf.read_csv(str(tmp_path / "p*.csv")).compute()


def test_each_task_reads_only_its_byte_range(tmp_path):
    pd.DataFrame({"x": np.arange(200_000)}).to_csv(tmp_path / "big.csv", index=False)
    size = os.path.getsize(tmp_path / "big.csv")
    f = cf.read_csv(f"countfs://{tmp_path / 'big.csv'}", blocksize=100_000, sample=4096)
    n, got = counting(f.compute)
    assert len(got) == 200_000 and f.npartitions > 10
    assert n <= size + f.npartitions * 2 * 65536  # one look past each block's end for the next newline


def test_frame_to_csv_commit_and_round_trip(tmp_path):
    df = _frame(250)
    f = cf.from_pandas(df, npartitions=3)
    assert f.to_csv(str(tmp_path / "out")) == 250
    assert sorted(os.listdir(tmp_path / "out")) == [SUCCESS] + [f"part.0000{i}.csv" for i in range(3)]
    back = cf.read_csv(str(tmp_path / "out")).compute().reset_index(drop=True)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        f.to_csv(str(tmp_path / "out"))
    (tmp_path / "out" / SUCCESS).unlink()
    (tmp_path / "out" / INCOMPLETE).write_bytes(b"")
    with pytest.raises(ValueError, match="incomplete dataset"):
        cf.read_csv(str(tmp_path / "out"))


def test_type_change_after_the_sample_names_file_and_fix(tmp_path):
    lines = ["a,b"] + [f"{i},{i}" for i in range(3000)] + ["1.5,x"]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    f = cf.read_csv(str(tmp_path / "t.csv"), sample=1000, blocksize=4000)
    with pytest.raises(ValueError, match=r"t\.csv.*dtype=\{'column': 'float64'\}"):
        f.compute()
    got = cf.read_csv(str(tmp_path / "t.csv"), sample=1000, blocksize=4000,
                      dtype={"a": "float64", "b": "str"}).compute()
    assert got["a"].iloc[-1] == 1.5 and got["b"].iloc[-1] == "x"


def test_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        cf.read_csv(str(tmp_path / "missing.csv"))
    (tmp_path / "a.csv").write_text("alpha,beta\n1,2\n")
    with pytest.raises(ValueError, match=r"'alpah'.*\['alpha', 'beta'\].*did you mean 'alpha'"):
        cf.read_csv(str(tmp_path / "a.csv"), columns=["alpah"])
    with pytest.raises(TypeError, match="dtype 'floaty'"):
        cf.read_csv(str(tmp_path / "a.csv"), dtype={"beta": "floaty"})
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(ValueError, match=r"e\.csv.*is empty"):
        cf.read_csv(str(tmp_path / "e.csv"))
    with pytest.raises(ValueError, match="unsupported URL scheme"):
        cf.read_csv("nosuch://x.csv")


def test_s3_round_trip(s3):
    bucket, options = s3
    df = _frame(400)
    cf.from_pandas(df, npartitions=2).to_csv(f"{bucket}/csv", storage_options=options)
    f = cf.read_csv(f"{bucket}/csv", blocksize=2000, storage_options=options)
    assert f.npartitions > 2
    pd.testing.assert_frame_equal(f.compute().reset_index(drop=True), df, check_dtype=False)
    with pytest.raises(FileNotFoundError, match="nothing.csv"):
        cf.read_csv(f"{bucket}/nothing.csv", storage_options=options)


def test_dates_stay_strings_as_in_pandas_unless_a_dtype_is_given(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,t,d\n1,2024-01-01 00:00:00,2024-01-01\n2,2024-01-02 01:00:00,2024-02-03\n")
    pd.testing.assert_frame_equal(cf.read_csv(str(path)).compute(), pd.read_csv(path))
    got = cf.read_csv(str(path), dtype={"t": "datetime64[ns]"}).compute()
    pd.testing.assert_series_equal(got["t"], pd.read_csv(path, parse_dates=["t"])["t"], check_dtype=False)
