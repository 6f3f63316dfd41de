"""Runtime kernels: Winograd F(2x2, 3x3) for stride-1 3x3 convolutions.

A 4x4 input tile d and a 3x3 filter g give a 2x2 output Y = A^T [(G g G^T) * (B^T d B)] A
with 16 multiplies instead of 36; over C channels the 16 elementwise products
become 16 matmuls (F, C) x (C, tiles). (Lavin & Gray, "Fast Algorithms for
Convolutional Neural Networks", 2015.)

Arrays are HWNC in memory, (H, W, N, C): every transform is a handful of
elementwise adds over runs of n*C contiguous floats (NCHW memory gave runs of
TW floats and ran 2x slower), and the tile matrices come out as (tiles*n, C),
ready for the matmul. Callers see NCHW-shaped views.
"""
from __future__ import annotations

import numpy as np

from .scratch import Scratch

# The transforms of F(2x2, 3x3); B^T and A^T are applied below as adds, G as a matrix.
G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
GG = np.kron(G, G)  # (16, 9): vec(G g G^T) = (G kron G) vec(g), row-major


def tile_counts(OH: int, OW: int) -> tuple[int, int]:
    """2x2 output tiles per image along each axis (odd sizes round up, then crop)."""
    return -(-OH // 2), -(-OW // 2)


def weight_transform(W: np.ndarray) -> np.ndarray:
    """(F, C, 3, 3) -> U (16, C, F): G g G^T per filter, computed in float64."""
    F, C = W.shape[:2]
    U = GG @ W.reshape(F * C, 9).T.astype(np.float64)  # one matmul (faster than einsum: benchmarks/README.md)
    return np.ascontiguousarray(U.reshape(16, F, C).transpose(0, 2, 1), dtype=W.dtype)


def weight_transform_adjoint(dU: np.ndarray) -> np.ndarray:
    """dU (16, C, F) -> dW (F, C, 3, 3): the gradient through weight_transform."""
    _, C, F = dU.shape
    dW = GG.T @ dU.transpose(0, 2, 1).reshape(16, F * C).astype(np.float64)
    return dW.T.reshape(F, C, 3, 3).astype(dU.dtype)


def flipped(W: np.ndarray) -> np.ndarray:
    """(F, C, 3, 3) -> (C, F, 3, 3) rotated 180 degrees: the filters of the input gradient.

    dX of a stride-1 conv with pad P is a stride-1 conv of dY, padded 2 - P,
    with these filters.
    """
    return W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)


def _bt(d0, d1, d2, d3, out):
    """B^T applied along one axis: out[0..3] from the four rows (or columns) d0..d3."""
    np.subtract(d0, d2, out=out[0])
    np.add(d1, d2, out=out[1])
    np.subtract(d2, d1, out=out[2])
    np.subtract(d1, d3, out=out[3])


def input_tiles(x: np.ndarray, PH: int, PW: int, TH: int, TW: int, scratch: Scratch,
                out: np.ndarray) -> np.ndarray:
    """x (N, C, H, W), any memory order -> out (16, TH*TW*N, C) = B^T d B of every tile.

    Tiles are 4x4 with stride 2 over x padded by PH, PW (plus zeros at the far
    edges up to 2*TH+2, 2*TW+2).
    """
    N, C, H, W = x.shape
    xp = scratch("padded", (2 * TH + 2, 2 * TW + 2, N, C), x.dtype)
    xp[PH:PH + H, PW:PW + W] = x.transpose(2, 3, 0, 1)
    rows = scratch("rows", (4, TH, 2 * TW + 2, N, C), x.dtype)
    _bt(*[xp[k:k + 2 * TH:2] for k in range(4)], rows)
    V = out.reshape(4, 4, TH, TW, N, C)
    # then along the columns, all four rows of B^T d at once: V[:, j] is out[j]
    _bt(*[rows[:, :, k:k + 2 * TW:2] for k in range(4)], V.swapaxes(0, 1))
    return out


def _at(m0, m1, m2, m3, out0, out1):
    """A^T = [[1, 1, 1, 0], [0, 1, -1, -1]] along one axis: two outputs from four inputs."""
    np.add(m0, m1, out=out0)
    out0 += m2
    np.subtract(m1, m2, out=out1)
    out1 -= m3


def _a(d0, d1, out):
    """A along one axis (the transpose of _at): four outputs from two inputs."""
    np.copyto(out[0], d0)
    np.add(d0, d1, out=out[1])
    np.subtract(d0, d1, out=out[2])
    np.negative(d1, out=out[3])


def output_tiles(M: np.ndarray, y: np.ndarray, scratch: Scratch) -> None:
    """M (16, TH*TW*n, F) -> y (2*TH, 2*TW, n, F): Y = A^T m A per tile, written in place."""
    TH, TW = y.shape[0] // 2, y.shape[1] // 2
    M = M.reshape(4, 4, TH, TW, *y.shape[2:])
    S = scratch("sums", (2, 4, *M.shape[2:]), M.dtype)
    _at(*M, *S)  # along the tile rows
    # then along the columns, both output rows at once: y[2*th + a, 2*tw + b] is Y[a, th, tw, b]
    Y = y.reshape(TH, 2, TW, 2, *y.shape[2:]).swapaxes(0, 1)
    _at(*S.swapaxes(0, 1), Y[:, :, :, 0], Y[:, :, :, 1])


def output_tiles_adjoint(dy: np.ndarray, TH: int, TW: int, scratch: Scratch) -> np.ndarray:
    """dy (OH, OW, n, F) -> dM (16, TH*TW*n, F): the gradient through output_tiles."""
    OH, OW, n, F = dy.shape
    if (OH, OW) != (2 * TH, 2 * TW):  # odd sizes: the cropped outputs get no gradient
        full = scratch("padded_grad", (2 * TH, 2 * TW, n, F), dy.dtype)
        full[:OH, :OW] = dy  # the rest stays zero
        dy = full
    d6 = dy.reshape(TH, 2, TW, 2, n, F)
    rows = scratch("grad_rows", (4, TH, TW, 2, n, F), dy.dtype)
    _a(d6[:, 0], d6[:, 1], rows)
    dM = scratch("dM", (4, 4, TH, TW, n, F), dy.dtype)
    _a(rows[:, :, :, 0], rows[:, :, :, 1], dM.swapaxes(0, 1))  # all four tile rows at once
    return dM.reshape(16, TH * TW * n, F)


def _bt_adjoint(g0, g1, g2, g3, even, odd):
    """The transpose of _bt with the overlap-add of stride-2 tiles, along one axis.

    Tile t's four gradients g0..g3[t] land on positions 2t..2t+3: even positions
    get g0[t] + (g1 + g2 - g0)[t-1], odd ones (g1 - g2 + g3)[t] - g3[t-1]. `even`
    and `odd` hold one more position than there are tiles.
    """
    np.add(g1, g2, out=even[1:])
    even[1:] -= g0
    even[0] = 0
    even[:-1] += g0
    np.subtract(g1, g2, out=odd[:-1])
    odd[:-1] += g3
    odd[-1] = 0
    odd[1:] -= g3


def input_tiles_adjoint(dV: np.ndarray, TH: int, TW: int, n: int, scratch: Scratch) -> np.ndarray:
    """dV (16, TH*TW*n, C) -> the gradient of the padded input (2*TH+2, 2*TW+2, n, C):
    the transpose of input_tiles, overlapping tiles summed."""
    C = dV.shape[2]
    g = dV.reshape(4, 4, TH, TW, n, C)
    rows = scratch("grad_cols", (4, TH, 2 * TW + 2, n, C), dV.dtype)
    # along the columns first, all four tile rows at once (g[:, j] is column j)
    _bt_adjoint(*[g[:, j].swapaxes(0, 2) for j in range(4)],
                rows[:, :, 0::2].swapaxes(0, 2), rows[:, :, 1::2].swapaxes(0, 2))
    dxp = scratch("grad_padded", (2 * TH + 2, 2 * TW + 2, n, C), dV.dtype)
    _bt_adjoint(*rows, dxp[0::2], dxp[1::2])
    return dxp


def conv_input_grad(dM: np.ndarray, Ut: np.ndarray, PH: int, PW: int, dx: np.ndarray,
                    scratch: Scratch) -> None:
    """The input gradient dx (H, W, n, C) of a chunk, from the chunk's dM (the gradient of
    its tile products, which the weight gradient needs too): dV = dM U^T, then back
    through the input transform. Reusing dM skips transforming dy a second time.

    Ut (16, F, C) is U transposed, contiguous (OpenBLAS ran the product with a
    transposed view 2x slower at 16 channels).
    """
    H, W, n, C = dx.shape
    T = dM.shape[1]
    TH, TW = tile_counts(H + 2 * PH - 2, W + 2 * PW - 2)
    dV = np.matmul(dM, Ut, out=scratch("grad_tiles", (16, T, C), dM.dtype))
    dxp = input_tiles_adjoint(dV, TH, TW, n, scratch)
    dx[...] = dxp[PH:PH + H, PW:PW + W]


def conv(x: np.ndarray, U: np.ndarray, PH: int, PW: int, out: np.ndarray, chunk: int,
         scratch: Scratch, b: np.ndarray | None = None, keep: str | None = None) -> list[np.ndarray]:
    """x (N, C, H, W) -> out (OH, OW, N, F) plus bias b (F,), `chunk` images at a time.

    U (16, C, F) is weight_transform(W). Returns each chunk's input tiles V,
    in scratch arrays named `keep` (kept for the weight gradient) or shared
    (overwritten chunk by chunk) when keep is None.
    """
    N, C = x.shape[:2]
    OH, OW, _, F = out.shape
    TH, TW = tile_counts(OH, OW)
    tiles = []
    for lo in range(0, N, chunk):
        hi = min(lo + chunk, N)
        T = TH * TW * (hi - lo)
        V = scratch((keep, lo) if keep else "tiles", (16, T, C), x.dtype)
        input_tiles(x[lo:hi], PH, PW, TH, TW, scratch, V)
        M = np.matmul(V, U, out=scratch("products", (16, T, F), x.dtype))  # 16 matmuls
        if b is not None:
            # m_11 reaches all four outputs of its tile with weight 1 (column 1
            # of A^T is (1, 1)): a bias added there costs a quarter of a pass over y.
            M[5] += b
        if (OH, OW) == (2 * TH, 2 * TW):
            output_tiles(M, out[:, :, lo:hi], scratch)
        else:
            full = scratch("full", (2 * TH, 2 * TW, hi - lo, F), out.dtype)
            output_tiles(M, full, scratch)
            out[:, :, lo:hi] = full[:OH, :OW]
        tiles.append(V)
    return tiles
