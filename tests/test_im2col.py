"""im2col / col2im against naive loops."""
import numpy as np
import pytest

from netc.runtime.im2col import col2im, col2im_rows_add, im2col, im2col_rows, pad_chwn

CASES = [  # (N, C, H, W, KH, KW, SH, SW, PH, PW)
    (1, 1, 4, 4, 2, 2, 1, 1, 0, 0),
    (2, 3, 5, 5, 3, 3, 1, 1, 1, 1),
    (2, 2, 7, 5, 3, 2, 2, 1, 1, 0),
    (3, 2, 6, 8, 2, 3, 2, 3, 0, 2),
    (1, 4, 5, 6, 5, 6, 1, 1, 2, 0),
]


def naive_im2col(x, KH, KW, SH, SW, PH, PW, pad_value=0.0):
    N, C, H, W = x.shape
    xp = np.full((N, C, H + 2 * PH, W + 2 * PW), pad_value, x.dtype)
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


@pytest.mark.parametrize("case", CASES)
def test_im2col_matches_loops(case):
    N, C, H, W, *k = case
    x = np.random.default_rng(0).standard_normal((N, C, H, W)).astype(np.float32)
    np.testing.assert_array_equal(im2col(x, *k), naive_im2col(x, *k))


@pytest.mark.parametrize("case", CASES)
def test_im2col_pad_value_and_strided_input(case):
    N, C, H, W, *k = case
    # a channel-major array seen as NCHW, as conv outputs are
    x = np.random.default_rng(1).standard_normal((C, N, H, W)).transpose(1, 0, 2, 3)
    np.testing.assert_array_equal(im2col(x, *k, pad_value=-np.inf),
                                  naive_im2col(x, *k, pad_value=-np.inf))


@pytest.mark.parametrize("case", CASES)
def test_col2im_matches_loops_and_is_adjoint(case):
    N, C, H, W, *k = case
    rng = np.random.default_rng(2)
    x = rng.standard_normal((N, C, H, W))
    cols = rng.standard_normal(im2col(x, *k).shape)
    dx = col2im(cols, x.shape, *k)
    np.testing.assert_allclose(dx, naive_col2im(cols, x.shape, *k), atol=1e-12)
    # <im2col(x), cols> == <x, col2im(cols)>: col2im is im2col's transpose
    assert np.isclose(np.vdot(im2col(x, *k), cols), np.vdot(x, dx))


def test_im2col_reuses_out_buffer_and_rejects_bad_one():
    x = np.ones((2, 1, 4, 4), np.float32)
    out = np.empty((4, 18), np.float32)
    assert im2col(x, 2, 2, 1, 1, 0, 0, out=out) is out
    with pytest.raises(ValueError, match="out buffer"):
        im2col(x, 2, 2, 1, 1, 0, 0, out=np.empty((4, 17), np.float32))


def test_im2col_keeps_float32():
    x = np.ones((1, 2, 5, 5), np.float32)
    assert im2col(x, 3, 3, 1, 1, 1, 1).dtype == np.float32
    assert col2im(im2col(x, 3, 3, 1, 1, 1, 1), x.shape, 3, 3, 1, 1, 1, 1).dtype == np.float32


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
