#!/usr/bin/env python3
"""Prints the `use crate::` / `use super::` graph of src/ between modules and fails on a loop.

Usage: python3 scripts/import_loops.py [--folders]
A node is a module file (src/a/b.rs and src/a/b/mod.rs are `a::b`); with --folders, a node is the
top-level module (folder) instead. Child-to-parent `use super::*` inside `mod tests` is ignored.
"""
import re, sys, pathlib

src = pathlib.Path(__file__).resolve().parent.parent / "src"
folders = "--folders" in sys.argv

def module_of(path):
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return parts

modules = {tuple(module_of(p)): p for p in src.rglob("*.rs")}

def resolve(current, path):
    segs = path.split("::")
    if segs[0] == "crate":
        base, segs = [], segs[1:]
    elif segs[0] == "super":
        base = list(current[:-1]) if not is_mod_file[current] else list(current[:-1])
        segs = segs[1:]
        while segs and segs[0] == "super":
            base, segs = base[:-1], segs[1:]
    elif segs[0] == "self":
        base, segs = list(current), segs[1:]
    else:
        return None
    # longest prefix that is a module
    best = tuple(base)
    for i in range(1, len(segs) + 1):
        if tuple(base + segs[:i]) in modules:
            best = tuple(base + segs[:i])
    return best

is_mod_file = {m: p.name in ("mod.rs", "lib.rs") for m, p in modules.items()}
edges = {}
for module, path in modules.items():
    text = path.read_text()
    text = text.split("#[cfg(test)]\nmod tests")[0]
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    children = set(re.findall(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+(\w+);", code, re.M))
    paths = [m.group(1) for m in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", code)]
    paths += ["self::" + m.group(1) for m in re.finditer(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?use\s+(\w+(?:::\w+)*)", code, re.M)
              if m.group(1).split("::")[0] in children]
    for path in paths:
        target = resolve(module, path)
        if target is None or target == module:
            continue
        a, b = (module[:1], target[:1]) if folders else (module, target)
        if a != b and a and b:
            edges.setdefault(a, set()).add(b)
        elif not folders and a != b:
            edges.setdefault(a, set()).add(b)

def name(m):
    return "::".join(m) or "crate"

for a in sorted(edges):
    print(f"{name(a)} -> {', '.join(sorted(name(b) for b in edges[a]))}")

# cycle search
state, stack, cycles = {}, [], []
def visit(node):
    state[node] = 1
    stack.append(node)
    for nxt in sorted(edges.get(node, ())):
        if state.get(nxt) == 1:
            cycles.append(stack[stack.index(nxt):] + [nxt])
        elif nxt not in state:
            visit(nxt)
    stack.pop()
    state[node] = 2
for node in sorted(edges):
    if node not in state:
        visit(node)
if cycles:
    for cycle in cycles:
        print("LOOP:", " -> ".join(name(m) for m in cycle))
    sys.exit(1)
print("no import loop")
