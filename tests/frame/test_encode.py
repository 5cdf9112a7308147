"""chunkflow/frame/encode.py: categories learned in one pass; one-hot and ordinal codes as pandas; into ml."""
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import chunkflow as cf
from chunkflow.frame.frame import building

from .data import CASES, check_all, pair, same


def _counted(df, npartitions):
    """A Frame whose partitions are made by a loader that counts its calls (one call a partition read)."""
    calls = []
    bounds = np.linspace(0, len(df), npartitions + 1).astype(int)

    def load(i):
        calls.append(i)
        return df.iloc[bounds[i]:bounds[i + 1]]

    with building():
        ddf = dd.from_map(load, range(npartitions), meta=df.iloc[:0], enforce_metadata=False)
    return cf.from_dask(ddf), calls


@pytest.mark.parametrize("seed,parts", CASES)
def test_get_dummies_and_ordinal_match_pandas(seed, parts):
    df, f = pair(seed, parts)
    df["g"] = pd.Series(np.array(["u", "v"])[df["k"] % 2], dtype="str")
    f = f.assign(g=(f["k"] % 2).map({0: "u", 1: "v"}).astype("str"))
    cats = sorted(df["s"].dropna().unique())
    onehot = cf.get_dummies(f, columns=["s", "g"])
    assert onehot.lengths == f.lengths
    codes = f.ordinal_encode(["s"])
    check_all([(onehot, pd.get_dummies(df, columns=["s", "g"])),
               (f.one_hot(["s"], dtype="float32", drop_first=True),
                pd.get_dummies(df, columns=["s"], dtype="float32", drop_first=True)),
               (codes["s"], pd.Series(pd.Categorical(df["s"], categories=cats).codes, name="s", index=df.index))])
    learned = f.categorize(["s"])
    assert list(learned.dtypes["s"].categories) == cats and learned.lengths == f.lengths
    assert learned.categorize(["s"]) is learned  # known categories are not read again


def test_categorize_reads_once_and_feeds_ml():
    df, _ = pair(5, 1, n=400, nan=0.0)
    f, calls = _counted(df, 4)
    g = f.categorize(["s", "k"])
    assert sorted(calls) == [0, 1, 2, 3]  # one pass for both columns
    X = cf.get_dummies(g[["s", "c"]], columns=["s"]).to_tensor(dtype="float64")
    assert X.ndim == 2 and X.shape[1] == 1 + df["s"].nunique()
    from chunkflow.ml import LinearRegression

    y = f["c"] * 2 + (f["s"] == "date") * 3
    model = LinearRegression().fit(X, y.to_tensor())
    assert model.coef_[0] == pytest.approx(2.0, abs=1e-6)


def test_to_tensor_non_numeric_suggests_encoders():
    df, f = pair(0, 2)
    with pytest.raises(TypeError, match=r"\['s'\] are not numeric.*categorize.*get_dummies"):
        f[["a", "s"]].to_tensor()
    assert f.get_dummies().columns == pd.get_dummies(df).columns.tolist()
