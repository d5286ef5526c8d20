#!/usr/bin/env python3
"""Compares the apk packages a scanner lists for an image with the packages whose files are in
the image, for tests/e2e.sh and docker/demo.sh:

    inventory.py ROOTFS SYFT_JSON

ROOTFS is the image's files; SYFT_JSON is `syft scan IMAGE -o json` of the same image. The
expected set is computed from ROOTFS alone: a record of ROOTFS/lib/apk/db/installed is present
when at least one of its R: files exists in ROOTFS (a link counts, dangling or not), or when it
owns no file at all (a meta-package such as libc-utils, which nothing can remove). Prints one
line, `N apk packages: NAME ...` (Syft's list), and exits 1 with the differences when the two
sets differ."""
import json, os, sys

root, sbom = sys.argv[1], sys.argv[2]


def records(path):
    """(name, [files]) for each record of an installed database."""
    if not os.path.isfile(path):
        return
    name, folder, files = None, "", []
    for line in open(path, encoding="utf-8", errors="surrogateescape").read().split("\n") + [""]:
        if not line:
            if name is not None:
                yield name, files
            name, folder, files = None, "", []
        elif line.startswith("P:"):
            name = line[2:]
        elif line.startswith("F:"):
            folder = line[2:]
        elif line.startswith("R:"):
            files.append(os.path.join(folder, line[2:]))


expected = set()
for name, files in records(os.path.join(root, "lib/apk/db/installed")):
    if not files or any(os.path.lexists(os.path.join(root, f)) for f in files):
        expected.add(name)
listed = {a["name"] for a in json.load(open(sbom))["artifacts"] if a.get("type") == "apk"}
print(f"{len(listed)} apk packages: {' '.join(sorted(listed))}")
if listed != expected:
    if listed - expected:
        print(f"  listed, but none of their files is in the image: {' '.join(sorted(listed - expected))}")
    if expected - listed:
        print(f"  not listed, but their files are in the image: {' '.join(sorted(expected - listed))}")
    sys.exit(1)
