"""netc's NumPy kernels against its compiled (Numba) ones, in one process.

Compiles each model twice (NETC_KERNELS=numpy, then auto) and times single
training and inference steps of the two networks alternately, so both see the
same machine load; prints median images/s and the ratio.

    python benchmarks/compare_kernels.py models/deepconv.net --batch 100 --threads 2
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import netc
from netc.bench import Runner, thread_limit

KERNEL_SETS = ("numpy", "auto")


def compare(path: str, batch: int, threads: int, steps: int, warmup: int) -> dict:
    runners = {}
    for kernel_set in KERNEL_SETS:
        os.environ["NETC_KERNELS"] = kernel_set
        runners[kernel_set] = Runner(netc.load(path).data, batch)
    os.environ.pop("NETC_KERNELS")
    rates = {(k, mode): [] for k in KERNEL_SETS for mode in ("train", "infer")}
    with thread_limit(threads), np.errstate(over="ignore", invalid="ignore"):
        for i in range(warmup + steps):
            for kernel_set, runner in runners.items():
                for mode in ("train", "infer"):
                    x, t = runner.batches[i % len(runner.batches)]
                    started = time.perf_counter()
                    getattr(runner, mode)(x, t)
                    if i >= warmup:
                        rates[kernel_set, mode].append(batch / (time.perf_counter() - started))
    return {(k, mode): statistics.median(r) for (k, mode), r in rates.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    print("| model | mode | numpy | numba | ratio |\n| --- | --- | ---: | ---: | ---: |")
    for path in args.models:
        r = compare(path, args.batch, args.threads, args.steps, args.warmup)
        for mode in ("train", "infer"):
            a, b = r["numpy", mode], r["auto", mode]
            print(f"| {path} | {mode} | {a:,.0f} | {b:,.0f} | {b / a:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
