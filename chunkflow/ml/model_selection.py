"""Chunk-wise ``train_test_split`` and ``KFold`` for chunked arrays (NumPy input as scikit-learn).

``train_test_split`` on Tensors picks test rows inside every row chunk with
a seeded generator (chunk ``i`` gets ``SeedSequence(random_state).spawn``'s
i-th stream, so the split does not depend on how the work is scheduled):
each chunk contributes ``round(test_size * rows)`` test rows, and every
array is split with the same row indices, so X and y stay aligned. The
outputs are lazy Tensors with known chunk sizes; nothing is read.

``KFold`` on Tensors splits the row chunks (not rows) into folds: fold
boundaries fall on chunk boundaries, so a training set is a concatenation
of whole chunks (``split`` yields index arrays, as scikit-learn's).
"""
from __future__ import annotations

import numbers

import numpy as np

from .base import as_output, as_tensor_input, input_kind

__all__ = ["train_test_split", "KFold", "chunk_row_indices"]


def _fraction(name, value, n):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a float in (0, 1) or an int in [1, n_samples), got {value!r}")
    if isinstance(value, numbers.Integral):
        if not 0 < value < n:
            raise ValueError(f"{name}={value} must be in [1, n_samples={n}) as an int")
        return value / n
    if not 0 < value < 1:
        raise ValueError(f"{name}={value} must be in (0, 1) as a float")
    return float(value)


def chunk_row_indices(chunks, test_fraction, random_state):
    """``(train_idx, test_idx)``: global row indices, test rows chosen per chunk by a seeded RNG."""
    seed = random_state if isinstance(random_state, numbers.Integral) else np.random.SeedSequence().entropy
    streams = np.random.SeedSequence(int(seed)).spawn(len(chunks))
    train, test, start = [], [], 0
    for rows, ss in zip(chunks, streams):
        rng = np.random.default_rng(ss)
        k = int(round(test_fraction * rows))
        perm = rng.permutation(rows)
        test.append(np.sort(perm[:k]) + start)
        train.append(np.sort(perm[k:]) + start)
        start += rows
    return np.concatenate(train), np.concatenate(test)


def train_test_split(*arrays, test_size=None, train_size=None, random_state=None, shuffle=True,
                     stratify=None):
    """Split arrays into train and test parts: ``[X_train, X_test, y_train, y_test, ...]``.

    NumPy input goes to scikit-learn's ``train_test_split`` (same results).
    Chunked input is split chunk-wise (module docstring); ``stratify`` and
    ``shuffle=False`` are only for NumPy input.
    """
    if not arrays:
        raise ValueError("At least one array required as input")
    kinds = [input_kind(a) for a in arrays]
    if all(k == "numpy" for k in kinds):
        from sklearn.model_selection import train_test_split as sk_split

        return sk_split(*arrays, test_size=test_size, train_size=train_size, random_state=random_state,
                        shuffle=shuffle, stratify=stratify)
    if stratify is not None or not shuffle:
        raise ValueError("stratify and shuffle=False are supported for NumPy input only; chunked input is "
                         "split by a seeded sample of rows inside every chunk")
    tensors = [as_tensor_input(a, dtype=None, name=f"arrays[{i}]")[0] for i, a in enumerate(arrays)]
    n = tensors[0].shape[0]
    for i, t in enumerate(tensors[1:], 1):
        if t.shape[0] != n:
            raise ValueError(f"Found input variables with inconsistent numbers of samples: arrays[0] has {n} "
                             f"rows, arrays[{i}] has {t.shape[0]}")
    test = _fraction("test_size", test_size, n)
    train = _fraction("train_size", train_size, n)
    if test is None:
        test = 0.25 if train is None else 1.0 - train
    elif train is not None and train + test > 1 + 1e-12:
        raise ValueError(f"test_size + train_size = {test + train} must be <= 1")
    chunks = tensors[0].chunks[0]
    train_idx, test_idx = chunk_row_indices(chunks, test, random_state)
    if train is not None and train + test < 1:  # keep the first train_size share of each chunk's train rows
        train_idx = _subset(chunks, train_idx, train / (1 - test))
    out = []
    for a, t, kind in zip(arrays, tensors, kinds):
        t = t.rechunk((chunks,) + tuple(t.chunks[1:])) if t.chunks[0] != chunks else t
        out.extend([as_output(t[train_idx], kind), as_output(t[test_idx], kind)])
    return out


def _subset(chunks, idx, share):
    bounds = np.concatenate([[0], np.cumsum(chunks)])
    keep = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        part = idx[(idx >= lo) & (idx < hi)]
        keep.append(part[:int(round(share * len(part)))])
    return np.concatenate(keep)


class KFold:
    """K folds of row chunks for Tensors (fold edges on chunk edges); of rows for NumPy input.

    ``split(X)`` yields ``(train_idx, test_idx)`` integer arrays. For NumPy
    input it is scikit-learn's ``KFold`` with the same parameters. For a
    Tensor the chunks (shuffled with ``random_state`` when ``shuffle``) are
    dealt into ``n_splits`` contiguous groups of nearly equal chunk counts.
    """

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None):
        if isinstance(n_splits, bool) or not isinstance(n_splits, numbers.Integral) or n_splits < 2:
            raise ValueError(f"n_splits must be an integer >= 2, got {n_splits!r}")
        self.n_splits = int(n_splits)
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_splits

    def split(self, X, y=None, groups=None):
        if input_kind(X) == "numpy":
            from sklearn.model_selection import KFold as SKKFold

            yield from SKKFold(self.n_splits, shuffle=self.shuffle,
                               random_state=self.random_state).split(X, y, groups)
            return
        t, _ = as_tensor_input(X, dtype=None)
        chunks = t.chunks[0]
        if len(chunks) < self.n_splits:
            raise ValueError(f"Cannot have n_splits={self.n_splits} greater than the number of row chunks="
                             f"{len(chunks)}; rechunk X into smaller row chunks")
        bounds = np.concatenate([[0], np.cumsum(chunks)])
        order = np.arange(len(chunks))
        if self.shuffle:
            np.random.default_rng(self.random_state).shuffle(order)
        for fold in np.array_split(order, self.n_splits):
            mask = np.zeros(bounds[-1], dtype=bool)
            for c in fold:
                mask[bounds[c]:bounds[c + 1]] = True
            yield np.flatnonzero(~mask), np.flatnonzero(mask)
