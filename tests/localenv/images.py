"""The container images the roles and the tests run, written locally (no registry, no daemon).

No registry is reachable here, so each image that `roles/stan` and `playbooks/failover_drill.yml`
reference is written by ociimage.py from binaries built by tests/localenv/build.sh and from
Debian's busybox-static (`/bin/busybox`, package busybox-static), tagged with the reference the
role or playbook uses, so the manifests run unchanged. Each archive is cached under
$NSFT_CACHE_DIR/images by a digest of everything that goes into it; `build_all()` returns
(reference, archive) pairs for `kind load image-archive`.

What each image holds, and how it compares with the upstream image of the same tag:

- `nats-streaming:0.25.6-alpine` (roles/stan `stan_image`). Upstream (nats-io/nats-streaming-docker,
  0.25.6/alpine3.18): FROM alpine:3.18; ENV NATS_STREAMING_SERVER 0.25.6; the release binary in
  /usr/local/bin; ca-certificates; /usr/local/bin/docker-entrypoint.sh; EXPOSE 4222 8222;
  ENTRYPOINT ["docker-entrypoint.sh"] (found through PATH); CMD ["nats-streaming-server", "-m",
  "8222"]; no USER (root) and no WORKDIR. The entrypoint script prefixes `nats-streaming-server`
  when there are no arguments or the first one starts with "-", and otherwise runs the arguments
  as a command. Here: the same config (entrypoint, command, exposed ports, environment, no user,
  no working directory) and an entrypoint script with the same behaviour, so the role's
  `args: ["-sc", "/etc/stan-config/stan.conf"]` become `nats-streaming-server -sc …` as upstream;
  the server is nats-streaming-server v0.25.6 built from source with `go install`; busybox stands
  in for alpine's userland (alpine's is busybox too); no CA bundle (nothing here uses TLS).
- `busybox:1.36.1` (roles/stan `stan_init_image`, the init container's `sh -c "mkdir … && chown …"`).
  The tag is the role's reference; the content is Debian's busybox-static 1.35 with a link per
  applet, CMD ["sh"] as upstream's busybox image.
- `natsio/nats-box:0.13.8` (failover_drill.yml `drill_image`: the Jobs run `/bin/sh -ec` with
  stan-pub, stan-sub, seq, grep, mktemp, sleep, kill). Upstream (nats-io/nats-box v0.13.8):
  alpine 3.17 with stan-pub/stan-sub/stan-bench (stan.go v0.10.4), nats, nsc and nats-top in
  /usr/local/bin, curl, jq, figlet, a `nats` user (1000); ENTRYPOINT ["/entrypoint.sh"], CMD
  ["/bin/sh"] (alpine's), WORKDIR /root, NKEYS_PATH/XDG_* variables. Here: stan-pub and stan-sub
  v0.10.4 (the same version) in /usr/local/bin, busybox, the same entrypoint behaviour, working
  directory, variables and user; not nats, nsc, nats-top, stan-bench, curl, jq or figlet.
- `nats:2.15.3-alpine` (roles/nats_jetstream `nats_jetstream_image`; the role passes
  `--config <its nats.conf> --pid <file>` and a preStop hook runs `nats-server --signal ldm=...`).
  Upstream (nats-io/nats-docker, 2.x/alpine): FROM alpine; ENV NATS_SERVER <version>; nats-server
  in /usr/local/bin; a default /etc/nats/nats-server.conf; docker-entrypoint.sh, which prefixes
  `nats-server` when the first argument is an option; EXPOSE 4222 6222 8222; ENTRYPOINT
  ["docker-entrypoint.sh"]; CMD ["nats-server", "--config", "/etc/nats/nats-server.conf"]; no USER.
  Here: the same config and entrypoint behaviour, nats-server built from source at the version the
  tag names, a minimal default config of the project's own (client 4222, monitoring 8222), busybox
  for alpine's userland.
- the CSI node stand-in (tests/localenv/csi-standin), `localhost/nsft-csi-standin:<digest>`.
- the pod network (tests/localenv/podnetwork.py), `localhost/nsft-pod-network:<digest>`: the pinned
  kubectl, busybox (`ip`) and the reconcile script.
- the tests' own STAN client (tests/stan/stanclient, stan.go v0.10.4, a static binary),
  `localhost/nsft-stanclient:<digest>`: the fault tests (tests/e2e/test_faults.py) run its
  `stream` publisher and its subscriber in pods. Nothing else is in it.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.lib.paths import BIN_DIR, CACHE_DIR  # noqa: E402
from tests.localenv import ociimage  # noqa: E402

IMAGES = CACHE_DIR / "images"
BUSYBOX_CANDIDATES = (Path("/bin/busybox"), Path("/usr/bin/busybox"))
STAN_SERVER_VERSION = "0.25.6"
CSI_STANDIN_NAME = "localhost/nsft-csi-standin"
STANCLIENT_NAME = "localhost/nsft-stanclient"
# Bumped when this module changes what goes into an image, so cached archives are rewritten.
RECIPE = "1"

PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = b"root:x:0:\nnogroup:x:65534:\n"

STAN_ENTRYPOINT = b"""#!/bin/sh
# Entrypoint of the locally written nats-streaming image, with the upstream image's behaviour:
# no arguments, or a first argument that is an option ("-sc ..."), run nats-streaming-server
# with them; anything else is a command run instead of the server.
set -e
if [ "$#" -eq 0 ]; then
    set -- nats-streaming-server
fi
case "$1" in
    -*) set -- nats-streaming-server "$@" ;;
esac
exec "$@"
"""

NATS_BOX_ENTRYPOINT = b"""#!/bin/sh
# Entrypoint of the locally written nats-box image, with the upstream image's behaviour: leave
# the image's /root for $HOME when they differ, then run the arguments or a login shell.
if [ "$HOME" != /root ] && [ "$PWD" = /root ]; then
    cd "$HOME"
fi
if [ "$#" -gt 0 ]; then
    exec "$@"
fi
exec /bin/sh -l
"""


# ------------------------------------------------------------------------------ references
def role_refs() -> dict[str, str]:
    """The references the manifests use, read from where they are set (never a second copy)."""
    defaults = yaml.safe_load((REPO / "roles" / "stan" / "defaults" / "main.yml").read_text())
    nats = yaml.safe_load((REPO / "roles" / "nats_jetstream" / "defaults" / "main.yml").read_text())
    drill = yaml.safe_load((REPO / "playbooks" / "failover_drill.yml").read_text())[0]["vars"]
    return {"stan": defaults["stan_image"], "init": defaults["stan_init_image"], "drill": drill["drill_image"],
            "nats": nats["nats_jetstream_image"]}


# ------------------------------------------------------------------------------ inputs
def busybox() -> Path:
    """Debian's static busybox; a dynamically linked one would not run in an image without libc."""
    for path in BUSYBOX_CANDIDATES:
        if path.is_file():
            if not is_static(path):
                raise RuntimeError(f"{path} is dynamically linked: install Debian's busybox-static (apt-get install busybox-static)")
            return path
    raise FileNotFoundError("no /bin/busybox: install Debian's busybox-static (apt-get install busybox-static)")


def is_static(path: Path) -> bool:
    """True when the ELF executable has no program interpreter (PT_INTERP), i.e. needs no libc."""
    with open(path, "rb") as fh:
        head = fh.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:
            raise RuntimeError(f"{path} is not a 64-bit ELF executable")
        phoff, = struct.unpack_from("<Q", head, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
        fh.seek(phoff)
        table = fh.read(phentsize * phnum)
    return all(struct.unpack_from("<I", table, i * phentsize)[0] != 3 for i in range(phnum))


def cached_binary(name: str) -> Path:
    path = BIN_DIR / name
    if not path.exists():
        target = "csi" if name == "csi-standin" else "stan"
        raise FileNotFoundError(f"{path} is missing: run tests/localenv/build.sh {target} (or set NSFT_CACHE_DIR)")
    return path.resolve()


def with_busybox(image: ociimage.Image) -> ociimage.Image:
    """Add busybox and one symlink per applet at the path busybox lists for it."""
    bb = busybox()
    applets = subprocess.run([str(bb), "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    image.files.append((str(bb), "/bin/busybox", 0o755))
    image.links.extend(("/" + applet, "/bin/busybox") for applet in applets if applet != "bin/busybox")
    image.dirs.extend(["/tmp", "/root", "/etc"])
    return image


# ------------------------------------------------------------------------------ images
def stan_image() -> ociimage.Image:
    image = ociimage.Image(
        ref=role_refs()["stan"],
        files=[(str(cached_binary("nats-streaming-server")), "/usr/local/bin/nats-streaming-server", 0o755)],
        data=[(STAN_ENTRYPOINT, "/usr/local/bin/docker-entrypoint.sh", 0o755), (PASSWD, "/etc/passwd", 0o644),
              (GROUP, "/etc/group", 0o644)],
        entrypoint=["docker-entrypoint.sh"],
        cmd=["nats-streaming-server", "-m", "8222"],
        env=[ociimage.DEFAULT_PATH, f"NATS_STREAMING_SERVER={STAN_SERVER_VERSION}"],
        exposed_ports=["4222/tcp", "8222/tcp"],
        labels={"org.opencontainers.image.description": "written locally by tests/localenv/images.py, not the upstream image"},
    )
    return with_busybox(image)


def busybox_image() -> ociimage.Image:
    image = ociimage.Image(
        ref=role_refs()["init"], cmd=["sh"],
        data=[(PASSWD, "/etc/passwd", 0o644), (GROUP, "/etc/group", 0o644)],
        labels={"org.opencontainers.image.description": "Debian busybox-static, tagged with the stan role's reference"},
    )
    return with_busybox(image)


def nats_box_image() -> ociimage.Image:
    image = ociimage.Image(
        ref=role_refs()["drill"],
        files=[(str(cached_binary(name)), f"/usr/local/bin/{name}", 0o755) for name in ("stan-pub", "stan-sub")],
        data=[(NATS_BOX_ENTRYPOINT, "/entrypoint.sh", 0o755),
              (PASSWD + b"nats:x:1000:1000::/home/nats:/bin/sh\n", "/etc/passwd", 0o644),
              (GROUP + b"nats:x:1000:nats\n", "/etc/group", 0o644)],
        dirs=["/home/nats", "/nsc"],
        entrypoint=["/entrypoint.sh"],
        cmd=["/bin/sh"],
        env=[ociimage.DEFAULT_PATH, "NKEYS_PATH=/nsc/nkeys", "XDG_DATA_HOME=/nsc", "XDG_CONFIG_HOME=/nsc/.config"],
        workdir="/root",
        labels={"org.opencontainers.image.description": "stan-pub and stan-sub v0.10.4 on busybox, written locally"},
    )
    return with_busybox(image)


NATS_ENTRYPOINT = b"""#!/bin/sh
# Entrypoint of the locally written nats image, with the upstream image's behaviour: a first
# argument that is an option ("--config ...") runs nats-server with the arguments.
set -e
case "$1" in
    -*) set -- nats-server "$@" ;;
esac
exec "$@"
"""

NATS_DEFAULT_CONFIG = b"""# Default configuration of the locally written nats image (the roles pass their own).
port: 4222
http_port: 8222
"""


def nats_image() -> ociimage.Image:
    ref = role_refs()["nats"]
    version = ref.rsplit(":", 1)[1].split("-", 1)[0]
    built = cached_binary("nats-server")
    if built.name != f"nats-server-v{version}":
        raise RuntimeError(f"{ref} needs nats-server v{version}; tests/localenv/build.sh built {built.name}: "
                           "make NATS_SERVER_VERSION and nats_jetstream_image agree")
    image = ociimage.Image(
        ref=ref,
        files=[(str(built), "/usr/local/bin/nats-server", 0o755)],
        data=[(NATS_ENTRYPOINT, "/usr/local/bin/docker-entrypoint.sh", 0o755),
              (NATS_DEFAULT_CONFIG, "/etc/nats/nats-server.conf", 0o644),
              (PASSWD, "/etc/passwd", 0o644), (GROUP, "/etc/group", 0o644)],
        entrypoint=["docker-entrypoint.sh"],
        cmd=["nats-server", "--config", "/etc/nats/nats-server.conf"],
        env=[ociimage.DEFAULT_PATH, f"NATS_SERVER={version}"],
        exposed_ports=["4222/tcp", "6222/tcp", "8222/tcp"],
        labels={"org.opencontainers.image.description": "written locally by tests/localenv/images.py, not the upstream image"},
    )
    return with_busybox(image)


def csi_standin_ref() -> str:
    """Tagged by the binary's digest, so a rebuilt stand-in is a new image the DaemonSet rolls to."""
    digest = hashlib.sha256(cached_binary("csi-standin").read_bytes()).hexdigest()[:12]
    return f"{CSI_STANDIN_NAME}:{digest}"


def csi_standin_image() -> ociimage.Image:
    return ociimage.Image(
        ref=csi_standin_ref(),
        files=[(str(cached_binary("csi-standin")), "/csi-standin", 0o755)],
        entrypoint=["/csi-standin"],
        labels={"org.opencontainers.image.description": "CSI node stand-in for efs.csi.aws.com and file.csi.azure.com"},
    )


def pod_network_image() -> ociimage.Image:
    from tests.localenv import podnetwork

    image = ociimage.Image(
        ref="localhost/nsft-pod-network:latest",
        files=[(str(cached_binary("kubectl")), "/usr/local/bin/kubectl", 0o755)],
        data=[(podnetwork.SCRIPT.encode(), "/usr/local/bin/nsft-pod-network", 0o755),
              (PASSWD, "/etc/passwd", 0o644), (GROUP, "/etc/group", 0o644)],
        dirs=["/tmp"],
        labels={"org.opencontainers.image.description": "the local cluster's pod network (kindnetd's job)"},
    )
    image = with_busybox(image)
    # Tagged by content, so a changed script or kubectl is a new image the DaemonSet rolls to.
    image.ref = f"localhost/nsft-pod-network:{content_key(image)[:12]}"
    return image


def stanclient_binary() -> Path:
    from tests.lib.stanclient import build_stanclient

    return build_stanclient()


def stanclient_ref() -> str:
    """Tagged by the binary's digest, like the stand-in: a changed client is a new image."""
    digest = hashlib.sha256(stanclient_binary().read_bytes()).hexdigest()[:12]
    return f"{STANCLIENT_NAME}:{digest}"


def stanclient_image() -> ociimage.Image:
    return ociimage.Image(
        ref=stanclient_ref(),
        files=[(str(stanclient_binary()), "/stanclient", 0o755)],
        entrypoint=["/stanclient"],
        labels={"org.opencontainers.image.description": "the tests' STAN client (tests/stan/stanclient), written locally"},
    )


IMAGE_BUILDERS = (stan_image, busybox_image, nats_box_image, nats_image, csi_standin_image, pod_network_image,
                  stanclient_image)


# ------------------------------------------------------------------------------ cache
def content_key(image: ociimage.Image) -> str:
    """A digest of everything the archive is made of: file contents, data, links and config."""
    h = hashlib.sha256(RECIPE.encode())
    for src, dest, mode in sorted(image.files):
        h.update(f"{dest}:{mode:o}:".encode())
        h.update(hashlib.sha256(Path(src).read_bytes()).digest())
    for content, dest, mode in sorted(image.data):
        h.update(f"{dest}:{mode:o}:".encode() + hashlib.sha256(content).digest())
    spec = {k: getattr(image, k) for k in ("ref", "links", "dirs", "entrypoint", "cmd", "env", "user", "workdir",
                                           "labels", "exposed_ports")}
    h.update(json.dumps(spec, sort_keys=True).encode())
    return h.hexdigest()[:16]


def file_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", text)


def write_cached(image: ociimage.Image, cache: Path = IMAGES) -> Path:
    """The image's archive, written only when no archive of the same content exists; archives of
    older content or other tags of the same repository (the stand-in's tag is a digest) go."""
    ref = ociimage.normalize_ref(image.ref)
    out = cache / f"{file_safe(ref)}-{content_key(image)}.tar"
    if not out.exists():
        ociimage.write(image, out)
    for old in cache.glob(f"{file_safe(ref.rsplit(':', 1)[0])}_*.tar"):
        if old != out:
            old.unlink()
    return out


def build_all(cache: Path = IMAGES) -> list[tuple[str, Path]]:
    """(reference, archive) for every image the local cluster needs, for `kind load image-archive`."""
    out = []
    for builder in IMAGE_BUILDERS:
        image = builder()
        out.append((image.ref, write_cached(image, cache)))
    return out


def main() -> None:
    for ref, path in build_all():
        print(f"{ociimage.normalize_ref(ref)}\t{path}")


if __name__ == "__main__":
    main()
