"""Every config in docs/deployment.md is accepted by `mevbot config check` and `mevbot up --check`."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib

import pytest

from .procs import MEVBOT, ROOT

DOC = ROOT / "docs" / "deployment.md"
MODES = ["Monolithic", "Distributed (one host)", "Hybrid", "Clustered", "Across hosts"]


def configs_by_mode() -> dict[str, str]:
    found = {}
    for section in re.split(r"^## ", DOC.read_text(), flags=re.M)[1:]:
        title = section.splitlines()[0].strip()
        blocks = re.findall(r"```toml\n(.*?)```", section, flags=re.S)
        if blocks:
            assert len(blocks) == 1, f"{title}: one complete config per mode"
            found[title] = blocks[0]
    return found


def test_the_guide_has_one_config_per_mode():
    assert list(configs_by_mode()) == MODES


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_config_is_valid_and_its_placement_deployable(mode, tmp_path):
    text = configs_by_mode()[mode]
    path = tmp_path / "config.toml"
    path.write_text(text)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([*MEVBOT, "config", "check", "--no-env", str(path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    processes = tomllib.loads(text).get("deploy", {}).get("processes", {})
    hosts = sorted({p.get("host", "local") for p in processes.values()})
    up = [*MEVBOT, "up", "--config", str(path), "--check", "--json"]
    if not processes:
        done = subprocess.run(up, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
        assert done.returncode == 2 and "places no processes" in done.stderr  # monolithic: `mevbot run`
        return
    planned = set()
    for host in hosts:
        done = subprocess.run([*up, "--host", host], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=30)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        planned |= set(json.loads(done.stdout)["processes"])
    assert planned == set(processes)  # every process is started by the `mevbot up` of its host
