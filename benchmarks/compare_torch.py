"""netc against PyTorch on the same architectures, batch and thread count.

Builds a PyTorch model from each netc plan (same layers, Adam with the plan's
rate, float32, cross-entropy on logits), then times training steps and
inference in alternating rounds (netc, PyTorch, netc, ...) in this one process,
so both see the same machine load. Prints medians and netc/PyTorch ratios.

    python benchmarks/compare_torch.py models/simpleconv.net models/deepconv.net \
        --batch 100 --threads 2 [--json]

PyTorch is never a dependency of netc: `pip install torch==2.13.0` for this script.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import numpy as np

import netc
from netc.bench import Runner, blas_info, thread_limit


def torch_model(plan, torch):
    """The plan's layers as a torch.nn.Sequential (softmax left to the loss)."""
    nn, layers = torch.nn, []
    for step in plan["layers"]:
        op, o, shape = step["op"], step["options"], step["input_shape"]
        if op == "conv":
            layers.append(nn.Conv2d(shape[0], o["filters"], o["kernel"], o["stride"], o["pad"]))
        elif op == "maxpool":
            layers.append(nn.MaxPool2d(o["window"], o["stride"], o["pad"]))
        elif op == "avgpool":
            layers.append(nn.AvgPool2d(o["window"], o["stride"], o["pad"], count_include_pad=True))
        elif op == "affine":
            layers += [nn.Flatten()] if len(shape) > 1 else []
            layers.append(nn.Linear(math.prod(shape), o["units"]))
        elif op == "flatten":
            layers.append(nn.Flatten())
        elif op == "dropout":
            layers.append(nn.Dropout(o["ratio"]))
        elif op in ("relu", "sigmoid", "tanh"):
            layers.append({"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[op]())
        elif op != "softmax":
            raise SystemExit(f"compare_torch: no PyTorch translation for {op!r}")
    return nn.Sequential(*layers)


class TorchRunner:
    def __init__(self, plan, batches, torch):
        self.torch = torch
        self.model = torch_model(plan, torch)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=plan["optimizer"]["lr"])
        self.loss = torch.nn.CrossEntropyLoss()
        # uint8 -> float32 / 255 per batch, as netc does
        self.batches = [(torch.from_numpy(x), torch.from_numpy(t.astype(np.int64))) for x, t in batches]

    def train(self, x, t):
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(self.model(x.float() / 255), t)
        loss.backward()
        self.optimizer.step()

    def infer(self, x, t):
        self.model.eval()
        with self.torch.inference_mode():
            self.torch.softmax(self.model(x.float() / 255), dim=1)


def timed_round(step, batches, iters):
    started = time.perf_counter()
    for i in range(iters):
        step(*batches[i % len(batches)])
    return iters * len(batches[0][0]) / (time.perf_counter() - started)


def compare(path, batch, threads, iters, rounds, warmup, torch):
    plan = netc.load(path).data
    ours = Runner(plan, batch)
    theirs = TorchRunner(plan, ours.batches, torch)
    torch.set_num_threads(threads)
    result = {"model": plan["name"], "batch": batch, "threads": threads}
    with thread_limit(threads), np.errstate(over="ignore", invalid="ignore"):
        for mode in ("train", "infer"):
            pair = ((ours, getattr(ours, mode), ours.batches), (theirs, getattr(theirs, mode), theirs.batches))
            for _, step, batches in pair:
                for i in range(warmup):
                    step(*batches[i % len(batches)])
            rates = ([], [])
            for _ in range(rounds):  # alternate, so both see the same load
                for k, (_, step, batches) in enumerate(pair):
                    rates[k].append(timed_round(step, batches, iters))
            result[f"{mode}_netc"] = round(statistics.median(rates[0]), 1)
            result[f"{mode}_torch"] = round(statistics.median(rates[1]), 1)
            result[f"{mode}_ratio"] = round(result[f"{mode}_netc"] / result[f"{mode}_torch"], 3)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--batch", type=int, nargs="+", default=[100])
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        raise SystemExit("compare_torch: PyTorch is not installed (pip install torch==2.13.0)")
    print(f"# torch {torch.__version__}, numpy {np.__version__}, BLAS {blas_info()}", flush=True)
    if not args.json:
        print("| model | batch | threads | train netc | train torch | ratio | infer netc | infer torch | ratio |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for path in args.models:
        for threads in args.threads:
            for batch in args.batch:
                r = compare(path, batch, threads, args.iters, args.rounds, args.warmup, torch)
                print(json.dumps(r) if args.json else
                      f"| {r['model']} | {batch} | {threads} | {r['train_netc']:,.0f} | {r['train_torch']:,.0f} | "
                      f"{r['train_ratio']:.2f}x | {r['infer_netc']:,.0f} | {r['infer_torch']:,.0f} | "
                      f"{r['infer_ratio']:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
