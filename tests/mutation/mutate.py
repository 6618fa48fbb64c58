#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The mutants of tests/mutation/mutants.txt: list them, check that they apply, apply one.

  mutate.py list MUTANTS               one line per mutant, fields separated by US (0x1f):
                                       id, tests (space-separated), expect, rule, what
  mutate.py check MUTANTS DIR [ID]     for each mutant (or the IDs given): "ID US applies US variant"
                                       or "ID US does not apply US why"; exit 1 if any does not
  mutate.py apply MUTANTS ID DIR       rewrite the sources in DIR with mutant ID, print which variant
                                       applied; exit 1 (saying why) if none does

DIR is the compiler's folder (src/compiler): its *.c files are the source, taken together.
  mutate.py behaviour < CTEST-JSON     the behaviour tests of `ctest -N --show-only=json-v1`:
                                       "NAME<TAB>core" or "NAME<TAB>heavy" (faults, RUN_SERIAL)

An edit is a literal search and replace: the search text must occur exactly once in all the
files together, as the edits before it left them. A mutant applies when every edit of one of its variants does
(the first such variant is used), so a mutant can follow a rule through a rewrite of the compiler
(see the file format in mutants.txt). Standard library only, like tests/e2e/labnet.py.
"""
import json
import os
import re
import sys

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
FIELDS = ("rule", "what", "tests", "expect")
SEP = "\x1f"  # not white space: bash's read keeps empty fields


class Mutant:
    def __init__(self, ident, line):
        self.id = ident
        self.line = line
        self.fields = {}
        self.variants = [[]]  # each a list of [search, replace]


def fail(msg):
    print(f"mutate.py: {msg}", file=sys.stderr)
    sys.exit(2)


def strip_block(lines):
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def parse(path):
    with open(path, encoding="utf-8") as f:
        text = f.read().split("\n")
    mutants, cur, block, where = [], None, None, None

    def close_block():
        nonlocal block
        if block is None:
            return
        kind, lines = block
        body = strip_block(lines)
        edits = cur.variants[-1]
        if kind == "search":
            if not body:
                fail(f"{path}:{where}: {cur.id}: empty search text")
            edits.append([body, None])
        else:
            if not edits or edits[-1][1] is not None:
                fail(f"{path}:{where}: {cur.id}: '--- replace' without its '--- search'")
            edits[-1][1] = body
        block = None

    for n, line in enumerate(text, 1):
        if line.startswith("=== "):
            close_block()
            ident = line[4:].strip()
            if not ID_RE.match(ident):
                fail(f"{path}:{n}: bad mutant id '{ident}' (lower case, digits, '-')")
            if any(m.id == ident for m in mutants):
                fail(f"{path}:{n}: mutant '{ident}' listed twice")
            cur = Mutant(ident, n)
            mutants.append(cur)
        elif line.startswith("--- "):
            if cur is None:
                fail(f"{path}:{n}: '{line}' outside a mutant")
            close_block()
            kind = line[4:].strip()
            if kind in ("search", "replace"):
                block, where = (kind, []), n
            elif kind == "variant":
                if not cur.variants[-1]:
                    fail(f"{path}:{n}: {cur.id}: '--- variant' before any edit")
                cur.variants.append([])
            else:
                fail(f"{path}:{n}: unknown block '{line}' (search, replace, variant)")
        elif line == "#" or line.startswith("# "):
            continue  # a comment, inside a block too (a C directive is "#define", without a space)
        elif block is not None:
            block[1].append(line)
        elif not line.strip():
            continue
        elif cur is not None and ":" in line:
            key, value = line.split(":", 1)
            key = key.strip()
            if key not in FIELDS:
                fail(f"{path}:{n}: {cur.id}: unknown field '{key}' ({', '.join(FIELDS)})")
            cur.fields[key] = (cur.fields.get(key, "") + " " + value.strip()).strip()
        else:
            fail(f"{path}:{n}: cannot read '{line}'")
    close_block()
    for m in mutants:
        for v in m.variants:
            if not v:
                fail(f"{path}:{m.line}: {m.id}: a variant without edits")
            for s, r in v:
                if r is None:
                    fail(f"{path}:{m.line}: {m.id}: a '--- search' without its '--- replace'")
        for key in ("rule", "what"):
            if not m.fields.get(key):
                fail(f"{path}:{m.line}: {m.id}: no '{key}:' line")
    return mutants


def mutate(m, sources):
    """(new {file: text}, variant number) with the first variant that applies, or (None, why none does)."""
    whys = []
    for vi, edits in enumerate(m.variants, 1):
        files, why = dict(sources), None
        for ei, (search, replace) in enumerate(edits, 1):
            where = [name for name, text in files.items() if search in text]
            count = sum(files[name].count(search) for name in where)
            if count != 1:
                first = search.split("\n")[0].strip()
                found = "not found" if count == 0 else f"found {count} times"
                why = f"edit {ei} ({first[:60]!r}...): {found}"
                break
            files[where[0]] = files[where[0]].replace(search, replace, 1)
        if why is None:
            return files, vi
        whys.append(f"variant {vi}: {why}" if len(m.variants) > 1 else why)
    return None, "; ".join(whys)


def variant_name(m, number):
    return f"variant {number} of {len(m.variants)}" if len(m.variants) > 1 else ""


def select(mutants, ids):
    if not ids:
        return mutants
    known = {m.id: m for m in mutants}
    for i in ids:
        if i not in known:
            fail(f"no mutant '{i}' (mutate.py list shows them)")
    return [known[i] for i in ids]


# The tests that look at packets and at what the kernel holds: the leak lab (e2e), split
# tunnelling's lab run (split, not its unit tests), apply (the libnftables seam; apply_netns and
# watch_netns carry no label). Never unit, golden or fuzz: they compare text.
BEHAVIOUR = {"e2e", "split", "apply"}
TEXT = {"unit", "golden", "fuzz"}
UNLABELLED = {"apply_netns", "watch_netns"}
# Long and unlikely to tell a loosened rule apart: floods that need both cores to themselves
# (RUN_SERIAL) and the apply fault injections (faults). run.sh uses them only with -f.
HEAVY = {"faults"}


def behaviour(doc):
    for t in doc.get("tests", []):
        props = {p["name"]: p["value"] for p in t.get("properties", [])}
        labels = set(props.get("LABELS", []))
        if labels & TEXT or not (labels & BEHAVIOUR or t["name"] in UNLABELLED):
            continue
        heavy = labels & HEAVY or props.get("RUN_SERIAL")
        print(f"{t['name']}\t{'heavy' if heavy else 'core'}")
    return 0


def read(folder):
    """The compiler's sources: {path: text} of every *.c file in folder."""
    out = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".c"):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                out[os.path.join(folder, name)] = f.read()
    if not out:
        fail(f"no *.c files in {folder}")
    return out


def main(argv):
    if len(argv) >= 2 and argv[0] == "list":
        for m in parse(argv[1]):
            f = m.fields
            clean = lambda s: " ".join(s.split())  # noqa: E731 (one line each)
            print(SEP.join((m.id, clean(f.get("tests", "")), clean(f.get("expect", "")),
                             clean(f["rule"]), clean(f["what"]))))
        return 0
    if len(argv) >= 3 and argv[0] == "check":
        mutants = select(parse(argv[1]), argv[3:])
        source, bad = read(argv[2]), 0
        for m in mutants:
            text, info = mutate(m, source)
            if text is None or text == source:
                bad += 1
                print(SEP.join((m.id, "does not apply", info if text is None else "the edits change nothing")))
            else:
                print(SEP.join((m.id, "applies", variant_name(m, info))))
        return 1 if bad else 0
    if len(argv) == 4 and argv[0] == "apply":
        (m,) = select(parse(argv[1]), [argv[2]])
        sources = read(argv[3])
        files, info = mutate(m, sources)
        if files is None:
            print(f"mutate.py: {m.id} does not apply to {argv[3]}: {info}", file=sys.stderr)
            return 1
        for path, text in files.items():
            if text != sources[path]:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
        print(variant_name(m, info))
        return 0
    if len(argv) == 1 and argv[0] == "behaviour":
        return behaviour(json.load(sys.stdin))
    print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
