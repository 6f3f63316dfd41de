"""Compiling a plan's kernels on two processes on a cold numba cache (runtime/fast/warmup.py):
the first steps then compile nothing more. numba is a dev dependency: without it these
tests fail, they never skip."""
import json
import os
import subprocess
import sys
import textwrap

import numba  # noqa: F401 - fail loudly, not skip, when the extra is missing

import netc
from netc.runtime.fast import warmup

RESNET_LIKE = """input 1x16x16
x = conv 8x3x3 pad=1 -> batchnorm -> relu -> pool 2
y = x -> conv 8x3x3 pad=1 -> batchnorm
add x y -> relu -> affine 3 -> softmax
optimizer adam
"""

# Run in a child process: numba reads NUMBA_CACHE_DIR when it loads.
CHECK = textwrap.dedent("""
    import json, sys
    import numpy as np
    import netc
    from netc.runtime.fast import warmup
    from netc.runtime.setup import TrainingSetup
    warmup.enable()
    plan = netc.compile(sys.argv[1]).data
    setup = TrainingSetup(plan)          # builds the Network: precompile runs here
    x = np.random.default_rng(0).standard_normal((4, 1, 16, 16)).astype(np.float32)
    setup.network.train_step(x, np.eye(3, dtype=np.float32)[[0, 1, 2, 0]], setup.optimizer)
    setup.network.forward(x)
    report = []
    for job in warmup.jobs(plan):
        for child in (False, True):
            for kernel, _ in warmup.share(job, "float32", child):
                stats = kernel.stats
                report.append([kernel.py_func.__name__, child, len(kernel.signatures),
                               sum(stats.cache_hits.values()), sum(stats.cache_misses.values())])
    print(json.dumps(report))
""")


def test_jobs_name_each_kernel_module_a_plan_trains_with(monkeypatch):
    monkeypatch.delenv("NETC_KERNELS", raising=False)
    plan = netc.compile(RESNET_LIKE).data
    assert warmup.jobs(plan) == [("batchnorm", {}), ("pool", {"op": "maxpool"}), ("f4", {}), ("optim", {})]
    monkeypatch.setenv("NETC_KERNELS", "numpy")
    assert warmup.jobs(netc.compile(RESNET_LIKE).data) == []


def test_a_cold_cache_is_filled_by_two_processes_and_the_steps_compile_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("NETC_KERNELS", raising=False)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", CHECK, RESNET_LIKE], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {name for name, *_ in report} >= {"forward", "backward", "statistics",
                                             "max_backward", "adam"}
    assert any(child for _, child, *_ in report)
    for name, child, signatures, hits, misses in report:
        # one signature each: the layers call the kernels typed as warm_calls does
        assert signatures == 1, name
        if child:   # compiled by the child process: loaded here from the cache
            assert hits == 1 and misses == 0, name
        else:       # compiled here before the first step, once
            assert misses == 1, name
    assert list(tmp_path.rglob("*.nbi"))
