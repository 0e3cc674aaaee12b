#!/usr/bin/env python3
"""The house limits (issue 33): no file in src/ over 600 lines and no function over 80 lines,
outside tests (`#[cfg(test)]` modules are not counted). Prints every offender; exit 1 when any.

    python3 scripts/lengths.py [--max-file 600] [--max-fn 80]
"""
import argparse
import pathlib
import re
import sys

FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")


def code_lines(text):
    """The lines of `text` with strings, chars and comments blanked (braces in them do not count)."""
    out, i, n = [], 0, len(text)
    buf = []
    depth_block = 0
    while i < n:
        c = text[i]
        if depth_block:
            if text.startswith("*/", i):
                depth_block -= 1
                i += 2
                continue
            if text.startswith("/*", i):
                depth_block += 1
                i += 2
                continue
            buf.append("\n" if c == "\n" else " ")
            i += 1
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            buf.append(" " * (j - i))
            i = j
            continue
        if text.startswith("/*", i):
            depth_block = 1
            i += 2
            continue
        m = re.match(r'r(#*)"', text[i:])
        if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = '"' + m.group(1)
            j = text.find(end, i + len(m.group(0)))
            j = n if j < 0 else j + len(end)
            buf.append("".join("\n" if ch == "\n" else " " for ch in text[i:j]))
            i = j
            continue
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            buf.append("".join("\n" if ch == "\n" else " " for ch in text[i:j]))
            i = j
            continue
        if c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4] or ""):
            m2 = re.match(r"'(\\[^']*|[^\\'])'", text[i:])
            if m2:
                buf.append(" " * len(m2.group(0)))
                i += len(m2.group(0))
                continue
        buf.append(c)
        i += 1
    return "".join(buf).split("\n")


def test_ranges(lines):
    """Line ranges of `#[cfg(test)]` items."""
    ranges = []
    for k, line in enumerate(lines):
        if line.strip().startswith("#[cfg(test)]"):
            end = block_end(lines, k + 1)
            if end is not None:
                ranges.append((k, end))
    return ranges


def block_end(lines, start):
    """The line where the brace block opened at or after `start` closes."""
    depth, opened = 0, False
    for k in range(start, len(lines)):
        for ch in lines[k]:
            if ch == "{":
                depth += 1
                opened = True
            elif ch == "}":
                depth -= 1
                if opened and depth == 0:
                    return k
        if not opened and lines[k].rstrip().endswith(";"):
            return k
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-file", type=int, default=600)
    ap.add_argument("--max-fn", type=int, default=80)
    ap.add_argument("root", nargs="?", default=str(pathlib.Path(__file__).resolve().parent.parent / "src"))
    a = ap.parse_args()
    bad = []
    for path in sorted(pathlib.Path(a.root).rglob("*.rs")):
        lines = code_lines(path.read_text())
        tests = test_ranges(lines)
        in_test = lambda k: any(s <= k <= e for s, e in tests)
        counted = sum(1 for k in range(len(lines)) if not in_test(k))
        if counted > a.max_file:
            bad.append(f"{path}: {counted} lines outside tests (limit {a.max_file})")
        for k, line in enumerate(lines):
            m = FN.match(line)
            if not m or in_test(k):
                continue
            end = block_end(lines, k)
            if end is None:
                continue
            length = end - k + 1
            if length > a.max_fn:
                bad.append(f"{path}:{k + 1}: fn {m.group(6)} is {length} lines (limit {a.max_fn})")
    for b in bad:
        print(b)
    print(f"{len(bad)} over the limits" if bad else "all files and functions within the limits")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
