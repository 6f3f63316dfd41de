"""Runtime kernels: im2col / col2im between NCHW images and a column matrix.

Column layout is (C*KH*KW, N*OH*OW): rows ordered (c, kh, kw), columns (n, oh, ow).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

# Why this layout: conv becomes ONE matmul W(F, C*KH*KW) @ cols, and the gather
# copy reads runs along OW, which beat the (N*OH*OW, C*KH*KW) layout ~2x in our
# benchmarks. Padded images live channel-major (C, N, H, W) for the same reason;
# callers receive NCHW-shaped views and never depend on the memory order.


def output_size(size: int, kernel: int, stride: int, pad: int) -> int:
    """Output length of a window sweep; the compiler has checked divisibility."""
    return (size + 2 * pad - kernel) // stride + 1


def _padded_cnhw(x: np.ndarray, PH: int, PW: int, pad_value) -> np.ndarray:
    """Copy x (N, C, H, W) into a channel-major padded buffer (C, N, H+2PH, W+2PW)."""
    N, C, H, W = x.shape
    xt = x.transpose(1, 0, 2, 3)
    if PH == 0 and PW == 0:
        return xt  # a view: no copy needed, as_strided honours any strides
    xp = np.full((C, N, H + 2 * PH, W + 2 * PW), pad_value, dtype=x.dtype)
    xp[:, :, PH:PH + H, PW:PW + W] = xt
    return xp


def im2col(x: np.ndarray, KH: int, KW: int, SH: int, SW: int, PH: int, PW: int,
           pad_value=0, out: np.ndarray | None = None) -> np.ndarray:
    """(N, C, H, W) -> (C*KH*KW, N*OH*OW); `out` is an optional reusable buffer."""
    N, C, H, W = x.shape
    OH, OW = output_size(H, KH, SH, PH), output_size(W, KW, SW, PW)
    xp = _padded_cnhw(x, PH, PW, pad_value)
    sC, sN, sH, sW = xp.strides
    windows = as_strided(xp, shape=(C, KH, KW, N, OH, OW),
                         strides=(sC, sH, sW, sN, sH * SH, sW * SW), writeable=False)
    if out is None:
        out = np.empty((C * KH * KW, N * OH * OW), dtype=x.dtype)
    elif out.shape != (C * KH * KW, N * OH * OW) or not out.flags.c_contiguous:
        raise ValueError(f"im2col: out buffer {out.shape} does not fit "
                         f"({C * KH * KW}, {N * OH * OW}) or is not contiguous")
    np.copyto(out.reshape(C, KH, KW, N, OH, OW), windows)  # the one copy
    return out


def col2im(cols: np.ndarray, x_shape, KH: int, KW: int, SH: int, SW: int,
           PH: int, PW: int) -> np.ndarray:
    """(C*KH*KW, N*OH*OW) -> (N, C, H, W), summing overlapping windows.

    Any cols that reshapes to (C, KH, KW, N, OH, OW) is accepted, e.g. a
    broadcast (C, KH*KW, N*OH*OW) view, which then is never materialised.
    """
    N, C, H, W = x_shape
    dxp = np.zeros((C, N, H + 2 * PH, W + 2 * PW), dtype=cols.dtype)
    col2im_add(cols, dxp, KH, KW, SH, SW)
    return dxp[:, :, PH:PH + H, PW:PW + W].transpose(1, 0, 2, 3)


def col2im_add(cols: np.ndarray, dxp: np.ndarray, KH: int, KW: int, SH: int, SW: int) -> None:
    """Add columns (C*KH*KW, N*OH*OW) into a padded channel-major (C, N, HP, WP) array."""
    C, N, HP, WP = dxp.shape
    OH, OW = output_size(HP, KH, SH, 0), output_size(WP, KW, SW, 0)
    cols6 = cols.reshape(C, KH, KW, N, OH, OW)
    # One strided slice-add per kernel offset: positions hit by (kh, kw) are
    # kh, kh+SH, ..., kh+SH*(OH-1); slices never alias within one add.
    for kh in range(KH):
        h_end = kh + SH * (OH - 1) + 1
        for kw in range(KW):
            w_end = kw + SW * (OW - 1) + 1
            dxp[:, :, kh:h_end:SH, kw:w_end:SW] += cols6[:, kh, kw]


# The conv layer's layout. Its input is padded into CHWN memory (C, HP, WP, N)
# and its columns are ordered (oh, ow, n): for a stride-1 conv each column row
# is then copied as runs of OW*N contiguous floats, a chunk of output rows is a
# contiguous block of columns, and the product cols^T @ W^T comes out HWNC,
# (OH*OW*N, F): the layout the Winograd kernel, pooling and ReLU all run on.

def pad_chwn(x: np.ndarray, PH: int, PW: int, out: np.ndarray) -> np.ndarray:
    """Copy x (N, C, H, W), any memory order, into the interior of out (C, H+2PH, W+2PW, N).

    out's border is left as it is: callers pass a zeroed array they reuse.
    """
    N, C, H, W = x.shape
    out[:, PH:PH + H, PW:PW + W] = x.transpose(1, 2, 3, 0)
    return out


def _row_windows(xp: np.ndarray, KH: int, KW: int, SH: int, SW: int, OH: int, OW: int):
    """The (C, KH, KW, OH, OW, N) view of a padded CHWN array: one window per output."""
    C, _, _, N = xp.shape
    sC, sH, sW, sN = xp.strides
    return as_strided(xp, shape=(C, KH, KW, OH, OW, N),
                      strides=(sC, sH, sW, sH * SH, sW * SW, sN), writeable=False)


def im2col_rows(xp: np.ndarray, KH: int, KW: int, SH: int, SW: int, OH: int, OW: int,
                rows: tuple[int, int], out: np.ndarray) -> np.ndarray:
    """Columns (C*KH*KW, (r1-r0)*OW*N) of output rows [r0, r1) from a padded CHWN array."""
    r0, r1 = rows
    C, N = xp.shape[0], xp.shape[3]
    windows = _row_windows(xp, KH, KW, SH, SW, OH, OW)[:, :, :, r0:r1]
    np.copyto(out.reshape(C, KH, KW, r1 - r0, OW, N), windows)
    return out


def col2im_rows_add(cols: np.ndarray, dxp: np.ndarray, KH: int, KW: int, SH: int, SW: int,
                    OW: int, rows: tuple[int, int]) -> None:
    """Add columns of output rows [r0, r1) into a padded CHWN gradient (C, HP, WP, N):
    the adjoint of im2col_rows, one strided slice-add per kernel offset."""
    r0, r1 = rows
    C, _, _, N = dxp.shape
    cols6 = cols.reshape(C, KH, KW, r1 - r0, OW, N)
    for kh in range(KH):
        h0 = r0 * SH + kh
        for kw in range(KW):
            dxp[:, h0:h0 + SH * (r1 - r0 - 1) + 1:SH, kw:kw + SW * (OW - 1) + 1:SW] += cols6[:, kh, kw]
