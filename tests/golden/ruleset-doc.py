#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""docs/ruleset.md's listings are real `killswitch compile` output: the example table (the
```nft block after the first ```sh block, which defines example()) and every ```diff block that
follows a ```sh block running `diff`. --check compares them (exit 1 naming the stale blocks),
--regen rewrites them.

  ruleset-doc.py --check|--regen KILLSWITCH DOC

Exit 77 (skipped) where the output depends on this host: an interface called wg0 (its addresses
would fill the sets), or a block whose command warns (split tunnelling without net_cls here)."""
import os
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("--check", "--regen"):
        sys.exit(__doc__)
    mode, killswitch, path = sys.argv[1:]
    if os.path.exists("/sys/class/net/wg0"):
        print("ruleset-doc: skipped: this host has a wg0, whose addresses the listings would show")
        sys.exit(77)
    lines = open(path).read().split("\n")
    first = lines.index("```sh")
    end = lines.index("```", first + 1)
    if lines[end - 1] != "example":
        sys.exit(f"ruleset-doc: {path}:{end}: the first sh block must end by running example")
    definition = "\n".join(lines[first + 1:end - 1])
    bindir = tempfile.mkdtemp(prefix="ks-doc.")
    os.symlink(os.path.abspath(killswitch), os.path.join(bindir, "killswitch"))
    env = {"PATH": bindir + ":/usr/bin:/bin", "LANG": "C"}
    for key in ("KILLSWITCH_SPLIT_TUNNEL", "KILLSWITCH_TABLE"):
        env.pop(key, None)

    def run(cmd, lineno):
        r = subprocess.run(["bash", "-c", definition + "\n" + cmd], capture_output=True, text=True, env=env)
        if r.stderr:
            print(f"ruleset-doc: skipped: {path}:{lineno}: the command warns here: {r.stderr.strip()}")
            sys.exit(77)
        if r.returncode not in (0, 1):  # diff: 1 = differences
            sys.exit(f"ruleset-doc: {path}:{lineno}: exit {r.returncode}")
        return r.stdout.rstrip("\n").split("\n")

    out, stale, k, is_first = [], [], 0, True
    while k < len(lines):
        out.append(lines[k])
        if lines[k] != "```sh":
            k += 1
            continue
        e = lines.index("```", k + 1)
        cmd = "\n".join(lines[k + 1:e])
        out.extend(lines[k + 1:e + 1])
        k = e + 1
        n = k
        label = cmd.splitlines()[-1]
        if is_first:
            is_first = False
            while not lines[n].startswith("```nft"):
                n += 1
        else:
            while n < len(lines) and n < k + 4 and not lines[n].startswith("```"):
                n += 1
            if not (cmd.startswith("diff ") and n < len(lines) and lines[n] == "```diff") or "echo same" in cmd:
                continue
        new = run(cmd, k)
        close = lines.index("```", n + 1)
        if lines[n + 1:close] != new:
            stale.append(f"{path}:{n + 1}: the output of `{label}`")
        out.extend(lines[k:n + 1] + new + ["```"])
        k = close + 1
    if mode == "--regen":
        open(path, "w").write("\n".join(out))
        print(f"ruleset-doc: {len(stale)} blocks rewritten")
        return
    for s in stale:
        print("stale listing:", s)
    if stale:
        print("(cmake --build BUILD --target golden-regen rewrites them; review the diff)")
        sys.exit(1)
    print("ruleset-doc: every listing is the compiler's output")


main()
