"""The runtime's malloc tuning (runtime/memory.py)."""
import platform
import subprocess
import sys

import pytest

CHECK = "from netc.runtime.memory import keep_freed_memory as k; print(k(), k())"


def run_check(**env):
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                            env={**env, "PATH": ""}, check=True)
    return result.stdout.split()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the tuning applies to glibc only")
def test_glibc_settings_take_effect_once():
    assert run_check() == ["True", "True"]


def test_opt_out_leaves_malloc_alone():
    assert run_check(NETC_MALLOC="default") == ["False", "False"]
