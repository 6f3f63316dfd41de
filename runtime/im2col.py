"""Runtime kernels: im2col / col2im between images and a column matrix.

Images are padded into CHWN memory (C, HP, WP, N); columns are (C*KH*KW,
OH*OW*N), rows ordered (c, kh, kw), columns (oh, ow, n).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

# Why this layout: for a stride-1 window each column row is copied as runs of
# OW*N contiguous floats, a chunk of output rows is a contiguous block of
# columns, and a conv's product cols^T @ W^T comes out HWNC, (OH*OW*N, F): the
# layout the Winograd kernel, pooling and ReLU run on. (Columns ordered
# (n, oh, ow) from NCHW memory copied runs of OW floats and left the conv
# output channel-major, which every consumer had to transpose.)


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
