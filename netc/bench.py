"""Benchmarks: a plan -> training and inference throughput, GFLOP/s, peak RSS.

Inputs are synthetic uint8 images with random labels, a few distinct batches
cycled: the runtime sees what training sees (uint8 pixels converted per batch),
and random labels keep the loss from collapsing to zero, so no round measures a
degenerate, easy or denormal-laden step. Results are medians of timed rounds.
"""
from __future__ import annotations

import contextlib
import platform
import resource
import statistics
import sys
import time

import numpy as np

from netc.errors import NetcError
from netc.runtime import lanes
from netc.runtime.budget import check_memory
from netc.runtime.losses import LOSSES
from netc.runtime.setup import TrainingSetup

DISTINCT_BATCHES = 8


def thread_limit(threads: int | None):
    """A context holding the BLAS at `threads` threads (threadpoolctl), or a no-op."""
    if threads is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise NetcError("--threads needs threadpoolctl (pip install threadpoolctl); "
                        "or set OPENBLAS_NUM_THREADS before starting netc") from None
    return threadpool_limits(limits=threads, user_api="blas")


def blas_info() -> dict:
    """Which BLAS runs and with what kernel (threadpoolctl), as far as known."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {}
    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            return {key: lib.get(key) for key in ("internal_api", "version", "architecture", "num_threads")}
    return {}


def synthetic_batches(plan: dict, batch: int, seed: int = 0):
    """DISTINCT_BATCHES (uint8 images, targets) pairs shaped for `plan`: class
    indices for cross-entropy, real values shaped like the output for mse."""
    rng = np.random.default_rng(seed)
    classes = int(np.prod(plan["output_shape"]))

    def targets():
        if plan.get("loss") == "cross_entropy":
            return rng.integers(0, classes, batch)
        return rng.random((batch, *plan["output_shape"]), dtype=np.float32)
    return [(rng.integers(0, 256, (batch, *plan["input_shape"]), dtype=np.uint8), targets())
            for _ in range(DISTINCT_BATCHES)]


def _rounds(step, batches, iters: int, rounds: int, warmup: int) -> list[float]:
    """Images per second of each timed round of `iters` steps, after `warmup` steps."""
    for i in range(warmup):
        step(*batches[i % len(batches)])
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        for i in range(iters):
            step(*batches[i % len(batches)])
        rates.append(iters * len(batches[0][0]) / (time.perf_counter() - started))
    return rates


class Runner:
    """A network and optimizer from `plan`, with train and infer step callables."""

    def __init__(self, plan: dict, batch: int, seed: int = 0):
        if plan.get("loss") is None:
            raise NetcError(f"network {plan.get('name', '')!r} has no loss: nothing to train")
        self.plan, self.batch = plan, batch
        check_memory(plan, batch, training=True)
        setup = TrainingSetup(plan, seed=seed)
        self.network, self.optimizer = setup.network, setup.optimizer
        self.batches = synthetic_batches(plan, batch, seed)

    def train(self, x, t):
        self.network.train_step(x, t, self.optimizer)

    def infer(self, x, t):
        self.network.forward(x)


def run(plan: dict, batch: int = 100, iters: int = 20, rounds: int = 5, warmup: int = 5,
        threads: int | None = None, seed: int = 0) -> dict:
    """Benchmark one plan; returns a JSON-ready dict (see `netc bench --help`)."""
    started = time.perf_counter()
    runner = Runner(plan, batch, seed)
    with thread_limit(threads), np.errstate(over="ignore", invalid="ignore"):
        # The first steps import, compile or load from cache the compiled kernels
        # (numba, when the plan has them): timed apart from the rounds.
        runner.train(*runner.batches[0])
        runner.infer(*runner.batches[0])
        first_steps = time.perf_counter() - started
        train = _rounds(runner.train, runner.batches, iters, rounds, warmup)
        infer = _rounds(runner.infer, runner.batches, iters, rounds, warmup)
        lane_count = runner.network.lane_count(batch)
        blas = blas_info()
    flops = float(plan.get("total_flops") or 0)
    train_rate, infer_rate = statistics.median(train), statistics.median(infer)
    return {
        "name": plan.get("name"), "batch": batch, "iters": iters, "rounds": rounds,
        "threads": threads if threads is not None else blas.get("num_threads"),
        "lanes": lane_count,
        "train_images_per_s": round(train_rate, 1),
        "infer_images_per_s": round(infer_rate, 1),
        "train_ms_per_step": round(1e3 * batch / train_rate, 3),
        # setup, first training and inference step; less one of each in the steady state
        "first_steps_s": round(first_steps, 3),
        "compile_s": round(max(0.0, first_steps - batch / train_rate - batch / infer_rate), 3),
        "train_rounds": [round(r, 1) for r in train],
        "infer_rounds": [round(r, 1) for r in infer],
        "flops_per_image": flops,
        # a training step costs about 3 forwards: forward, input and weight gradients
        "gflops": round(3 * flops * train_rate / 1e9, 2),
        "infer_gflops": round(flops * infer_rate / 1e9, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "blas": blas,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def layer_times(plan: dict, batch: int = 100, iters: int = 10, warmup: int = 3,
                threads: int | None = None, seed: int = 0) -> list[dict]:
    """Median forward and backward milliseconds of each step in a training step
    of one lane (the batch unsplit, so each layer's time is its own)."""
    runner = Runner(plan, batch, seed)
    network = runner.network
    stop = len(network.loss_layers())
    loss = LOSSES[network.loss_name]
    samples: dict[tuple[int, str], list[float]] = {}

    def record(index, phase, seconds):
        samples.setdefault((index, phase), []).append(seconds)

    with thread_limit(threads), np.errstate(over="ignore", invalid="ignore"):
        for i in range(warmup + iters):
            x, t = runner.batches[i % len(runner.batches)]
            out = network.graph.forward(network.prepare(x), network.layers, True, stop, on_step=record)
            _, dout = loss(out, t)
            network.graph.backward(dout, network.layers, stop, on_step=record)

    def median_ms(index, phase):
        times = samples.get((index, phase), [])[warmup:]
        return round(1e3 * statistics.median(times), 3) if times else 0.0
    return [{"index": index, "op": layer.op, "kernel": layer.step.get("kernel"),
             "forward_ms": median_ms(index, "forward"), "backward_ms": median_ms(index, "backward")}
            for index, layer in enumerate(network.layers[:stop])]


def format_layers(rows: list[dict], batch: int) -> str:
    """The per-layer table of layer_times(), its columns as wide as their longest entry."""
    total = sum(r["forward_ms"] + r["backward_ms"] for r in rows) or 1.0
    op_width = max([len("layer"), len("total")] + [len(r["op"]) for r in rows])
    kernel_width = max([len("kernel")] + [len(r["kernel"] or "") for r in rows])
    lines = [f"one lane of {batch} images, ms per training step:",
             f"{'#':>4}  {'layer':<{op_width}} {'kernel':<{kernel_width}} {'forward':>8} {'backward':>9} "
             f"{'share':>6}"]
    for r in rows:
        share = (r["forward_ms"] + r["backward_ms"]) / total
        lines.append(f"{r['index']:>4}  {r['op']:<{op_width}} {r['kernel'] or '':<{kernel_width}} "
                     f"{r['forward_ms']:>8.3f} {r['backward_ms']:>9.3f} {share:>6.1%}")
    forward, backward = (sum(r[k] for r in rows) for k in ("forward_ms", "backward_ms"))
    lines.append(f"{'':>4}  {'total':<{op_width}} {'':<{kernel_width}} {forward:>8.3f} {backward:>9.3f}")
    return "\n".join(lines)


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def format_result(result: dict) -> str:
    """The human-readable report of run()'s result."""
    blas = result.get("blas") or {}
    return "\n".join([
        f"{result['name']}: batch {result['batch']}, {result['threads'] or '?'} BLAS threads, "
        f"{result['lanes']} lane(s); {blas.get('internal_api', '?')} {blas.get('architecture', '')}",
        f"  train  {result['train_images_per_s']:>10,.0f} images/s  "
        f"({result['train_ms_per_step']:.2f} ms/step, {result['gflops']:.1f} GFLOP/s)",
        f"  infer  {result['infer_images_per_s']:>10,.0f} images/s  ({result['infer_gflops']:.1f} GFLOP/s)",
        f"  first  {result['first_steps_s']:>10.2f} s for the network and its first steps "
        f"(compiling or loading kernels: {result['compile_s']:.2f} s)",
        f"  peak RSS {result['peak_rss_mb']:.0f} MiB",
    ])


__all__ = ["run", "format_result", "layer_times", "format_layers", "thread_limit", "blas_info",
           "peak_rss_mb", "lanes"]
