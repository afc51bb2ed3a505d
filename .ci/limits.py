#!/usr/bin/env python3
"""The shape limits CI keeps (issue 13), besides clippy's too_many_lines:

1. No source file under crates/*/src is longer than 600 lines.
2. Every crate's lib.rs enables `clippy::too_many_lines` for production code
   (`#![cfg_attr(not(test), warn(clippy::too_many_lines))]`; clippy.toml sets
   the threshold to 80, and CI runs clippy with -D warnings).
3. No module circles: within a crate, the modules directly under src/ (a file
   `x.rs` or a folder `x/`) must not import each other in a loop. A module
   names another through `crate::other` (in `use` lines or paths); a child
   reaching its parent with `super::` stays inside its module and is not an
   edge. The crate root (lib.rs, main.rs) is not a module here: it declares
   and re-exports the others.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
MAX_LINES = 600
LINT = "#![cfg_attr(not(test), warn(clippy::too_many_lines))]"


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def top_module(src: pathlib.Path, f: pathlib.Path) -> str | None:
    rel = f.relative_to(src)
    if len(rel.parts) == 1:
        name = rel.stem
        return None if name in ("lib", "main") else name
    return rel.parts[0]


def module_edges(src: pathlib.Path) -> dict[str, set[str]]:
    modules = {top_module(src, f) for f in src.rglob("*.rs")} - {None}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for f in src.rglob("*.rs"):
        me = top_module(src, f)
        if me is None:
            continue
        text = strip_comments(f.read_text())
        named = set(re.findall(r"\bcrate::([a-z_][a-z0-9_]*)", text))
        # `use crate::{a, b::c}`: the names right inside the braces.
        for group in re.findall(r"\bcrate::\{([^;]*)\}", text, flags=re.S):
            named |= set(re.findall(r"(?:^|[{,\s])([a-z_][a-z0-9_]*)", group))
        edges[me] |= {n for n in named if n in modules and n != me}
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(edges[m]):
            if state.get(n) == 1:
                found.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    return found


def main() -> int:
    problems = []
    crates = sorted(p for p in (ROOT / "crates").iterdir() if (p / "src").is_dir())
    for crate in crates:
        src = crate / "src"
        for f in sorted(src.rglob("*.rs")):
            n = len(f.read_text().splitlines())
            if n > MAX_LINES:
                problems.append(f"{f.relative_to(ROOT)}: {n} lines (at most {MAX_LINES}); split it")
        lib = src / "lib.rs"
        if lib.exists() and LINT not in lib.read_text():
            problems.append(f"{lib.relative_to(ROOT)}: lacks {LINT}")
        for c in circles(module_edges(src)):
            problems.append(f"{crate.name}: module circle {' -> '.join(c)}")
    for p in problems:
        print(p)
    if problems:
        print(f"limits: {len(problems)} problem(s)")
        return 1
    print(f"limits: {len(crates)} crates, files <= {MAX_LINES} lines, too_many_lines on, no module circles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
