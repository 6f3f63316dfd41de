"""im2col / col2im (CHWN, row chunks) against naive loops."""
import numpy as np
import pytest

from netc.runtime.im2col import col2im_rows_add, im2col_rows, pad_chwn

CASES = [  # (N, C, H, W, KH, KW, SH, SW, PH, PW)
    (1, 1, 4, 4, 2, 2, 1, 1, 0, 0),
    (2, 3, 5, 5, 3, 3, 1, 1, 1, 1),
    (2, 2, 7, 5, 3, 2, 2, 1, 1, 0),
    (3, 2, 6, 8, 2, 3, 2, 3, 0, 2),
    (1, 4, 5, 6, 5, 6, 1, 1, 2, 0),
]


def naive_im2col(x, KH, KW, SH, SW, PH, PW):
    N, C, H, W = x.shape
    xp = np.zeros((N, C, H + 2 * PH, W + 2 * PW), x.dtype)
    xp[:, :, PH:PH + H, PW:PW + W] = x
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    cols = np.empty((C * KH * KW, N * OH * OW), x.dtype)
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                patch = xp[n, :, i * SH:i * SH + KH, j * SW:j * SW + KW]
                cols[:, (n * OH + i) * OW + j] = patch.ravel()
    return cols


def naive_col2im(cols, x_shape, KH, KW, SH, SW, PH, PW):
    N, C, H, W = x_shape
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    dxp = np.zeros((N, C, H + 2 * PH, W + 2 * PW), cols.dtype)
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                patch = cols[:, (n * OH + i) * OW + j].reshape(C, KH, KW)
                dxp[n, :, i * SH:i * SH + KH, j * SW:j * SW + KW] += patch
    return dxp[:, :, PH:PH + H, PW:PW + W]


def chwn_padded(x, PH, PW):
    N, C, H, W = x.shape
    return pad_chwn(x, PH, PW, np.zeros((C, H + 2 * PH, W + 2 * PW, N), x.dtype))


@pytest.mark.parametrize("case", CASES)
def test_row_columns_are_the_loops_columns_in_hwn_order(case):
    N, C, H, W, KH, KW, SH, SW, PH, PW = case
    x = np.random.default_rng(3).standard_normal((N, C, H, W))
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    xp = chwn_padded(x, PH, PW)
    # the loops order columns (n, oh, ow); the row kernel orders them (oh, ow, n)
    expected = naive_im2col(x, KH, KW, SH, SW, PH, PW).reshape(-1, N, OH, OW).transpose(0, 2, 3, 1)
    for r0, r1 in [(0, OH), (0, 1), (OH - 1, OH), (OH // 2, OH)]:
        cols = im2col_rows(xp, KH, KW, SH, SW, OH, OW, (r0, r1),
                           np.empty((C * KH * KW, (r1 - r0) * OW * N)))
        np.testing.assert_array_equal(cols, expected[:, r0:r1].reshape(C * KH * KW, -1))


@pytest.mark.parametrize("case", CASES)
def test_row_col2im_is_the_adjoint_of_row_im2col(case):
    N, C, H, W, KH, KW, SH, SW, PH, PW = case
    rng = np.random.default_rng(4)
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    xp = rng.standard_normal((C, H + 2 * PH, W + 2 * PW, N))
    spans = [(0, OH // 2), (OH // 2, OH)] if OH > 1 else [(0, 1)]
    dxp = np.zeros_like(xp)
    total = 0.0
    for rows in spans:  # chunk by chunk, as the conv layer runs it
        width = (rows[1] - rows[0]) * OW * N
        cols = rng.standard_normal((C * KH * KW, width))
        total += np.vdot(im2col_rows(xp, KH, KW, SH, SW, OH, OW, rows, np.empty_like(cols)), cols)
        col2im_rows_add(cols, dxp, KH, KW, SH, SW, OW, rows)
    assert np.isclose(total, np.vdot(xp, dxp))


@pytest.mark.parametrize("case", CASES)
def test_row_col2im_matches_loops(case):
    N, C, H, W, KH, KW, SH, SW, PH, PW = case
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    cols = np.random.default_rng(5).standard_normal((C * KH * KW, OH * OW * N))
    dxp = np.zeros((C, H + 2 * PH, W + 2 * PW, N))
    col2im_rows_add(cols, dxp, KH, KW, SH, SW, OW, (0, OH))
    in_loop_order = cols.reshape(-1, OH, OW, N).transpose(0, 3, 1, 2).reshape(C * KH * KW, -1)
    np.testing.assert_allclose(dxp[:, PH:PH + H, PW:PW + W].transpose(3, 0, 1, 2),
                               naive_col2im(in_loop_order, (N, C, H, W), KH, KW, SH, SW, PH, PW),
                               atol=1e-12)
