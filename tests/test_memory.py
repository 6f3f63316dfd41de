"""The runtime's malloc tuning (runtime/memory.py), in fresh processes (it is once per process)."""
import platform
import subprocess
import sys

CHECK = "from netc.runtime.memory import keep_freed_memory as k; print(k(), k())"


def run_check(**env):
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                            env={**env, "PATH": ""}, check=True)
    return result.stdout.split()


def test_settings_take_effect_once_on_glibc_only():
    expected = str(platform.libc_ver()[0] == "glibc")  # CI is Linux with glibc: "True"
    assert run_check() == [expected, expected]


def test_opt_out_leaves_malloc_alone():
    assert run_check(NETC_MALLOC="default") == ["False", "False"]


def test_building_a_network_changes_nothing_in_the_process():
    code = ("import netc, netc.runtime.memory as m\n"
            "netc.load('models/simpleconv.net').build(seed=0)\n"
            "print(m._done)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False"]


def test_importing_the_runtime_loads_no_compiler_libraries():
    code = ("import sys, netc.runtime.network, netc.runtime.model, netc.runtime.setup\n"
            "print(sorted(m for m in sys.modules if m in ('lark', 'jsonschema') or m.startswith('netc.compiler')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
