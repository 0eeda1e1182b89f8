"""Interpreter benchmark: the bus's throughput target rows under two CPython builds, interleaved.

Run from the repository root, with a second venv made from the other interpreter::

    /root/.pyenv/versions/3.11.7/bin/python3 -m venv /tmp/venv-pyenv
    /tmp/venv-pyenv/bin/pip install -e '.[test,bench]'
    .venv/bin/python bench/interpreter.py --other /tmp/venv-pyenv/bin/python --rounds 2

Each round runs ``bench/bus.py --only "100 B coalesced" --repeat 3`` (the four rows the
throughput target is judged on, three runs each, the median shown) under this venv's
interpreter, then under the other, so both see the same moments of the shared machine. It
prints a table and writes ``bench/results/interpreter.json`` and ``.md``. This is the
measurement behind the Makefile's choice of interpreter for the venv.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ROWS = ["bus unix 100 B coalesced", "bus unix 100 B coalesced, publish_many of 100",
        "bus tcp 100 B coalesced", "bus tcp 100 B coalesced, publish_many of 100"]

_DESCRIBE = ("import json, os, platform, sys, sysconfig; print(json.dumps({"
             "'version': platform.python_version(), "
             "'executable': os.path.realpath(sys._base_executable), "
             "'configure': sysconfig.get_config_var('CONFIG_ARGS') or ''}))")


def describe(python: str) -> dict:
    """Version, real executable, and whether that executable loads libpython as a shared
    library (calls into the interpreter then go through the PLT, and it is built -fPIC)."""
    info = json.loads(subprocess.run([python, "-c", _DESCRIBE], check=True, capture_output=True,
                                     text=True).stdout)
    linked = subprocess.run(["ldd", info["executable"]], capture_output=True, text=True).stdout
    info["shared_libpython"] = "libpython" in linked
    return info


def run_rows(python: str) -> dict:
    """One bus.py run of the target rows under ``python``: label -> median row."""
    with tempfile.TemporaryDirectory(prefix="mvb-interp-") as tmp:
        out = os.path.join(tmp, "bus.json")
        subprocess.run([python, os.path.join(HERE, "bus.py"), "--only", "100 B coalesced",
                        "--repeat", "3", "--out", out], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as fh:
            return json.load(fh)["two_processes"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--other", required=True, help="python of a venv made from the other interpreter")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "interpreter.json"))
    args = parser.parse_args()
    pythons = {"this venv": sys.executable, "other": args.other}
    results = {"command": f"bench/interpreter.py --other {args.other} --rounds {args.rounds}",
               "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                           "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]},
               "interpreters": {name: describe(py) for name, py in pythons.items()},
               "rounds": []}
    started = time.time()
    for number in range(args.rounds):
        round_ = {}
        for name, python in pythons.items():
            rows = run_rows(python)
            round_[name] = {label: rows[label]["msgs_per_s"] for label in ROWS if label in rows}
            print(f"round {number + 1} {name}: " + ", ".join(f"{v:,}" for v in round_[name].values()), flush=True)
        results["rounds"].append(round_)
    results["medians"] = {name: {label: round(statistics.median(r[name][label] for r in results["rounds"]))
                                 for label in ROWS} for name in pythons}
    results["ratio_this_to_other"] = {label: round(results["medians"]["this venv"][label]
                                                   / results["medians"]["other"][label], 2) for label in ROWS}
    results["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["elapsed_s"] = round(time.time() - started, 1)
    text = markdown(results)
    print(text)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(results, fh, indent=2)
    with open(os.path.splitext(args.out)[0] + ".md", "w") as fh:
        fh.write(text)
    return 0


def markdown(results: dict) -> str:
    interp = results["interpreters"]
    lines = ["# Interpreter: the bus's target rows under two CPython builds", "",
             f"`.venv/bin/python {results['command']}` — {len(results['rounds'])} rounds, each running "
             "`bench/bus.py --only \"100 B coalesced\" --repeat 3` under this venv's interpreter and then the "
             "other's, so both meet the same moments of the shared 2-core machine (load "
             f"{results['machine']['load_avg_at_start'][0]} at the start, {results['machine']['load_avg_at_end'][0]} "
             "at the end). Each cell is a row's median of 3 runs, in msg/s; the last columns are the medians "
             "over the rounds.", "",
             "| interpreter | version | executable | shared libpython |", "|---|---|---|---|"]
    for name, info in interp.items():
        lines.append(f"| {name} | {info['version']} | `{info['executable']}` | "
                     f"{'yes' if info['shared_libpython'] else 'no'} |")
    lines += ["", "| row | " + " | ".join(f"round {i + 1} {name}" for i in range(len(results["rounds"]))
                                          for name in interp) + " | median this | median other | ratio |",
              "|---|" + "---:|" * (len(results["rounds"]) * len(interp) + 3)]
    for label in ROWS:
        cells = [f"{r[name][label]:,}" for r in results["rounds"] for name in interp]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {results['medians']['this venv'][label]:,} | "
                     f"{results['medians']['other'][label]:,} | {results['ratio_this_to_other'][label]} |")
    lines += ["", "Debian's `/usr/bin/python3.11` is one static executable built with profile-guided "
              "optimisation and LTO by Debian's own packaging rules, so no such flag shows in its configure "
              "arguments (its changelog, /usr/share/doc/python3.11-minimal/changelog.Debian.gz: \"Enable "
              "LTO/PGO builds on some architectures\", \"Don't propagate lto flags to the _sysconfigdata "
              "module\"). The pyenv build runs on a shared libpython configured with neither. The Makefile "
              "makes the venv from the first when the machine has it."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
