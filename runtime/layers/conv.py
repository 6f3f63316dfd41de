"""Runtime layers: 2-D convolution, as im2col + one matmul or by Winograd (NCHW in and out)."""
from __future__ import annotations

import numpy as np

from netc.compiler.kernels import conv_chunk, winograd_fits

from .. import winograd
from ..im2col import col2im_add, im2col
from .base import Layer, LayerError

KERNELS = ("im2col", "winograd")


def chunk_rows(step: dict) -> int:
    """Images per im2col chunk: the plan's choice (older plans: the compiler's rule)."""
    if step.get("chunk"):
        return int(step["chunk"])
    return conv_chunk(step)


class Conv(Layer):
    """(N, C, H, W) -> (N, F, OH, OW); W is (F, C, KH, KW), b is (F,).

    The batch runs in chunks of `chunk` images. im2col: each chunk's columns
    are built, multiplied and dropped while still in cache, and rebuilt in
    backward, which costs less than streaming a batch-sized column matrix
    through memory 3 times. winograd (3x3, stride 1, pad <= 2; see
    runtime/winograd.py): the forward keeps each chunk's input tiles for the
    weight gradient, and the input gradient is itself a Winograd conv.
    """

    op = "conv"

    def __init__(self, step, dtype=np.float32, rng=None):
        super().__init__(step, dtype, rng)
        self.KH, self.KW = self.options["kernel"]
        self.SH, self.SW = self.options["stride"]
        self.PH, self.PW = self.options["pad"]
        self.chunk = chunk_rows(step)
        self.kernel = step.get("kernel") or "im2col"
        if self.kernel not in KERNELS:
            raise LayerError(f"conv: unknown kernel {self.kernel!r}; known: {', '.join(KERNELS)}")
        if self.kernel == "winograd" and not winograd_fits(self.options):
            raise LayerError(f"conv: the winograd kernel needs a 3x3 kernel, stride 1 and "
                             f"pad <= 2, not {self.options}")
        self._x = None
        self._tiles = None  # winograd: each chunk's input tiles, kept for backward
        self._scratch = winograd.Scratch()

    def _spans(self, N):
        return [(lo, min(lo + self.chunk, N)) for lo in range(0, N, self.chunk)]

    def _cols(self, x, lo, hi):
        """im2col of images [lo, hi) into the reused chunk buffer."""
        C = self.input_shape[0]
        _, OH, OW = self.output_shape
        rows = min(self.chunk, len(x))
        out = self.buffer((C * self.KH * self.KW, rows * OH * OW))
        if hi - lo < rows:  # a short last chunk needs a contiguous buffer of its own
            out = np.empty((C * self.KH * self.KW, (hi - lo) * OH * OW), self.dtype)
        return im2col(x[lo:hi], self.KH, self.KW, self.SH, self.SW, self.PH, self.PW, out=out)

    def forward(self, x, train=False):
        if self.kernel == "winograd":
            return self._winograd_forward(x, train)
        N = x.shape[0]
        F, OH, OW = self.output_shape
        P = OH * OW
        Wm = self.params["W"].reshape(F, -1)
        y = np.empty((F, N * P), self.dtype)  # channel-major: one matmul per chunk writes a column block
        for lo, hi in self._spans(N):
            np.matmul(Wm, self._cols(x, lo, hi), out=y[:, lo * P:hi * P])
        y += self.params["b"][:, None]
        self._x = x if train else None
        # An NCHW view of channel-major memory; the next im2col reads it as is.
        return y.reshape(F, N, OH, OW).transpose(1, 0, 2, 3)

    def backward(self, dout):
        if self.kernel == "winograd":
            return self._winograd_backward(dout)
        x = self._x
        N, C, H, W = x.shape
        F, OH, OW = self.output_shape
        P = OH * OW
        Wm = self.params["W"].reshape(F, -1)
        d = dout.transpose(1, 0, 2, 3).reshape(F, -1)  # free when dout is channel-major
        np.sum(d, axis=1, out=self.grads["b"])
        gW = self.grads["W"].reshape(F, -1)
        gW.fill(0)
        # dW^T = cols @ d^T: OpenBLAS runs this orientation ~2x faster than
        # d @ cols^T when F is small (measured for 16 and 32 filters).
        partial = np.empty(gW.shape[::-1], self.dtype)
        dxp = None
        if self.input_grad:
            dxp = np.zeros((C, N, H + 2 * self.PH, W + 2 * self.PW), self.dtype)
        for lo, hi in self._spans(N):
            cols = self._cols(x, lo, hi)
            dk = d[:, lo * P:hi * P]
            np.matmul(cols, dk.T, out=partial)
            gW += partial.T
            if dxp is not None:
                # cols is no longer needed: its buffer takes the column gradient
                dcols = np.matmul(Wm.T, dk, out=cols)
                col2im_add(dcols, dxp[:, lo:hi], self.KH, self.KW, self.SH, self.SW)
        if dxp is None:
            return None
        return dxp[:, :, self.PH:self.PH + H, self.PW:self.PW + W].transpose(1, 0, 2, 3)

    def _winograd_forward(self, x, train):
        F, OH, OW = self.output_shape
        y = np.empty((OH, OW, len(x), F), self.dtype)  # HWNC: see runtime/winograd.py
        tiles = winograd.conv(x, winograd.weight_transform(self.params["W"]), self.PH, self.PW,
                              y, self.chunk, self._scratch, b=self.params["b"],
                              keep="kept" if train else None)
        self._tiles = tiles if train else None
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
        # dW through the transforms: dU[k] = V[k]^T dM[k], tiles of the forward reused
        dU = np.zeros((16, C, F), self.dtype)
        partial = np.empty_like(dU)
        for (lo, hi), V in zip(self._spans(N), self._tiles):
            dM = winograd.output_tiles_adjoint(dy[:, :, lo:hi], TH, TW, self._scratch)
            dU += np.matmul(V.transpose(0, 2, 1), dM, out=partial)
        self.grads["W"][...] = winograd.weight_transform_adjoint(dU)
        if not self.input_grad:
            return None
        dx = np.empty((H, W, N, C), self.dtype)
        U = winograd.weight_transform(winograd.flipped(self.params["W"]))
        winograd.conv(dout, U, 2 - self.PH, 2 - self.PW, dx, self.chunk, self._scratch)
        return dx.transpose(2, 3, 0, 1)

