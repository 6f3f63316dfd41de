"""Runtime layers: 2-D convolution, as im2col + one matmul or by Winograd."""
from __future__ import annotations

import numpy as np

from netc.spec.kernels import conv_chunk, winograd_fits

from .. import fast, winograd
from ..im2col import col2im_rows_add, im2col_rows, pad_chwn
from ..scratch import Scratch
from .base import Layer, LayerError, register



def chunk_rows(step: dict) -> int:
    """Images per im2col chunk: the plan's choice (older plans: the compiler's rule)."""
    if step.get("chunk"):
        return int(step["chunk"])
    return conv_chunk(step)


@register
class Conv(Layer):
    """(N, C, H, W) -> (N, F, OH, OW); W is (F, C, KH, KW), b is (F,).

    Outputs are HWNC in memory (NCHW-shaped views), the layout the Winograd
    kernel, pooling and the activations run fastest on. im2col: the input is
    padded into CHWN memory once and the columns of about `chunk` images' worth
    of output rows are built, multiplied and dropped while still in cache (and
    rebuilt in backward, which costs less than streaming a batch-sized column
    matrix through memory 3 times). winograd (3x3, stride 1, pad <= 2; see
    runtime/winograd.py): chunks of `chunk` images; the forward keeps each
    chunk's input tiles for the weight gradient, and the input gradient goes
    back through the same transforms from the weight gradient's dM.
    """

    op = "conv"
    kernels = ("im2col", "winograd", "numba-winograd", "numba-winograd4")

    def __init__(self, step, dtype=np.float32, rng=None):
        super().__init__(step, dtype, rng)
        self.KH, self.KW = self.options["kernel"]
        self.SH, self.SW = self.options["stride"]
        self.PH, self.PW = self.options["pad"]
        self.chunk = chunk_rows(step)
        self.kernel = step.get("kernel") or "im2col"
        if "winograd" in self.kernel and not winograd_fits(self.options):
            raise LayerError(f"conv: the winograd kernel needs a 3x3 kernel, stride 1 and "
                             f"pad <= 2, not {self.options}")
        self._xp = None  # im2col: the padded input, kept for backward
        self._kept_cols = None  # im2col: the forward's columns, when it built them in one chunk
        self._tiles = None  # winograd: each chunk's input tiles, kept for backward
        self._U = None  # winograd: the transformed weights of that forward
        self._scratch = Scratch()
        # The pad-2 input gradient runs winograd.conv, whose work arrays have other
        # shapes than the forward's: its own set keeps both from reallocating.
        self._grad_scratch = Scratch()
        # relu fused from the step after (see compiler/kernels.py): y * (y > 0) as
        # the relu step computes it; the output is kept for the gradient's mask
        self.relu = step.get("activation") == "relu"
        self._y = None
        self._compiled = None
        if self.kernel.startswith("numba-winograd"):
            self._compiled = fast.load("winograd", self.kernel).WinogradConv(
                self.PH, self.PW, self.chunk, self.kernel)

    def _spans(self, N):
        return [(lo, min(lo + self.chunk, N)) for lo in range(0, N, self.chunk)]

    def _row_spans(self, N):
        """im2col output-row ranges: each chunk holds about `chunk` images' worth of columns."""
        OH = self.output_shape[1]
        step = max(1, min(OH, self.chunk * OH // max(N, 1)))
        return [(r0, min(r0 + step, OH)) for r0 in range(0, OH, step)]

    def _cols(self, xp, rows):
        """im2col of output rows [r0, r1) into a reused buffer, plus a last row of ones.

        The ones row meets the bias in the forward product (y = [cols; 1]^T [W^T; b]):
        adding b to the (rows, F) output separately cost a third of the product.
        """
        C = self.input_shape[0]
        _, OH, OW = self.output_shape
        K = C * self.KH * self.KW
        out = self._scratch("cols", (K + 1, (rows[1] - rows[0]) * OW * xp.shape[3]), self.dtype)
        out[K] = 1
        im2col_rows(xp, self.KH, self.KW, self.SH, self.SW, OH, OW, rows, out[:K])
        return out

    def forward(self, x, train=False):
        if self._compiled is not None:
            y = self._compiled.forward(x, self.params["W"], self.params["b"], train, self.relu)
        else:
            y = self._winograd_forward(x, train) if self.kernel == "winograd" else self._im2col_forward(x, train)
            if self.relu:
                np.multiply(y, y > 0, out=y)
        self._y = y if train and self.relu else None
        return y

    def backward(self, dout):
        if self.relu:
            if self._y is None:
                raise RuntimeError("conv: backward needs a forward with train=True")
            dout = dout * (self._y > 0)
        if self._compiled is not None:
            return self._compiled_backward(dout)
        if self.kernel == "winograd":
            return self._winograd_backward(dout)
        return self._im2col_backward(dout)

    def _im2col_forward(self, x, train):
        N, C, H, W = x.shape
        F, OH, OW = self.output_shape
        xp = self._scratch("padded", (C, H + 2 * self.PH, W + 2 * self.PW, N), self.dtype)
        pad_chwn(x, self.PH, self.PW, xp)
        Wb = np.concatenate([self.params["W"].reshape(F, -1).T, self.params["b"][None]])
        y = np.empty((OH * OW * N, F), self.dtype)  # HWNC: rows (oh, ow, n), see im2col.py
        width = OW * N
        spans = self._row_spans(N)
        for r0, r1 in spans:
            cols = self._cols(xp, (r0, r1))
            np.matmul(cols.T, Wb, out=y[r0 * width:r1 * width])
        self._xp = xp if train else None
        # one chunk: its columns are still there for the weight gradient
        self._kept_cols = cols if train and len(spans) == 1 else None
        return y.reshape(OH, OW, N, F).transpose(2, 3, 0, 1)

    def _im2col_backward(self, dout):
        if self._xp is None:
            raise RuntimeError("conv: backward needs a forward with train=True")
        xp = self._xp
        N = dout.shape[0]
        C, H, W = self.input_shape
        F, OH, OW = self.output_shape
        dy = np.ascontiguousarray(dout.transpose(2, 3, 0, 1)).reshape(-1, F)  # free when HWNC
        np.matmul(np.ones(len(dy), self.dtype), dy, out=self.grads["b"])
        Wm = self.params["W"].reshape(F, -1)
        gWT = np.zeros(Wm.shape[::-1], self.dtype)  # (C*KH*KW, F): cols @ dy, no transposes
        partial = np.empty_like(gWT)
        dxp = np.zeros(xp.shape, self.dtype) if self.input_grad else None
        width = OW * N
        for rows in self._row_spans(N):
            kept, self._kept_cols = self._kept_cols, None
            cols = (self._cols(xp, rows) if kept is None else kept)[:-1]  # without the ones row
            dy_rows = dy[rows[0] * width:rows[1] * width]
            gWT += np.matmul(cols, dy_rows, out=partial)
            if dxp is not None:
                # cols is no longer needed: its buffer takes the column gradient
                dcols = np.matmul(Wm.T, dy_rows.T, out=cols)
                col2im_rows_add(dcols, dxp, self.KH, self.KW, self.SH, self.SW, OW, rows)
        self.grads["W"][...] = gWT.T.reshape(self.grads["W"].shape)
        if dxp is None:
            return None
        return dxp[:, self.PH:self.PH + H, self.PW:self.PW + W].transpose(3, 0, 1, 2)

    def _winograd_forward(self, x, train):
        F, OH, OW = self.output_shape
        y = np.empty((OH, OW, len(x), F), self.dtype)  # HWNC: see runtime/winograd.py
        U = winograd.weight_transform(self.params["W"])
        tiles = winograd.conv(x, U, self.PH, self.PW, y, self.chunk, self._scratch,
                              b=self.params["b"], keep="kept" if train else None)
        self._tiles, self._U = (tiles, U) if train else (None, None)
        return y.transpose(2, 3, 0, 1)

    def _winograd_backward(self, dout):
        if self._tiles is None:
            raise RuntimeError("conv: backward needs a forward with train=True")
        C, H, W = self.input_shape
        F, OH, OW = self.output_shape
        TH, TW = winograd.tile_counts(OH, OW)
        N = dout.shape[0]
        dy = dout.transpose(2, 3, 0, 1)  # (OH, OW, N, F): free when dout is HWNC
        rows = dy.reshape(-1, F)  # a copy only when dout is not HWNC
        # a matrix-vector product: ~10x faster than np.sum over three leading axes
        np.matmul(np.ones(len(rows), self.dtype), rows, out=self.grads["b"])
        # dW through the transforms: dU[k] = V[k]^T dM[k], tiles of the forward reused.
        # dx from the same dM, chunk by chunk, unless the output has more tiles than
        # the input (pad 2): then a Winograd conv of dy is cheaper.
        dU = np.zeros((16, C, F), self.dtype)
        partial = np.empty_like(dU)
        dx = np.empty((H, W, N, C), self.dtype) if self.input_grad else None
        reuse_dM = dx is not None and OH * OW <= H * W
        Ut = np.ascontiguousarray(self._U.transpose(0, 2, 1)) if reuse_dM else None
        for (lo, hi), V in zip(self._spans(N), self._tiles):
            dM = winograd.output_tiles_adjoint(dy[:, :, lo:hi], TH, TW, self._scratch)
            dU += np.matmul(V.transpose(0, 2, 1), dM, out=partial)
            if reuse_dM:
                winograd.conv_input_grad(dM, Ut, self.PH, self.PW, dx[:, :, lo:hi], self._scratch)
        self.grads["W"][...] = winograd.weight_transform_adjoint(dU)
        if dx is None:
            return None
        if not reuse_dM:
            U = winograd.weight_transform(winograd.flipped(self.params["W"]))
            winograd.conv(dout, U, 2 - self.PH, 2 - self.PW, dx, self.chunk, self._grad_scratch)
        return dx.transpose(2, 3, 0, 1)


    def _compiled_backward(self, dout):
        dx, dW, db = self._compiled.backward(dout, self.input_grad)
        self.grads["W"][...] = dW
        self.grads["b"][...] = db
        return dx
