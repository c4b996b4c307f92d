#!/usr/bin/python3
"""Checks the include graph of src/ against the layer order.

Every `#include "..."` of every .c and .h file under src/ is resolved the
way the compiler does (next to the including file first, then -Isrc) and
the folder it lands in must be in a LOWER layer than the including file's
folder, or be that same folder. Folders that share a layer are peers and
may not include each other (the three protocols know nothing of each
other). docs/ARCHITECTURE.md draws the same order.

Prints each violation as "file:line: ..." and, last, the summary line
"layers: 1 passed, 0 failed" (or "0 passed, 1 failed"), which
tests/run-check.sh counts; exits 1 on any violation.

Usage: /usr/bin/python3 scripts/check-layers.py [SRC_DIR]
"""

import os
import re
import sys

# Bottom to top. A folder may include its own files and those of every
# folder in an earlier layer; "main" stands for the files directly in src/
# (main.c).
LAYERS = [
    ["util"],                   # strings, buffers, base64, zlib pipe
    ["core"],                   # runtime: loop, conn, workers, tls, log,
                                # limits, struct server (runtime.h)
    ["mime", "store", "dns"],   # message syntax; the store (SQLite); the
                                # in-loop resolver (libunbound)
    ["auth", "mailauth"],       # logins: uses the store's accounts;
                                # sender authentication (SPF, DKIM, ...)
    ["smtp", "pop3", "imap", "queue", "http"],  # the protocols, the
                                # outbound queue (its SMTP client) and the
                                # HTTP endpoint, peers
    ["server"],                 # config file, listener, protocol table,
                                # privilege drop, lifecycle
    ["cli"],                    # account commands (config, store, privdrop)
    ["main"],                   # src/main.c
]

INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of():
    rank = {}
    for i, layer in enumerate(LAYERS):
        for folder in layer:
            rank[folder] = i
    return rank


def folder_of(src, path):
    rel = os.path.relpath(path, src)
    parts = rel.split(os.sep)
    return "main" if len(parts) == 1 else parts[0]


def resolve(src, including, name):
    """The file the compiler opens for #include "name", or None."""
    for base in (os.path.dirname(including), src):
        cand = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(cand):
            return cand
    return None


def check(src):
    rank = layer_of()
    errors = []
    n = 0
    for dirpath, _, files in sorted(os.walk(src)):
        for f in sorted(files):
            if not f.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, f)
            here = folder_of(src, path)
            if here not in rank:
                errors.append(f"{path}: folder '{here}' is in no layer "
                              "(add it to LAYERS in scripts/check-layers.py)")
                continue
            with open(path, encoding="utf-8", errors="replace") as fh:
                for lineno, line in enumerate(fh, 1):
                    m = INCLUDE_RE.match(line)
                    if not m:
                        continue
                    n += 1
                    target = resolve(src, path, m.group(1))
                    if target is None:
                        errors.append(f"{path}:{lineno}: \"{m.group(1)}\" "
                                      "not found under src/")
                        continue
                    there = folder_of(src, target)
                    if there == here:
                        continue
                    if there not in rank:
                        errors.append(f"{path}:{lineno}: includes "
                                      f"{target}, folder '{there}' is in "
                                      "no layer")
                    elif rank[there] >= rank[here]:
                        what = ("a peer" if rank[there] == rank[here]
                                else "above it")
                        errors.append(f"{path}:{lineno}: {here} includes "
                                      f"{os.path.relpath(target, src)} "
                                      f"({there} is {what})")
    return n, errors


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "src")
    src = os.path.normpath(src)
    n, errors = check(src)
    for e in errors:
        print(e)
    order = " -> ".join("{" + ", ".join(layer) + "}" if len(layer) > 1
                        else layer[0] for layer in LAYERS)
    print(f"layer order: {order}; {n} includes, {len(errors)} violations")
    print("layers: 0 passed, 1 failed" if errors
          else "layers: 1 passed, 0 failed")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
