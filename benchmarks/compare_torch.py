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


def _linear(nn, s, o):
    flat = [nn.Flatten()] if len(s["input_shape"]) > 1 else []
    return nn.Sequential(*flat, nn.Linear(math.prod(s["input_shape"]), o["units"]))


def _batchnorm(nn, s, o):
    # netc's momentum weighs the running value; PyTorch's weighs the batch
    norm = nn.BatchNorm2d if len(s["input_shape"]) == 3 else nn.BatchNorm1d
    return norm(s["input_shape"][0], eps=o["eps"], momentum=1 - o["momentum"])


# op -> (torch.nn, step, options) -> module; tests/test_op_table.py holds the keys
# equal to the op table's, less UNTRANSLATED.
TRANSLATIONS = {
    "conv": lambda nn, s, o: nn.Conv2d(s["input_shape"][0], o["filters"], o["kernel"], o["stride"], o["pad"]),
    "maxpool": lambda nn, s, o: nn.MaxPool2d(o["window"], o["stride"], o["pad"]),
    "avgpool": lambda nn, s, o: nn.AvgPool2d(o["window"], o["stride"], o["pad"], count_include_pad=True),
    "affine": _linear,
    "flatten": lambda nn, s, o: nn.Flatten(),
    "relu": lambda nn, s, o: nn.ReLU(),
    "sigmoid": lambda nn, s, o: nn.Sigmoid(),
    "tanh": lambda nn, s, o: nn.Tanh(),
    "leaky_relu": lambda nn, s, o: nn.LeakyReLU(o["alpha"]),
    "elu": lambda nn, s, o: nn.ELU(o["alpha"]),
    "prelu": lambda nn, s, o: nn.PReLU(s["input_shape"][0] if len(s["input_shape"]) == 3
                                       else math.prod(s["input_shape"]), o["init"]),
    "batchnorm": _batchnorm,
    "dropout": lambda nn, s, o: nn.Dropout(o["ratio"]),
    "add": lambda nn, s, o: None,       # joins are done by the graph module itself
    "concat": lambda nn, s, o: None,
    "softmax": lambda nn, s, o: nn.Identity(),   # the loss takes logits
    "identity": lambda nn, s, o: nn.Identity(),
}
UNTRANSLATED = {"step": "it has no gradient, so no network with it trains"}


def torch_model(plan, torch):
    """The plan's steps as a torch module that runs the same graph."""
    nn = torch.nn

    class Graph(nn.Module):
        def __init__(self):
            super().__init__()
            self.steps = plan["layers"]
            modules = []
            for step in self.steps:
                if step["op"] not in TRANSLATIONS:
                    raise SystemExit(f"compare_torch: no PyTorch translation for {step['op']!r}")
                modules.append(TRANSLATIONS[step["op"]](nn, step, step["options"]) or nn.Identity())
            self.layers = nn.ModuleList(modules)

        def forward(self, x):
            values = {-1: x}
            for step, module in zip(self.steps, self.layers):
                inputs = [values[i] for i in step["inputs"]]
                if step["op"] == "add":
                    values[step["index"]] = sum(inputs[1:], inputs[0])
                elif step["op"] == "concat":
                    values[step["index"]] = torch.cat(inputs, dim=1)
                else:
                    values[step["index"]] = module(inputs[0])
            return values[len(self.steps) - 1]

    return Graph()


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
    from netc.runtime.fast import compile_at_o2
    from netc.runtime.memory import keep_freed_memory
    keep_freed_memory()      # as the netc command does (runtime/memory.py); PyTorch shares it
    compile_at_o2()
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
