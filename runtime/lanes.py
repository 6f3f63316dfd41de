"""Runtime data parallelism: one batch split into row ranges ("lanes"), each run
by a worker thread through its own copy of the layers, BLAS single-threaded.

Why: NumPy's elementwise work (im2col copies, ReLU, pooling, bias) runs on one
core, and a multithreaded BLAS spins while it waits for it. Splitting the batch
keeps every core busy for the whole step. NumPy releases the GIL inside its
loops and BLAS calls, so plain threads run the lanes side by side.

Lanes need threadpoolctl (to hold BLAS at one thread while they run); without
it, or with one BLAS thread, the network runs as a single lane.
"""
from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor, wait
from functools import partial

import numpy  # noqa: F401 - loads the BLAS before _blas() scans for it (the scan is cached)

MIN_LANE_ROWS = 8          # fewer rows per lane and thread hand-offs cost more than they save
# Forward FLOPs per batch below which one lane is faster (measured, 2 threads:
# simpleconv at batch 16, 28 MFLOP, ran 1.27x faster in one lane; at 32, 56
# MFLOP, the two tied; deepconv at batch 16, 282 MFLOP, gained 1.2x from lanes).
MIN_STEP_FLOPS = 40e6

_controller = None         # threadpoolctl.ThreadpoolController, built once (it scans loaded libs)
_executor: ThreadPoolExecutor | None = None


def _blas():
    """The BLAS part of a cached ThreadpoolController, or None without threadpoolctl."""
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _controller = False
        else:
            _controller = ThreadpoolController()
    if not _controller:
        return None
    blas = _controller.select(user_api="blas")
    return blas if blas.lib_controllers else None


def blas_threads() -> int:
    """Threads the BLAS would use now (1 when unknown)."""
    blas = _blas()
    if blas is None:
        return 1
    return max(c.num_threads for c in blas.lib_controllers)


def lane_count(rows: int, flops_per_row: float) -> int:
    """How many lanes a batch of `rows` gets: one per BLAS thread, if it pays."""
    threads = blas_threads()
    if threads < 2 or rows * flops_per_row < MIN_STEP_FLOPS:
        return 1
    return max(1, min(threads, rows // MIN_LANE_ROWS))


def bounds(rows: int, lanes: int) -> list[tuple[int, int]]:
    """Contiguous row ranges, as equal as possible, in order."""
    edges = [rows * k // lanes for k in range(lanes + 1)]
    return list(zip(edges[:-1], edges[1:]))


def run(tasks) -> list:
    """Run callables concurrently, the first on this thread, BLAS held at one
    thread meanwhile; results in order. Each worker sees the caller's context
    (so np.errstate set by the caller applies there too)."""
    global _executor
    if len(tasks) == 1:
        return [tasks[0]()]
    if _executor is None or _executor._max_workers < len(tasks) - 1:
        _executor = ThreadPoolExecutor(max_workers=len(tasks) - 1, thread_name_prefix="netc-lane")
    blas = _blas()
    with blas.limit(limits=1):
        futures = [_executor.submit(contextvars.copy_context().run, task) for task in tasks[1:]]
        try:
            first = tasks[0]()
        finally:
            wait(futures)  # never leave a lane running on arrays the caller reuses
        return [first] + [future.result() for future in futures]


class Lanes:
    """The lane strategy of one network: its layer copies for lanes 1, 2, ...
    (sharing the parameters), the random masks drawn for the whole batch, and
    the batch gradient summed from the lanes' gradients. The network asks it
    to run forward and backward; with one lane it runs them as they are."""

    def __init__(self, graph, layers, copy_layer, flops_per_row: float, splittable: bool,
                 batch_statistics: bool = False):
        self.graph, self.layers, self.copy_layer = graph, layers, copy_layer
        self.flops_per_row = flops_per_row
        self.splittable = splittable     # every layer's rows independent
        self.batch_statistics = batch_statistics   # some layer trains on the whole batch's statistics
        self.replicas: list[list] = []
        self._used: list[list] = [layers]

    def count(self, rows: int, train: bool = False) -> int:
        """How many lanes a batch of `rows` runs in: one to train a network whose
        batch norm needs the whole batch's statistics."""
        if not self.splittable or (train and self.batch_statistics):
            return 1
        return lane_count(rows, self.flops_per_row)

    def _for(self, rows: int, train: bool) -> list[list]:
        count = self.count(rows, train)
        while len(self.replicas) < count - 1:
            copies = [self.copy_layer(layer) for layer in self.layers]
            for copy, layer in zip(copies, self.layers):
                copy.params = layer.params   # shared, so optimizer updates reach every lane
            self.replicas.append(copies)
        return [self.layers] + self.replicas[:count - 1]

    def forward(self, x, stop: int, train: bool):
        """Steps [0, stop) over x, its rows split across the lanes."""
        self._used = self._for(len(x), train)
        if len(self._used) == 1:
            return self.graph.forward(x, self.layers, train, stop)
        spans = bounds(len(x), len(self._used))
        if train:
            # Random masks for the whole batch, drawn here in step order: the
            # numbers one lane would draw, whatever the lane count.
            for index, layer in enumerate(self.layers[:stop]):
                if layer.random:
                    full = layer.draw_mask((len(x), *layer.input_shape))
                    for layers, (lo, hi) in zip(self._used, spans):
                        layers[index].preset_mask = full[lo:hi]
        outs = run([partial(self.graph.forward, x[lo:hi], layers, train, stop)
                    for layers, (lo, hi) in zip(self._used, spans)])
        return numpy.concatenate(outs)

    def backward(self, dout, stop: int) -> None:
        """Back through the lanes of the last forward; the batch gradient, their
        sum, ends in the network's own layers."""
        spans = bounds(len(dout), len(self._used))
        run([partial(self.graph.backward, dout[lo:hi], layers, stop)
             for layers, (lo, hi) in zip(self._used, spans)])
        for replica in self._used[1:]:
            for layer, copy in zip(self.layers, replica):
                for name, grad in layer.grads.items():
                    grad += copy.grads[name]
