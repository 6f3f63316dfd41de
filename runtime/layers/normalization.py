"""Runtime layers: batch normalisation, per channel for images, per unit for vectors."""
from __future__ import annotations

import numpy as np

from .. import fast
from .base import Layer, register, register_kernel


@register
class BatchNorm(Layer):
    """(N, C, H, W) or (N, D) -> same; gamma, beta, running stats are (C,) or (D,)."""

    op = "batchnorm"
    batch_statistics = True  # training: over the whole batch; inference rows are independent

    def __init__(self, step, dtype=np.float32, rng=None):
        super().__init__(step, dtype, rng)
        self.params["gamma"].fill(1)
        self.state["running_var"].fill(1)
        self.momentum = float(self.options["momentum"])
        self.eps = self.scalar(self.options["eps"])
        # statistics over the batch and every axis after the channel one
        self._axes = (0,) + tuple(range(2, len(self.input_shape) + 1))
        self._bshape = (-1,) + (1,) * (len(self.input_shape) - 1)
        self._saved = None

    def _b(self, v):
        return v.reshape(self._bshape)

    def forward(self, x, train=False):
        gamma, beta = self.params["gamma"], self.params["beta"]
        if not train:
            # y = gamma * (x - mean) / std + beta, folded into one scale and shift
            scale = gamma / np.sqrt(self.state["running_var"] + self.eps)
            shift = beta - self.state["running_mean"] * scale
            self._saved = None
            y = x * self._b(scale)
            y += self._b(shift)
            return y
        mean = x.mean(axis=self._axes)
        xc = x - self._b(mean)
        var = np.mean(xc * xc, axis=self._axes)
        inv_std = 1 / np.sqrt(var + self.eps)
        xhat = xc * self._b(inv_std)
        self._update_running(mean, var)
        self._saved = (xhat, inv_std)
        y = xhat * self._b(gamma)
        y += self._b(beta)
        return y

    def _update_running(self, mean, var):
        m = self.scalar(self.momentum)
        for name, batch in (("running_mean", mean), ("running_var", var)):
            running = self.state[name]
            running *= m
            running += (1 - m) * batch

    def backward(self, dout):
        if self._saved is None:
            raise RuntimeError("batchnorm: backward needs a forward with train=True")
        xhat, inv_std = self._saved
        np.sum(dout, axis=self._axes, out=self.grads["beta"])
        np.sum(dout * xhat, axis=self._axes, out=self.grads["gamma"])
        if not self.input_grad:
            return None
        count = self.dtype.type(dout.size // self.params["gamma"].size)
        # dx = gamma/std * (dout - mean(dout) - xhat * mean(dout * xhat))
        dx = xhat * self._b(self.grads["gamma"] / count)
        dx += self._b(self.grads["beta"] / count)
        np.subtract(dout, dx, out=dx)
        dx *= self._b(self.params["gamma"] * inv_std)
        return dx


@register_kernel("batchnorm", "channels")
class ChannelsLastBatchNorm(BatchNorm):
    """Batch norm of an image batch on its (N*H*W, C) matrix, channels last.

    A conv's output is HWNC in memory, so x.transpose(2, 3, 0, 1) is that
    matrix for free; the per-channel sums are then matrix-vector products
    (BLAS) and every elementwise pass runs over contiguous rows, where the
    reference kernel reduces a strided 4-D view axis by axis. The output keeps
    the HWNC layout, the one the next conv and pool run fastest on.
    """

    def _matrix(self, a):
        """(N, C, H, W) -> the contiguous (H*W*N, C) matrix and its HWNC shape."""
        hwnc = np.ascontiguousarray(a.transpose(2, 3, 0, 1))   # a copy only when a is not HWNC
        return hwnc.reshape(-1, hwnc.shape[3]), hwnc.shape

    def _image(self, m, shape):
        return m.reshape(shape).transpose(2, 3, 0, 1)

    def forward(self, x, train=False):
        X, shape = self._matrix(x)
        gamma, beta = self.params["gamma"], self.params["beta"]
        if not train:
            scale = gamma / np.sqrt(self.state["running_var"] + self.eps)
            y = X * scale
            y += beta - self.state["running_mean"] * scale
            self._saved = None
            return self._image(y, shape)
        ones = np.ones(len(X), self.dtype)
        count = self.dtype.type(len(X))
        mean = ones @ X / count
        xc = X - mean
        var = ones @ (xc * xc) / count
        inv_std = 1 / np.sqrt(var + self.eps)
        xc *= inv_std                       # xc is x-hat from here on
        self._update_running(mean, var)
        self._saved = (xc, inv_std, ones)
        y = xc * gamma
        y += beta
        return self._image(y, shape)

    def backward(self, dout):
        if self._saved is None:
            raise RuntimeError("batchnorm: backward needs a forward with train=True")
        xhat, inv_std, ones = self._saved
        D, shape = self._matrix(dout)
        np.matmul(ones, D, out=self.grads["beta"])
        np.matmul(ones, D * xhat, out=self.grads["gamma"])
        if not self.input_grad:
            return None
        count = self.dtype.type(len(D))
        # dx = gamma/std * (dout - mean(dout) - xhat * mean(dout * xhat))
        dx = xhat * (self.grads["gamma"] / count)
        dx += self.grads["beta"] / count
        np.subtract(D, dx, out=dx)
        dx *= self.params["gamma"] * inv_std
        return self._image(dx, shape)


@register_kernel("batchnorm", "numba-channels")
class CompiledChannelsBatchNorm(ChannelsLastBatchNorm):
    """The `channels` kernel's matrix with compiled passes (runtime/fast/batchnorm.py)."""

    def __init__(self, step, dtype=np.float32, rng=None):
        super().__init__(step, dtype, rng)
        self._fast = fast.load("batchnorm", "numba-channels")

    def forward(self, x, train=False):
        X, shape = self._matrix(x)
        gamma, beta = self.params["gamma"], self.params["beta"]
        y = np.empty_like(X)
        if not train:
            scale = gamma / np.sqrt(self.state["running_var"] + self.eps)
            self._fast.scale_shift(X, scale, beta - self.state["running_mean"] * scale, y)
            self._saved = None
            return self._image(y, shape)
        C = X.shape[1]
        mean, var = np.empty(C, self.dtype), np.empty(C, self.dtype)
        self._fast.statistics(X, mean, var)
        inv_std = 1 / np.sqrt(var + self.eps)
        xhat = np.empty_like(X)
        self._fast.normalize(X, mean, inv_std, gamma, beta, xhat, y)
        self._update_running(mean, var)
        self._saved = (xhat, inv_std)
        return self._image(y, shape)

    def backward(self, dout):
        if self._saved is None:
            raise RuntimeError("batchnorm: backward needs a forward with train=True")
        xhat, inv_std = self._saved
        D, shape = self._matrix(dout)
        self._fast.parameter_gradients(D, xhat, self.grads["gamma"], self.grads["beta"])
        if not self.input_grad:
            return None
        count = self.dtype.type(len(D))
        dx = np.empty_like(D)
        self._fast.input_gradient(D, xhat, self.grads["gamma"] / count, self.grads["beta"] / count,
                                  self.params["gamma"] * inv_std, dx)
        return self._image(dx, shape)
