#!/usr/bin/env python3
"""Reads an unpacked image, an OCI layout (`buildah push IMAGE oci:DIR`) or a Docker archive
(`docker save IMAGE | tar -x -C DIR`), and prints facts about its layers, one a line, for
tests/e2e.sh:
  layers N                 how many layers
  size BYTES               total bytes of regular files over all layers
  tool-bytes LAYER PATH    a regular file whose bytes are the tool's (sha256 of TOOL)
  whiteout LAYER PATH      a whiteout entry (.wh.NAME)
  config KEY VALUE         Entrypoint/Cmd/User of the image config (JSON)
  diffid N DIGEST          the config's diff ID of layer N (what the debug twin shares)
"""
import gzip, hashlib, json, os, sys, tarfile

oci, tool = sys.argv[1], sys.argv[2]
tool_sha = hashlib.sha256(open(tool, "rb").read()).hexdigest()

def blob(digest):
    algo, hexd = digest.split(":")
    return os.path.join(oci, "blobs", algo, hexd)

if os.path.exists(os.path.join(oci, "manifest.json")):
    # docker save: manifest.json names the config file and the layer tars in order.
    saved = json.load(open(os.path.join(oci, "manifest.json")))[0]
    config = json.load(open(os.path.join(oci, saved["Config"])))
    layers = [{"path": os.path.join(oci, l), "mediaType": "tar"} for l in saved["Layers"]]
else:
    index = json.load(open(os.path.join(oci, "index.json")))
    manifest = json.load(open(blob(index["manifests"][0]["digest"])))
    config = json.load(open(blob(manifest["config"]["digest"])))
    layers = [dict(l, path=blob(l["digest"])) for l in manifest["layers"]]
print("layers", len(layers))
total = 0
for i, layer in enumerate(layers):
    path = layer["path"]
    opener = gzip.open if "gzip" in layer["mediaType"] else open
    with opener(path, "rb") as f, tarfile.open(fileobj=f, mode="r|") as t:
        for m in t:
            name = m.name[2:] if m.name.startswith("./") else m.name.lstrip("/")
            base = os.path.basename(name)
            if base.startswith(".wh."):
                print("whiteout", i, name)
            if m.isfile():
                total += m.size
                data = t.extractfile(m).read()
                if hashlib.sha256(data).hexdigest() == tool_sha:
                    print("tool-bytes", i, name)
print("size", total)
cfg = config.get("config", {})
for key in ("Entrypoint", "Cmd", "User"):
    print("config", key, json.dumps(cfg.get(key)))
for i, diff_id in enumerate(config.get("rootfs", {}).get("diff_ids", [])):
    print("diffid", i, diff_id)
