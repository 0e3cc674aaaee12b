#!/usr/bin/env python3
"""Two-file import cycles in src/ (issue 33): file A names an item of file B (`crate::…`, `super::…`
paths, in `use` lines or inline) and B names one of A. A parent naming its own child module (`mod x;`,
`pub use x::Y`) is structure, not a cycle, and is not counted. Exit 1 when any.

    python3 scripts/cycles.py
"""
import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "src"


def module_of(path):
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return parts


def file_of(parts, files):
    """The file defining the longest prefix of module path `parts`."""
    for n in range(len(parts), 0, -1):
        key = tuple(parts[:n])
        if key in files:
            return files[key]
    return None


def strip_tests(text):
    out, skip, depth = [], False, 0
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == "#[cfg(test)]":
            # skip the next item (a block)
            j, depth, opened = i + 1, 0, False
            while j < len(lines):
                depth += lines[j].count("{") - lines[j].count("}")
                if "{" in lines[j]:
                    opened = True
                if opened and depth <= 0:
                    break
                if not opened and lines[j].rstrip().endswith(";"):
                    break
                j += 1
            i = j + 1
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def main():
    files = {tuple(module_of(p)): p for p in SRC.rglob("*.rs")}
    edges = {}
    for mod, path in files.items():
        text = strip_tests(path.read_text())
        text = re.sub(r"//[^\n]*", "", text)
        targets = set()
        for m in re.finditer(r"\b(crate|super(?:::super)*)::((?:\w+::)*\w+|\{)", text):
            head, rest = m.group(1), m.group(2)
            if head == "crate":
                base = []
            else:
                ups = head.count("super")
                own = list(mod) if path.stem in ("mod", "lib") or (SRC / "/".join(mod)).is_dir() else list(mod)
                base = own[: len(own) - ups]
            names = rest.split("::") if rest != "{" else []
            t = file_of(base + names, files)
            if t is not None and t != path:
                targets.add(t)
        edges[path] = targets
    bad = []
    for a, ts in edges.items():
        for b in ts:
            if a < b and a in edges.get(b, ()):
                bad.append((a.relative_to(SRC), b.relative_to(SRC)))
    for a, b in sorted(bad):
        print(f"{a} <-> {b}")
    print(f"{len(bad)} two-file cycles" if bad else "no two-file import cycles")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
