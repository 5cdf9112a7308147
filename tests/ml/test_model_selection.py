"""train_test_split and KFold: reproducible, aligned, chunk-wise for Tensors; scikit-learn's for NumPy."""
import numpy as np
import pytest
from sklearn import model_selection as skms

import chunkflow as cf
from chunkflow.ml import KFold, train_test_split


@pytest.fixture(scope="module")
def data():
    X = np.arange(200.0).reshape(100, 2)
    return X, X[:, 0] * 10


def test_numpy_is_sklearn(data):
    X, y = data
    ours = train_test_split(X, y, test_size=0.3, random_state=4)
    theirs = skms.train_test_split(X, y, test_size=0.3, random_state=4)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("chunks", [100, 30, 7])
def test_chunked_split_is_aligned_reproducible_and_chunkwise(data, chunks):
    X, y = data
    Xt, yt = cf.from_array(X, chunks=(chunks, -1)), cf.from_array(y, chunks=chunks)
    parts = train_test_split(Xt, yt, test_size=0.2, random_state=0)
    assert all(isinstance(p, cf.Tensor) for p in parts)
    xtr, xte, ytr, yte = (p.compute() for p in parts)
    np.testing.assert_array_equal(xtr[:, 0] * 10, ytr)  # X and y rows stay together
    np.testing.assert_array_equal(xte[:, 0] * 10, yte)
    assert sorted(np.concatenate([xtr[:, 0], xte[:, 0]])) == sorted(X[:, 0])
    again = train_test_split(Xt, yt, test_size=0.2, random_state=0)[1].compute()
    np.testing.assert_array_equal(again, xte)
    other = train_test_split(Xt, yt, test_size=0.2, random_state=1)[1].compute()
    assert not np.array_equal(other, xte)
    # scikit-learn's sizes, spread over the chunks in proportion to their rows
    from sklearn.model_selection import train_test_split as sk_split

    assert [len(xtr), len(xte)] == [len(p) for p in sk_split(X, test_size=0.2, random_state=0)]
    starts = np.concatenate([[0], np.cumsum(Xt.chunks[0])])
    per_chunk = np.histogram(xte[:, 0] / 2, bins=starts)[0]
    assert np.all(np.abs(per_chunk - 0.2 * np.asarray(Xt.chunks[0])) < 1)


def test_bad_sizes(data):
    X, y = data
    Xt = cf.from_array(X, chunks=(10, -1))
    with pytest.raises(ValueError, match="test_size=1.5"):
        train_test_split(Xt, test_size=1.5)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        train_test_split(Xt, cf.from_array(y[:50], chunks=10))


def test_kfold_over_chunks(data):
    X, _ = data
    Xt = cf.from_array(X, chunks=(10, -1))
    folds = list(KFold(5).split(Xt))
    assert len(folds) == 5
    tests = np.concatenate([te for _, te in folds])
    np.testing.assert_array_equal(np.sort(tests), np.arange(100))
    for tr, te in folds:
        assert len(te) == 20 and np.intersect1d(tr, te).size == 0
        assert te.min() % 10 == 0 and (te.max() + 1) % 10 == 0  # fold edges on chunk edges
    shuffled = [te for _, te in KFold(5, shuffle=True, random_state=0).split(Xt)]
    assert any(not np.array_equal(a, b) for a, b in zip(shuffled, (te for _, te in folds)))
    for (a, b), (c, d) in zip(KFold(4).split(X), skms.KFold(4).split(X)):
        np.testing.assert_array_equal(a, c)
    with pytest.raises(ValueError, match="n_splits=20 greater than the number of row chunks"):
        list(KFold(20).split(Xt))


@pytest.mark.parametrize("sizes", [(0.25, None), (None, None), (0.3, 0.5), (13, None), (None, 0.6), (7, 50)])
def test_chunked_split_sizes_are_scikit_learns(sizes):
    from sklearn.model_selection import train_test_split as sk_split

    test_size, train_size = sizes
    for n, chunk in ((100, 7), (997, 100), (1000, 333)):
        a = np.arange(2.0 * n).reshape(n, 2)
        got = train_test_split(cf.from_array(a, chunks=(chunk, -1)), test_size=test_size, train_size=train_size,
                               random_state=0)
        want = sk_split(a, test_size=test_size, train_size=train_size, random_state=0)
        assert [g.shape for g in got] == [w.shape for w in want]
