"""PCA of many images, numpy only: the plane of largest spread through a cloud of states.

For n states x_1 .. x_n of D pixels each, centred on their mean, PCA finds the directions of largest
variance. With n much smaller than D (1,616 states of 196,608 values at 256 px) it is cheapest from
the n x n Gram matrix G = Xc Xc^T (Xc: the centred states, one per row): G's eigenvectors u_j and
eigenvalues w_j give the coordinates of the states on axis j as sqrt(w_j) u_j, and axis j keeps the
share w_j / sum(w) of the total variance. G is summed over column blocks, so the states stay uint8
in memory and only one block is float at a time.
"""

from __future__ import annotations

import numpy as np

BLOCK = 1 << 15  # columns per block: 1,616 x 32,768 float64 is 420 MB; float32 halves it


def gram(states: np.ndarray) -> np.ndarray:
    """(n, D) uint8 states (pictures as the frames store them) -> the Gram matrix of the centred
    states on the [-1, 1] scale, float64."""
    n, d = states.shape
    g = np.zeros((n, n))
    for start in range(0, d, BLOCK):
        block = states[:, start : start + BLOCK].astype(np.float32) / np.float32(127.5) - np.float32(1.0)
        block -= block.mean(axis=0, keepdims=True)
        g += (block @ block.T).astype(np.float64)
    return g


def project(states: np.ndarray, axes: int = 2) -> tuple[np.ndarray, list[float]]:
    """Coordinates of every state on the first `axes` principal axes, and each axis's share of the
    variance. The sign of an axis is arbitrary in PCA; here the coordinate of largest magnitude on
    each axis is made positive, so a rebuild draws the same picture."""
    g = gram(states)
    w, u = np.linalg.eigh(g)  # ascending
    order = np.argsort(w)[::-1][:axes]
    w, u = np.clip(w[order], 0, None), u[:, order]
    coords = u * np.sqrt(w)[None, :]
    for j in range(axes):
        if coords[np.argmax(np.abs(coords[:, j])), j] < 0:
            coords[:, j] *= -1
    total = float(np.trace(g))
    return coords, [float(v / total) if total > 0 else 0.0 for v in w]
