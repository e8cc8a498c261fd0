"""Write a container image as an OCI image-layout archive, from local files, without a daemon.

No registry is reachable here, so every image the local environment runs is written by this
module: one uncompressed layer (a tar of the given files), an image config, a manifest and an
index that names the image. `docker load`, `kind load image-archive` and
`ctr images import` all read the result. Output is deterministic (mtime 0, sorted entries), so
the same inputs give the same image ID and a cached archive can be compared by its digest.

    python ociimage.py OUT.tar REF --file SRC:/dest[:mode] --link /bin/sh:busybox --dir /tmp \
        [--entrypoint JSON] [--cmd JSON] [--env K=V] [--user UID:GID] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class Image:
    """What goes into one image. Paths inside the image are absolute."""

    ref: str
    files: list[tuple[str, str, int]] = field(default_factory=list)  # (source, dest, mode)
    data: list[tuple[bytes, str, int]] = field(default_factory=list)  # (content, dest, mode)
    links: list[tuple[str, str]] = field(default_factory=list)  # (dest, target)
    dirs: list[str] = field(default_factory=list)
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    env: list[str] = field(default_factory=lambda: [DEFAULT_PATH])
    user: str | None = None
    workdir: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    exposed_ports: list[str] = field(default_factory=list)
    stop_signal: str | None = None


def normalize_ref(ref: str) -> str:
    """docker.io/library/busybox:1.36.1 for busybox:1.36.1, as containerd names images."""
    if ":" in ref.rsplit("/", 1)[-1]:
        name, tag = ref.rsplit(":", 1)
    else:
        name, tag = ref, "latest"
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    return f"{name}:{tag}"


def _member(name: str, kind: bytes, mode: int, size: int = 0, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name.strip("/"))
    info.type, info.mode, info.size, info.linkname = kind, mode, size, linkname
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    return info


def layer_tar(image: Image) -> bytes:
    """The image's single layer: parent directories first, then files, data and links, sorted."""
    entries: dict[str, tuple] = {}
    for src, dest, mode in image.files:
        entries[dest] = ("file", Path(src).read_bytes(), mode)
    for content, dest, mode in image.data:
        entries[dest] = ("file", content, mode)
    for dest, target in image.links:
        entries[dest] = ("link", target, 0o777)
    dirs = set(image.dirs)
    for path in list(entries) + list(image.dirs):
        parts = path.strip("/").split("/")[:-1]
        dirs.update("/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in sorted(dirs):
            tar.addfile(_member(d, tarfile.DIRTYPE, 0o1777 if d.strip("/") == "tmp" else 0o755))
        for dest in sorted(entries):
            kind, payload, mode = entries[dest]
            if kind == "link":
                tar.addfile(_member(dest, tarfile.SYMTYPE, mode, linkname=payload))
            else:
                tar.addfile(_member(dest, tarfile.REGTYPE, mode, size=len(payload)), io.BytesIO(payload))
    return buf.getvalue()


def _blob(tar: tarfile.TarFile, data: bytes | Path) -> tuple[str, int]:
    """Add a blob (bytes, or a file streamed twice: once to hash it, once into the archive)."""
    if isinstance(data, Path):
        digest = hashlib.sha256()
        with open(data, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                digest.update(chunk)
        size = data.stat().st_size
        with open(data, "rb") as fh:
            tar.addfile(_member(f"blobs/sha256/{digest.hexdigest()}", tarfile.REGTYPE, 0o644, size=size), fh)
        return f"sha256:{digest.hexdigest()}", size
    digest = hashlib.sha256(data).hexdigest()
    tar.addfile(_member(f"blobs/sha256/{digest}", tarfile.REGTYPE, 0o644, size=len(data)), io.BytesIO(data))
    return f"sha256:{digest}", len(data)


def write(image: Image, out: Path, layer: Path | None = None) -> str:
    """Write the archive; return the image ID (the config digest), as `docker images` shows it.

    The single layer is made from the image's files, or is the given tar file (e.g. a whole root
    filesystem), streamed rather than held in memory."""
    layer_source: bytes | Path = layer if layer is not None else layer_tar(image)
    config: dict = {"Env": image.env}
    for key, value in (("Entrypoint", image.entrypoint), ("Cmd", image.cmd), ("User", image.user),
                       ("WorkingDir", image.workdir), ("StopSignal", image.stop_signal)):
        if value is not None:
            config[key] = value
    if image.labels:
        config["Labels"] = image.labels
    if image.exposed_ports:
        config["ExposedPorts"] = {p: {} for p in image.exposed_ports}
    ref = normalize_ref(image.ref)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".partial")
    with tarfile.open(tmp, "w") as tar:
        # An uncompressed layer's digest is its diff ID.
        layer_digest, layer_size = _blob(tar, layer_source)
        config_bytes = json.dumps({
            "architecture": "amd64", "os": "linux", "config": config,
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
            "history": [{"created_by": "tests/localenv/ociimage.py"}],
        }, sort_keys=True).encode()
        config_digest, config_size = _blob(tar, config_bytes)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": layer_digest, "size": layer_size}],
        }, sort_keys=True).encode()
        manifest_digest, manifest_size = _blob(tar, manifest)
        index = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
                "size": manifest_size, "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"io.containerd.image.name": ref,
                                "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[1]},
            }],
        }).encode()
        # docker load (20.10) reads manifest.json, the docker-archive index, beside the OCI layout.
        docker_manifest = json.dumps([{
            "Config": f"blobs/sha256/{config_digest.split(':')[1]}", "RepoTags": [ref.removeprefix("docker.io/library/")
                                                                                  .removeprefix("docker.io/")],
            "Layers": [f"blobs/sha256/{layer_digest.split(':')[1]}"],
        }]).encode()
        for name, data in (("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index),
                           ("manifest.json", docker_manifest)):
            tar.addfile(_member(name, tarfile.REGTYPE, 0o644, size=len(data)), io.BytesIO(data))
    tmp.replace(out)
    return config_digest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("ref")
    parser.add_argument("--file", action="append", default=[], help="SRC:/dest[:octal mode]")
    parser.add_argument("--link", action="append", default=[], help="/dest:target")
    parser.add_argument("--dir", action="append", default=[])
    parser.add_argument("--entrypoint", type=json.loads)
    parser.add_argument("--cmd", type=json.loads)
    parser.add_argument("--env", action="append")
    parser.add_argument("--user")
    parser.add_argument("--workdir")
    args = parser.parse_args(argv)
    files = []
    for spec in args.file:
        src, dest, *mode = spec.split(":")
        files.append((src, dest, int(mode[0], 8) if mode else 0o755))
    image = Image(ref=args.ref, files=files, links=[tuple(s.split(":", 1)) for s in args.link], dirs=args.dir,
                  entrypoint=args.entrypoint, cmd=args.cmd, env=args.env or [DEFAULT_PATH], user=args.user,
                  workdir=args.workdir)
    print(f"{args.out}: {normalize_ref(args.ref)} {write(image, Path(args.out))}")


if __name__ == "__main__":
    main()
