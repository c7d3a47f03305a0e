"""A policy's transition rows as a dense matrix, for small models on the NumPy backend."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["DenseRows"]


@dataclass(frozen=True, eq=False)
class DenseRows:
    """``P_π`` ``[S, S]`` as a dense array: ``P_π x`` in one BLAS call.

    On a few dozen states a dense product costs less than SciPy's sparse one,
    whose Python-level dispatch alone takes a few microseconds. Where ``x``
    is not finite (an overflow), the dense product puts ``0 · inf = NaN`` in
    rows that never reach the overflowing state; the product is then taken
    again from the matrix in CSR form (made on that need), which skips the
    zeros, so that only the states whose values overflow are reported as such.
    """

    dense: np.ndarray  # [S, S]

    def dot(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``P_π x`` (into ``out``, an ``[S]`` float64 array other than ``x``, if given)."""
        product = np.dot(self.dense, x, out=out)
        if not math.isfinite(float(np.add.reduce(product))):
            product[...] = sp.csr_matrix(self.dense) @ x
        return product

    def __matmul__(self, x: np.ndarray) -> np.ndarray:
        return self.dot(x)
