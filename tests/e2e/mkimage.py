#!/usr/bin/python3
"""Build an OCI image archive (a tar of an OCI image layout) from a root filesystem.

Usage: mkimage.py ROOTFS ARCHIVE [--name REF] [--cmd sh]

No registry is reachable on the CI machines, and skopeo/umoci are optional, so the e2e tests
make their busybox image with this: one gzip layer holding ROOTFS (as built by
bundles/build-rootfs.sh), an image config, a manifest and an ``index.json`` whose manifest
carries REF as ``org.opencontainers.image.ref.name`` (``ctr image import`` names the image
after it; ``podman load`` accepts the archive too). Only the standard library is used.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import platform
import tarfile
from pathlib import Path

ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
        "s390x": "s390x", "riscv64": "riscv64"}


def _layer(rootfs: Path) -> bytes:
    """An uncompressed tar of ROOTFS with root ownership kept and stable timestamps."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(rootfs):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                path = Path(dirpath, name)
                info = tar.gettarinfo(str(path), arcname=str(path.relative_to(rootfs)))
                info.mtime = 0
                info.uname = info.gname = ""
                if info.isfile():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    return buf.getvalue()


def _blob(tar: tarfile.TarFile, data: bytes, media_type: str) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo(f"blobs/sha256/{digest}")
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def _file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def build(rootfs: Path, archive: Path, name: str, cmd: list[str]) -> None:
    layer = _layer(rootfs)
    layer_gz = gzip.compress(layer, compresslevel=6, mtime=0)
    arch = ARCH.get(platform.machine(), platform.machine())
    config = {
        "created": "1970-01-01T00:00:00Z",
        "architecture": arch,
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": cmd,
            "WorkingDir": "/",
        },
        "rootfs": {"type": "layers",
                   "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
        "history": [{"created": "1970-01-01T00:00:00Z",
                     "created_by": "tests/e2e/mkimage.py (busybox-static rootfs)"}],
    }
    with tarfile.open(archive, "w") as tar:
        _file(tar, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        cfg_desc = _blob(tar, json.dumps(config).encode(),
                         "application/vnd.oci.image.config.v1+json")
        layer_desc = _blob(tar, layer_gz, "application/vnd.oci.image.layer.v1.tar+gzip")
        manifest = {"schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": cfg_desc, "layers": [layer_desc]}
        man_desc = _blob(tar, json.dumps(manifest).encode(),
                         "application/vnd.oci.image.manifest.v1+json")
        man_desc["annotations"] = {"org.opencontainers.image.ref.name": name}
        man_desc["platform"] = {"architecture": arch, "os": "linux"}
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                 "manifests": [man_desc]}
        _file(tar, "index.json", json.dumps(index).encode())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("rootfs", type=Path)
    p.add_argument("archive", type=Path)
    p.add_argument("--name", default="localhost/e2e/busybox:latest")
    p.add_argument("--cmd", nargs="+", default=["sh"])
    a = p.parse_args()
    build(a.rootfs, a.archive, a.name, a.cmd)


if __name__ == "__main__":
    main()
