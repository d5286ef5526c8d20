#!/usr/bin/env python3
"""make readme: puts the figures `make size`, `make bench` and `make fuzz` printed
(out/size.txt, out/bench.txt, out/fuzz.txt) into README.md between their markers, so the
README quotes the commands, not memory. `--check` only says which blocks differ from the files (exit 0 either way)."""
import pathlib, sys

root = pathlib.Path(__file__).resolve().parent.parent
readme = root / "README.md"
text = readme.read_text()
check = "--check" in sys.argv
for name in ("size", "bench", "fuzz"):
    src = root / "out" / f"{name}.txt"
    begin, end = f"<!-- make {name} -->\n", f"<!-- /make {name} -->"
    if not src.exists() or begin not in text:
        continue
    head, rest = text.split(begin, 1)
    old, tail = rest.split(end, 1)
    new = "```\n" + src.read_text().rstrip("\n") + "\n```\n"
    if check:
        if old != new:
            print(f"readme: README's `make {name}` figures differ from out/{name}.txt (make readme)")
        continue
    text = head + begin + new + end + tail
if not check:
    readme.write_text(text)
