#!/usr/bin/env python3
"""make readme: puts the figures `make size`, `make bench` and `make fuzz` printed
(out/size.txt, out/bench.txt, out/fuzz.txt) into tests/README.md between their markers, so the
figures quote the commands, not memory; and README.md's options table from the one definition of
the options (`cargo run --example usage -- markdown`, the table `--help` is made from).

Usage: python3 tests/readme.py                 update every block whose source is there
       python3 tests/readme.py --check NAME... exit 1 when a named block (size, bench, fuzz,
                                               options) differs from its source or its source
                                               is missing; `make size` checks `size`.
"""
import pathlib, subprocess, sys

root = pathlib.Path(__file__).resolve().parent.parent
check = "--check" in sys.argv
names = [a for a in sys.argv[1:] if not a.startswith("-")]
wanted = names or ["size", "bench", "fuzz", "options"]


def figures(name):
    """The block's new text, or None when its source is missing."""
    if name == "options":
        r = subprocess.run(["cargo", "run", "--quiet", "--example", "usage", "--", "markdown"],
                           cwd=root, capture_output=True, text=True)
        if r.returncode != 0:
            sys.stderr.write(r.stderr)
            return None
        return r.stdout
    src = root / "out" / f"{name}.txt"
    if not src.exists():
        return None
    return "```\n" + src.read_text().rstrip("\n") + "\n```\n"


# Where each block lives.
home = {"size": "tests/README.md", "bench": "tests/README.md", "fuzz": "tests/README.md",
        "options": "README.md"}
stale = []
for name in wanted:
    path = root / home[name]
    text = path.read_text()
    begin, end = f"<!-- make {name} -->\n", f"<!-- /make {name} -->"
    if begin not in text or end not in text:
        stale.append(f"{home[name]} has no `make {name}` block")
        continue
    new = figures(name)
    if new is None:
        if check:
            stale.append(f"the source of {home[name]}'s `make {name}` block is missing (make {name})")
        continue
    head, rest = text.split(begin, 1)
    old, tail = rest.split(end, 1)
    if check:
        if old != new:
            stale.append(f"{home[name]}'s `make {name}` block differs from what make {name} printed (make readme)")
        continue
    path.write_text(head + begin + new + end + tail)
for s in stale:
    print(f"readme: {s}")
sys.exit(1 if check and stale else 0)
