"""Packaging: a wheel holds everything under netc/ (grammar and schemas
included) and no bare top-level compiler/ or runtime/ module."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_maps_every_folder_under_netc(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--verbose", "-w", str(tmp_path),
                            str(ROOT)], check=True, cwd=tmp_path, capture_output=True, text=True)
    assert "SetuptoolsDeprecationWarning" not in build.stdout + build.stderr   # e.g. a license table
    wheel = next(tmp_path.glob("netc-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"netc"}
    # Every source file lands in the wheel, so no subpackage is forgotten.
    mapping = {"netc": "netc", "compiler": "netc/compiler", "runtime": "netc/runtime", "spec": "netc/spec"}
    for folder, installed in mapping.items():
        for source in (ROOT / folder).rglob("*"):
            if source.suffix in (".py", ".lark", ".json") and "__pycache__" not in source.parts:
                relative = source.relative_to(ROOT / folder).as_posix()
                assert f"{installed}/{relative}" in names, relative


def test_installed_package_imports_as_netc_only(tmp_path):
    code = ("import importlib.util, netc.compiler, netc.runtime, netc.spec;"
            "assert importlib.util.find_spec('compiler') is None;"
            "assert importlib.util.find_spec('runtime') is None")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
