#!/usr/bin/env python3
"""Lists the platforms of the manifest list in an OCI archive (`make image`), one a line,
sorted: os/architecture[/variant]. For tests/e2e.sh."""
import json, sys, tarfile

with tarfile.open(sys.argv[1]) as t:
    def blob(digest):
        algo, hexd = digest.split(":")
        return json.load(t.extractfile(f"blobs/{algo}/{hexd}"))

    index = json.load(t.extractfile("index.json"))
    entries = index["manifests"]
    # The top index may point at the manifest list rather than hold it.
    while len(entries) == 1 and entries[0]["mediaType"].endswith(("image.index.v1+json", "manifest.list.v2+json")):
        entries = blob(entries[0]["digest"])["manifests"]
    names = []
    for m in entries:
        p = m["platform"]
        names.append("/".join(x for x in (p["os"], p["architecture"], p.get("variant")) if x))
print("\n".join(sorted(names)))
