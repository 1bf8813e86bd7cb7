"""The four projections of Formats/idz-v1-projections.md, forward only (P v), vectorised.

Each function returns P v as a float32 array [D], bit-exact with the spec: every sum runs
in the stated order (loops over the summation index, each step one numpy operation over
all rows at once), every rounding point is where the spec puts it.
"""
import math

import numpy as np

from .random import (
    PURPOSE_DENSE, PURPOSE_FASTFOOD_GAUSSIAN, PURPOSE_FASTFOOD_PERMUTATION, PURPOSE_FASTFOOD_SIGNS,
    PURPOSE_SPARSE, Stream, permutations, portable_log, unit_interval,
)

__all__ = ["project", "identity", "dense", "sparse", "fastfood", "walsh_hadamard", "fastfood_tables",
           "sparse_columns", "SPARSE_CHUNK_ROWS"]

SPARSE_CHUNK_ROWS = 4096
# Draws per column and chunk generated at once (0: the expected count plus six deviations); tests set it small.
_SPARSE_DRAW_BATCH = 0
_DENSE_CHUNK_ENTRIES = 1 << 16
_DENSE_CACHE_ENTRIES = 1 << 25
_FASTFOOD_BATCH_ENTRIES = 1 << 17


def project(kind, seed, D, v):
    """P v for projection ``kind`` (``"identity"``, ``"dense"``, ``"sparse"``, ``"fastfood"``).

    Args:
        kind: the projection kind.
        seed: the 64-bit projection seed.
        D: the number of rows (parameters).
        v: float32 array [d], finite.
    Returns:
        float32 array [D].
    """
    v = np.ascontiguousarray(v, dtype=np.float32)
    if kind == "identity":
        return identity(D, v)
    if kind == "dense":
        return dense(seed, D, v)
    if kind == "sparse":
        return sparse(seed, D, v)
    if kind == "fastfood":
        return fastfood(seed, D, v)
    raise ValueError("unknown projection kind %r" % kind)


def identity(D, v):
    """(P v)_i = v_i; needs d = D."""
    if len(v) != D:
        raise ValueError("identity needs d = D")
    return v.astype(np.float32, copy=True)


def dense(seed, D, v):
    """Dense Gaussian projection with unit columns: z_ij = normal(i d + j) of purpose 2.

    Two passes over row chunks: the column norms, then the product. z is kept between them
    when D d <= 2^25 (256 MB of float64), else regenerated: time O(D d) normals.
    """
    d = len(v)
    stream = Stream(seed, PURPOSE_DENSE, 0)
    rows_per_chunk = max(1, _DENSE_CHUNK_ENTRIES // d)

    def chunk(r0, r1):
        return stream.normals(r0 * d, (r1 - r0) * d).reshape(r1 - r0, d)

    n2 = np.zeros(d, np.float64)
    cached = [] if D * d <= _DENSE_CACHE_ENTRIES else None
    for r0 in range(0, D, rows_per_chunk):
        z = chunk(r0, min(D, r0 + rows_per_chunk))
        if cached is not None:
            cached.append(z)
        # Sequential sum over i: accumulate runs down the rows one at a time.
        squares = z * z
        squares[0] += n2
        n2 = np.add.accumulate(squares, axis=0)[-1] if len(squares) > 1 else squares[0]
    norms = np.sqrt(n2)
    w = v.astype(np.float64) / norms
    out = np.empty(D, np.float32)
    for index, r0 in enumerate(range(0, D, rows_per_chunk)):
        r1 = min(D, r0 + rows_per_chunk)
        z = cached[index] if cached is not None else chunk(r0, r1)
        zt = np.ascontiguousarray(z.T)
        acc = np.zeros(r1 - r0, np.float64)
        for j in range(d):
            acc += zt[j] * w[j]
        out[r0:r1] = acc.astype(np.float32)
    return out


def sparse_columns(seed, D, d):
    """The nonzeros of the sparse projection's columns.

    Returns:
        (rows, columns, negative, nnz): int64 arrays of the nonzeros' rows and columns
        (sorted by column, then row), a bool array (sigma = -1), and nnz_j per column [d].
    """
    density = 1.0 / math.sqrt(float(D))
    log_keep = float(portable_log(np.array([1.0 - density]))[0]) if D > 1 else None
    chunks = -(-D // SPARSE_CHUNK_ROWS)
    all_rows, all_columns, all_negative = [], [], []
    columns = np.arange(d, dtype=np.uint64)
    for c in range(chunks):
        n_c = min(SPARSE_CHUNK_ROWS, D - c * SPARSE_CHUNK_ROWS)
        expected = n_c * density
        batch = _SPARSE_DRAW_BATCH or int(expected + 6.0 * math.sqrt(expected) + 8)
        pending = columns                     # columns whose chunk has not stopped yet
        position = np.full(d, -1, np.int64)   # p per column
        drawn = np.zeros(d, np.int64)         # k per column
        while len(pending):
            stream = Stream(seed, PURPOSE_SPARSE, pending[:, None])
            k = drawn[pending.astype(np.int64)][:, None] + np.arange(batch, dtype=np.int64)[None, :]
            w0, w1, w2, _ = stream.block((np.uint64(c) << np.uint64(32)) | k.astype(np.uint64))
            u = 1.0 - unit_interval((w1 << np.uint64(32)) | w0)
            if D == 1:
                gap = np.zeros(u.shape, np.float64)
            else:
                gap = np.floor(portable_log(u) / log_keep)
            stop_gap = gap >= n_c
            steps = np.where(stop_gap, float(n_c), gap).astype(np.int64) + 1
            p = position[pending.astype(np.int64)][:, None] + np.cumsum(steps, axis=1)
            stopped = stop_gap | (p >= n_c)
            any_stop = stopped.any(axis=1)
            first_stop = np.where(any_stop, stopped.argmax(axis=1), batch)
            keep = np.arange(batch)[None, :] < first_stop[:, None]
            row_in_chunk, col_index = p[keep], np.broadcast_to(pending[:, None], p.shape)[keep]
            all_rows.append(c * SPARSE_CHUNK_ROWS + row_in_chunk)
            all_columns.append(col_index.astype(np.int64))
            all_negative.append((w2[keep] & np.uint64(1)) == 1)
            # Columns that did not stop continue with the next batch of draws.
            unfinished = ~any_stop
            idx = pending[unfinished].astype(np.int64)
            position[idx] = p[unfinished, -1]
            drawn[idx] += batch
            pending = pending[unfinished]
    rows = np.concatenate(all_rows) if all_rows else np.zeros(0, np.int64)
    cols = np.concatenate(all_columns) if all_columns else np.zeros(0, np.int64)
    negative = np.concatenate(all_negative) if all_negative else np.zeros(0, bool)
    order = np.lexsort((rows, cols))
    rows, cols, negative = rows[order], cols[order], negative[order]
    nnz = np.bincount(cols, minlength=d)
    return rows, cols, negative, nnz


def sparse(seed, D, v):
    """Very sparse projection (density 1/sqrt(D)) with unit columns, purpose 3.

    Each row's Double accumulator adds its terms in ascending column order: the nonzeros
    are sorted by (row, column) and added rank by rank (the r-th term of every row at once).
    """
    d = len(v)
    rows, cols, negative, nnz = sparse_columns(seed, D, d)
    with np.errstate(divide="ignore"):
        scale = np.where(nnz > 0, 1.0 / np.sqrt(nnz.astype(np.float64)), 0.0)
    t = scale * v.astype(np.float64)
    terms = np.where(negative, -t[cols], t[cols])
    order = np.lexsort((cols, rows))
    rows, terms = rows[order], terms[order]
    acc = np.zeros(D, np.float64)
    if len(rows):
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        lengths = np.diff(np.r_[starts, len(rows)])
        rank = np.arange(len(rows)) - np.repeat(starts, lengths)
        for r in range(int(lengths.max())):
            at = rank == r
            acc[rows[at]] += terms[at]
    return acc.astype(np.float32)


def walsh_hadamard(x):
    """Unnormalised Walsh-Hadamard transform of each row of x (float32 [rows, L], L a
    power of two), butterflies in increasing stride order; returns a new array."""
    x = np.array(x, dtype=np.float32, copy=True)
    rows, L = x.shape
    h = 1
    while h < L:
        y = x.reshape(rows, L // (2 * h), 2, h)
        a, c = y[:, :, 0, :], y[:, :, 1, :]
        s, t = a + c, a - c
        y[:, :, 0, :] = s
        y[:, :, 1, :] = t
        h *= 2
    return x


def fastfood_tables(seed, D, L, blocks):
    """B, Pi, G and scale of the Fastfood blocks ``blocks`` (int array).

    Returns:
        signs float32 [n, L], perm int64 [n, L], gauss float32 [n, L], scale float32 [n].
    """
    blocks = np.asarray(blocks, dtype=np.uint64)
    n = len(blocks)
    signs = Stream(seed, PURPOSE_FASTFOOD_SIGNS, blocks[:, None]).signs(L)
    perm = permutations(seed, PURPOSE_FASTFOOD_PERMUTATION, blocks, L)
    pairs = (L + 1) // 2
    even, odd = Stream(seed, PURPOSE_FASTFOOD_GAUSSIAN, blocks[:, None]).normal_pairs(
        np.arange(pairs, dtype=np.uint64)[None, :])
    normals = np.empty((n, 2 * pairs), np.float64)
    normals[:, 0::2], normals[:, 1::2] = even, odd
    gauss = normals[:, :L].astype(np.float32)
    g64 = gauss.astype(np.float64)
    gg = np.zeros(n, np.float64)
    for k in range(L):  # sequential sum over k
        gg += g64[:, k] * g64[:, k]
    scale = (1.0 / np.sqrt(gg * float(D))).astype(np.float32)
    return signs, perm, gauss, scale


def fastfood(seed, D, v):
    """Stacked Fastfood blocks of length L (the smallest power of two >= d), purposes 4-6.

    Blocks are processed in batches of about 2^17 entries: memory O(batch), time
    O(D log d) float32 operations plus D normals and D permutation draws.
    """
    d = len(v)
    L = 1 << (d - 1).bit_length()
    block_count = -(-D // L)
    batch = max(1, _FASTFOOD_BATCH_ENTRIES // L)
    out = np.empty(D, np.float32)
    padded = np.zeros(L, np.float32)
    padded[:d] = v
    for b0 in range(0, block_count, batch):
        b1 = min(block_count, b0 + batch)
        signs, perm, gauss, scale = fastfood_tables(seed, D, L, np.arange(b0, b1))
        x = walsh_hadamard(padded[None, :] * signs)
        y = walsh_hadamard(gauss * np.take_along_axis(x, perm, axis=1))
        y *= scale[:, None]
        flat = y.reshape(-1)
        start = b0 * L
        stop = min(D, b1 * L)
        out[start:stop] = flat[:stop - start]
    return out
