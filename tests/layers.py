#!/usr/bin/env python3
"""Checks the shape of src/: no module cycle, and `unsafe` only where it is allowed.

Each file is a module (`src/root/dir.rs` is `root::dir`, `src/root/mod.rs` is `root`). A module
depends on another when its code (tests excluded: from `#[cfg(test)]` on) names it through
`crate::a::b` or `use super::x`; the longest module path named counts. Prints the cycles found
and exits 1 when there is one, or when `unsafe` appears outside src/os/sys.rs.
Usage: python3 tests/layers.py [SRC]   (prints the module graph with -v)
"""
import os
import re
import sys

src = next((a for a in sys.argv[1:] if not a.startswith("-")), os.path.join(os.path.dirname(__file__), "..", "src"))
verbose = "-v" in sys.argv
UNSAFE_OK = {"os/sys.rs"}


def module_of(rel):
    parts = rel[:-3].split("/")
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return "::".join(parts)


def code_of(text):
    """The text before the first `#[cfg(test)]`, without comments."""
    text = text.split("#[cfg(test)]")[0]
    return re.sub(r"//[^\n]*", "", text)


files = {}
for dirpath, _, names in os.walk(src):
    for n in names:
        if n.endswith(".rs"):
            rel = os.path.relpath(os.path.join(dirpath, n), src)
            files[module_of(rel)] = (rel, code_of(open(os.path.join(dirpath, n)).read()))
modules = set(files)

graph = {m: set() for m in modules}
problems = []
for m, (rel, code) in files.items():
    if m == "":  # lib.rs / main.rs: the crate root declares every module
        continue
    for path in re.findall(r"\bcrate((?:::\w+)+)", code):
        names = path.strip(":").split("::")
        for k in range(len(names), 0, -1):
            target = "::".join(names[:k])
            if target in modules:
                break
        else:
            continue
        if target != m and not m.startswith(target + "::") or target == m.rsplit("::", 1)[0] and target != m:
            graph[m].add(target)
    parent = m.rsplit("::", 1)[0] if "::" in m else ""
    for name in re.findall(r"\bsuper::(\w+)", code):
        target = f"{parent}::{name}" if parent else name
        if target in modules and target != m:
            graph[m].add(target)
    if re.search(r"\bunsafe\b", code) and rel not in UNSAFE_OK:
        problems.append(f"unsafe outside src/os/sys.rs: src/{rel}")

# Cycles: strongly connected components of more than one module (Tarjan).
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]


def visit(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in sorted(graph[v]):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))


sys.setrecursionlimit(10000)
for v in sorted(graph):
    if v not in index:
        visit(v)
for comp in sccs:
    edges = [f"{a} -> {b}" for a in comp for b in sorted(graph[a]) if b in comp]
    problems.append("module cycle: " + ", ".join(edges))

if verbose:
    for m in sorted(graph):
        print(f"{m or 'crate'}: {', '.join(sorted(graph[m])) or '-'}")
for p in problems:
    print(f"layers: {p}")
print(f"layers: {len(modules)} modules, {sum(len(e) for e in graph.values())} dependencies, "
      f"{len(sccs)} cycles, unsafe in {', '.join(sorted(r for r, c in files.values() if re.search(r'unsafe', c)))}")
sys.exit(1 if problems else 0)
