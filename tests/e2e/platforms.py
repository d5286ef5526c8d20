#!/usr/bin/env python3
"""Lists the platforms of a manifest list, one a line, sorted: os/architecture[/variant]. For
tests/e2e.sh. The argument is an OCI archive (`make image`), or a list as a registry serves it
(`skopeo inspect --raw`), in a file or on stdin (-)."""
import json, sys, tarfile

arg = sys.argv[1]
if arg != "-" and tarfile.is_tarfile(arg):
    with tarfile.open(arg) as t:
        def blob(digest):
            algo, hexd = digest.split(":")
            return json.load(t.extractfile(f"blobs/{algo}/{hexd}"))

        entries = json.load(t.extractfile("index.json"))["manifests"]
        # The top index may point at the manifest list rather than hold it.
        while len(entries) == 1 and entries[0]["mediaType"].endswith(("image.index.v1+json", "manifest.list.v2+json")):
            entries = blob(entries[0]["digest"])["manifests"]
else:
    entries = json.load(sys.stdin if arg == "-" else open(arg))["manifests"]
names = []
for m in entries:
    p = m["platform"]
    names.append("/".join(x for x in (p["os"], p["architecture"], p.get("variant")) if x))
print("\n".join(sorted(names)))
