"""chunkflow/frame/combine.py: merge (broadcast for a small side) and concat against pandas."""
import numpy as np
import pandas as pd
import pytest

import chunkflow as cf

from .data import CASES, computed, pair, same


def _sorted(d):
    return d.sort_values(list(d.columns)).reset_index(drop=True)


@pytest.mark.parametrize("seed,parts", CASES)
def test_merge_matches_pandas(seed, parts):
    df, f = pair(seed, parts)
    small = pd.DataFrame({"k": [0, 1, 2, 3, 9], "name": ["zero", "one", "two", "three", "nine"],
                          "w": [0.5, 1.0, 1.5, 2.0, 9.0]})
    other = df[["k", "a"]].rename(columns={"a": "a2"}).iloc[::10]
    big = cf.from_pandas(other, npartitions=2)
    outs = [f.merge(small, on="k"), f.merge(small, on="k", how="left"), f.merge(cf.from_pandas(small), on="k"),
            f.merge(big, on="k", how="left"), cf.merge(f, big, on="k", broadcast=False),
            f.merge(small.rename(columns={"k": "key"}), left_on="k", right_on="key")]
    assert all(o.lengths is None for o in outs)
    got = computed(*outs)
    want = [df.merge(small, on="k"), df.merge(small, on="k", how="left"), df.merge(small, on="k"),
            df.merge(other, on="k", how="left"), df.merge(other, on="k"),
            df.merge(small.rename(columns={"k": "key"}), left_on="k", right_on="key")]
    for g, w in zip(got, want):
        same(_sorted(g), _sorted(w))


def test_small_side_is_broadcast_without_a_shuffle():
    df, f = pair(0, 4)
    small = pd.DataFrame({"k": range(6), "w": np.arange(6.0)})
    joined = f.merge(small, on="k", how="left")
    assert joined.npartitions == f.npartitions  # one task per partition of the big side
    names = " ".join(str(k) for k in joined.to_dask().__dask_graph__())
    assert "shuffle" not in names
    two = cf.from_pandas(small, npartitions=2)  # small but in two partitions: dask's broadcast join
    joined = f.merge(two, on="k")
    assert "shuffle" not in " ".join(str(k) for k in joined.to_dask().__dask_graph__())
    same(_sorted(joined.compute()), _sorted(df.merge(small, on="k")))


def test_merge_errors_name_columns_and_dtypes():
    df, f = pair(0, 2)
    with pytest.raises(TypeError, match=r"left column 'k' \(int64\) with right column 'k' \(str\).*astype"):
        f.merge(pd.DataFrame({"k": ["0"], "z": [1]}), on="k")
    with pytest.raises(TypeError, match=r"left column 's' \(str\) with right column 'x' \(float64\)"):
        f.merge(pd.DataFrame({"x": [0.0]}), left_on="s", right_on="x")
    with pytest.raises(KeyError, match="'kk' is not in the right table"):
        f.merge(pd.DataFrame({"kk2": [0]}), left_on="k", right_on="kk")
    with pytest.raises(ValueError, match="how must be one of"):
        f.merge(df, on="k", how="cross")


def test_concat():
    df, f = pair(1, 3)
    g = cf.from_pandas(df.iloc[:50], npartitions=2)
    both = cf.concat([f, g])
    assert both.lengths == f.lengths + g.lengths and both.npartitions == 5
    same(both.compute(), pd.concat([df, df.iloc[:50]]))
    same(cf.concat([f["a"], g["a"]]).compute(), pd.concat([df["a"], df["a"].iloc[:50]]))
    same(cf.concat([f[f.a > 0], df.iloc[:3]]).compute(), pd.concat([df[df.a > 0], df.iloc[:3]]))
    assert cf.concat([f[f.a > 0], g]).lengths is None
    x = cf.concat([cf.ones((2, 2)), cf.zeros((1, 2))])  # Tensors still concatenate
    assert x.shape == (3, 2)
    with pytest.raises(ValueError, match="same columns"):
        cf.concat([f, f[["a"]]])
