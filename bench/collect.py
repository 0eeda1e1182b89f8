"""Assemble docs/performance.md from the benchmarks' own reports (bench/results/*.md).

Each benchmark writes its table, the exact command that produced it and its peer comparison
to bench/results/<area>.md; this script only stitches them under one introduction, so the
document can never drift from the numbers the scripts printed. Run after re-running a benchmark:

    .venv/bin/python bench/collect.py
"""

from __future__ import annotations

import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["bus", "codec", "interpreter", "feed", "parser", "pricing", "scanner", "scanner_concurrency", "store", "e2e"]

INTRO = """# Performance

Every figure here was printed by a script in `bench/` on this project's machine kind (2 cores,
24 GiB, Python {python}, shared with other work while it ran), and each section names the exact
command. Peers named as benchmark-only comparisons are measured in the same run where a registry
serves them; otherwise their figures come from `shared/peer-figures.md`, measured on this kind of
machine. Speed targets live here, in benchmarks, never in timed unit tests.

Targets from the plan: bus hop < 10 µs in process; > 100,000 messages/s between processes (aim:
300,000 over Unix sockets); swap-to-decision under 1 ms; reaction within one 250 ms block.

To regenerate this file after re-running benchmarks: `.venv/bin/python bench/collect.py`.
"""


def main() -> None:
    parts = [INTRO.format(python=platform.python_version())]
    results = ROOT / "bench" / "results"
    names = sorted(p.stem for p in results.glob("*.md"))
    for name in sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n)):
        text = (results / f"{name}.md").read_text().strip()
        # demote the section's top heading one level under this document's title
        lines = [("#" + line) if line.startswith("#") else line for line in text.splitlines()]
        parts.append("\n".join(lines))
    out = ROOT / "docs" / "performance.md"
    out.write_text("\n\n".join(parts) + "\n")
    print(f"wrote {out} from {len(names)} benchmark reports")


if __name__ == "__main__":
    main()
