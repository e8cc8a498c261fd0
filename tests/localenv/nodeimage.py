"""The kind node image of the pinned Kubernetes version, built here from source.

kind's published node image (`kindest/node`) is used whenever the Docker engine can pull it. Where
no registry answers, this module builds an equivalent image the way kind's own `build node-image`
does, from parts that can be fetched here:

- a Debian root filesystem made by debootstrap (systemd, containerd, runc, iptables, CNI plugins
  and the rest of what kind's base image installs), with kind's own base-image files taken from the
  kind Go module (entrypoint, systemd units, containerd config, mount hooks);
- kubelet, kubeadm, kubectl and crictl built from source (tests/localenv/build.sh);
- every image kubeadm and kind start, written as archives by ociimage.py from binaries built from
  source (control plane, etcd, CoreDNS, kube-proxy, pause, local-path-provisioner and its helper)
  and preloaded into the image's containerd store, tagged with the references kubeadm expects.

The result is cached as a root filesystem tar under $NSFT_CACHE_DIR/images, named by a digest of
every input, and `docker import`ed into the engine on demand. Nothing in it is host-specific: what
depends on the host (the CAP_SYS_RESOURCE workaround) is applied when the cluster is created.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.lib.paths import CACHE_DIR, pinned_versions  # noqa: E402
from tests.localenv import ociimage  # noqa: E402

BIN = CACHE_DIR / "bin"
IMAGES = CACHE_DIR / "images"
RECIPE_VERSION = "1"  # bump when the recipe below changes in a way the inputs do not show

# What kind's base image installs (images/base/Dockerfile), minus what only rootless or
# NFS/iSCSI clients need, plus containerd and runc (kind builds its own; Debian's serve here).
PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "containerd", "runc", "containernetworking-plugins",
    "conntrack", "iptables", "nftables", "iproute2", "ethtool", "util-linux", "mount", "kmod",
    "libseccomp2", "pigz", "bash", "ca-certificates", "curl", "jq", "procps", "socat", "ebtables",
]
CNI_PLUGINS = ("host-local", "loopback", "ptp", "portmap", "bridge")


def log(msg: str) -> None:
    print(f"[nodeimage {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def kind_module_dir(kind_version: str) -> Path:
    """The kind Go module's source (base-image files, storage manifest), from the module cache."""
    out = subprocess.run(["go", "mod", "download", "-json", f"sigs.k8s.io/kind@{kind_version}"],
                         capture_output=True, text=True, check=True, cwd=tempfile.gettempdir(),
                         env={**os.environ, "GOFLAGS": "-mod=mod"})
    return Path(json.loads(out.stdout)["Dir"])


def debian_source() -> tuple[str, str]:
    """(suite, mirror) for debootstrap: the host's own Debian suite and mirror where it has them."""
    mirror = os.environ.get("NSFT_DEBIAN_MIRROR", "")
    suite = os.environ.get("NSFT_DEBIAN_SUITE", "")
    if not suite:
        release = Path("/etc/os-release").read_text() if Path("/etc/os-release").exists() else ""
        found = re.search(r"^VERSION_CODENAME=(\w+)", release, re.M)
        suite = found.group(1) if found and "ID=debian" in release else "bookworm"
    if not mirror:
        texts = [p.read_text() for p in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]
                 if p.is_file()]
        for text in texts:
            found = re.search(r"^(?:URIs:|deb)\s+(?:\[[^]]*\]\s+)?(https?://\S+/debian)/?\s*$", text, re.M)
            if found:
                mirror = found.group(1)
                break
    return suite, mirror or "http://deb.debian.org/debian"


def image_refs(v: dict[str, str]) -> dict[str, str]:
    """The image references kubeadm (`kubeadm config images list`) and kind's manifests ask for."""
    kube = v["KUBE_VERSION"]
    etcd = v["ETCD_VERSION"].lstrip("v")
    return {
        "kube-apiserver": f"registry.k8s.io/kube-apiserver:{kube}",
        "kube-controller-manager": f"registry.k8s.io/kube-controller-manager:{kube}",
        "kube-scheduler": f"registry.k8s.io/kube-scheduler:{kube}",
        "kube-proxy": f"registry.k8s.io/kube-proxy:{kube}",
        "etcd": f"registry.k8s.io/etcd:{etcd}-0",
        "coredns": f"registry.k8s.io/coredns/coredns:{v['COREDNS_VERSION']}",
        "pause": f"registry.k8s.io/pause:{v['PAUSE_VERSION']}",
        # kind's containerd config names its own sandbox image; the same pause binary serves both.
        "pause-kind": "registry.k8s.io/pause:3.10",
        "local-path-provisioner": "docker.io/kindest/local-path-provisioner:v20250214-acbabc1a",
        "local-path-helper": "docker.io/kindest/local-path-helper:v20241212-8ac705d0",
    }


def binary(name: str, version: str) -> Path:
    path = BIN / f"{name}-{version}"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `bash tests/localenv/build.sh kind` first")
    return path


def inputs(v: dict[str, str]) -> dict[str, Path]:
    kube = v["KUBE_VERSION"]
    return {
        **{name: binary(name, kube) for name in (
            "kubelet", "kubeadm", "kubectl", "kube-proxy", "kube-apiserver", "kube-controller-manager",
            "kube-scheduler")},
        "etcd": binary("etcd", v["ETCD_VERSION"]),
        "coredns": binary("coredns", v["COREDNS_VERSION"]),
        "pause": binary("pause", v["PAUSE_VERSION"]),
        "crictl": binary("crictl", v["CRICTL_VERSION"]),
        "local-path-provisioner": binary("local-path-provisioner", v["LPP_VERSION"]),
        "busybox": Path(shutil.which("busybox") or "/bin/busybox"),
    }


def digest(v: dict[str, str], files: dict[str, Path], kind_dir: Path) -> str:
    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    h.update(json.dumps([RECIPE_VERSION, sorted(v.items()), PACKAGES, debian_source()[0]]).encode())
    for name in sorted(files):
        h.update(name.encode())
        with open(files[name], "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    for path in sorted((kind_dir / "images" / "base" / "files").rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(kind_dir)).encode() + path.read_bytes())
    return h.hexdigest()[:16]


def run(cmd: list[str], check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=check, **kw)


def debootstrap(root: Path, logfile: Path) -> None:
    suite, mirror = debian_source()
    if not shutil.which("debootstrap"):
        raise RuntimeError("debootstrap is required to build the kind node image (apt-get install debootstrap)")
    log(f"debootstrap {suite} from {mirror} (minbase + {len(PACKAGES)} packages; a few minutes)")
    with open(logfile, "w") as fh:
        res = subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", suite,
                              str(root), mirror], stdout=fh, stderr=subprocess.STDOUT, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"debootstrap failed (exit {res.returncode}); see {logfile}")
    for leftover in (root / "var" / "cache" / "apt" / "archives").glob("*.deb"):
        leftover.unlink()
    shutil.rmtree(root / "var" / "lib" / "apt" / "lists", ignore_errors=True)
    (root / "var" / "lib" / "apt" / "lists" / "partial").mkdir(parents=True, exist_ok=True)


def place(dst: Path) -> Path:
    """dst ready to be written in the rootfs: parents made, and never through a symlink (an
    absolute link in the rootfs points at the HOST's file)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink():
        dst.unlink()
    return dst


def install_kind_base(root: Path, kind_dir: Path) -> None:
    """kind's base-image files, adapted to Debian's containerd (no fuse-overlayfs, /usr/bin paths)."""
    files = kind_dir / "images" / "base" / "files"
    for sub, mode in (("usr/local/bin", 0o755), ("kind/bin", 0o755)):
        for src in (files / sub).iterdir():
            dst = place(root / sub / src.name)
            shutil.copyfile(src, dst)
            dst.chmod(mode)
    shutil.copyfile(files / "kind" / "README.txt", place(root / "kind" / "README.txt"))
    # File by file: the module cache's directories are read-only, and their modes must not spread.
    for src in (files / "etc").rglob("*"):
        if src.is_file():
            dst = place(root / "etc" / src.relative_to(files / "etc"))
            shutil.copyfile(src, dst)
            dst.chmod(0o644)
    (root / "etc" / "systemd" / "system" / "containerd-fuse-overlayfs.service").unlink(missing_ok=True)
    config = root / "etc" / "containerd" / "config.toml"
    text = config.read_text()
    # Drop the fuse-overlayfs proxy snapshotter (rootless only; not installed here).
    text = re.sub(r"\[proxy_plugins\][^\[]*\[proxy_plugins\.\"fuse-overlayfs\"\][^\[]*", "", text)
    config.write_text(text)
    unit = root / "etc" / "systemd" / "system" / "containerd.service"
    unit.write_text(unit.read_text().replace("/usr/local/bin/containerd", "/usr/bin/containerd"))
    for d in ("kind/manifests", "etc/kubernetes/manifests", "opt/cni/bin", "etc/cni/net.d"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for plugin in CNI_PLUGINS:
        shutil.copy2(root / "usr" / "lib" / "cni" / plugin, place(root / "opt" / "cni" / "bin" / plugin))
    # The base runtime spec kind's containerd config points at: containerd's default spec, with
    # kind's mount hook (product_uuid/product_name per node) and without rlimits.
    spec = json.loads(run(["chroot", str(root), "ctr", "oci", "spec"], capture_output=True, text=True).stdout)
    spec.setdefault("hooks", {}).setdefault("createContainer", []).append({"path": "/kind/bin/mount-product-files.sh"})
    spec["process"].pop("rlimits", None)
    place(root / "etc" / "containerd" / "cri-base.json").write_text(json.dumps(spec, indent=2))
    # systemd as kind's base image sets it up (images/base/Dockerfile).
    run(["chroot", str(root), "/bin/sh", "-ec", """
find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
  /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
  /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
echo ReadKMsg=no >> /etc/systemd/journald.conf
systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
systemctl mask systemd-binfmt.service >/dev/null 2>&1
"""])


def storage_manifest(kind_dir: Path, refs: dict[str, str]) -> str:
    """kind's default StorageClass manifest (local-path-provisioner), with its image references."""
    src = (kind_dir / "pkg" / "build" / "nodeimage" / "const_storage.go").read_text()
    body = src.split("const defaultStorageManifest = `", 1)[1]
    body = body.replace("` + storageProvisionerImage + `", refs["local-path-provisioner"])
    body = body.replace("` + storageHelperImage + `", refs["local-path-helper"])
    return body.split("`", 1)[0]


def kube_proxy_image(root: Path, ref: str, kube_proxy: Path) -> ociimage.Image:
    """kube-proxy with iptables (nft and legacy), conntrack and their libraries from the rootfs."""
    tools = ["usr/sbin/xtables-nft-multi", "usr/sbin/xtables-legacy-multi", "usr/sbin/conntrack"]
    modules = sorted((root / "usr/lib/x86_64-linux-gnu/xtables").glob("*.so"))
    ldd = run(["chroot", str(root), "ldd", *["/" + t for t in tools], *["/" + str(m.relative_to(root)) for m in modules]],
              capture_output=True, text=True).stdout
    libs = sorted({m.group(1) for m in re.finditer(r"=> (/\S+)", ldd)} | {"/lib64/ld-linux-x86-64.so.2"})
    image = ociimage.Image(ref=ref, entrypoint=["/usr/local/bin/kube-proxy"], dirs=["/tmp", "/run", "/var/lib"])
    image.files.append((str(kube_proxy), "/usr/local/bin/kube-proxy", 0o755))
    for tool in tools:
        image.files.append((str(root / tool), "/" + tool, 0o755))
    for module in modules:
        image.files.append((str(module), "/" + str(module.relative_to(root)), 0o644))
    for lib in libs:
        real = (root / lib.lstrip("/")).resolve()
        if not str(real).startswith(str(root)):  # an absolute symlink inside the rootfs
            real = root / os.readlink(root / lib.lstrip("/")).lstrip("/")
        dest = "/usr/lib64/ld-linux-x86-64.so.2" if lib.startswith("/lib64/") else "/usr/lib/x86_64-linux-gnu/" + Path(lib).name
        image.files.append((str(real), dest, 0o755))
    for name in ("lib", "lib64", "bin", "sbin"):
        image.links.append((f"/{name}", f"usr/{name}"))
    for base in ("iptables", "ip6tables"):
        for suffix in ("", "-save", "-restore"):
            image.links.append((f"/usr/sbin/{base}{suffix}", "xtables-nft-multi"))
            image.links.append((f"/usr/sbin/{base}-nft{suffix}", "xtables-nft-multi"))
            image.links.append((f"/usr/sbin/{base}-legacy{suffix}", "xtables-legacy-multi"))
    for etc in ("protocols", "services", "ethertypes"):
        if (root / "etc" / etc).exists():
            image.files.append((str(root / "etc" / etc), f"/etc/{etc}", 0o644))
    return image


def component_images(root: Path, files: dict[str, Path], refs: dict[str, str]) -> list[ociimage.Image]:
    Image = ociimage.Image
    busybox = str(files["busybox"])
    helper_tools = ["sh", "rm", "mkdir", "chmod", "ls", "cat", "mv", "sleep"]
    return [
        *[Image(ref=refs[c], files=[(str(files[c]), f"/usr/local/bin/{c}", 0o755)], dirs=["/tmp"])
          for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler")],
        Image(ref=refs["etcd"], files=[(str(files["etcd"]), "/usr/local/bin/etcd", 0o755)],
              dirs=["/tmp", "/var/lib/etcd"]),
        # As root: kubeadm's Deployment adds NET_BIND_SERVICE for port 53, which a non-root user
        # gets only through a file capability on the binary (upstream's image sets one).
        Image(ref=refs["coredns"], files=[(str(files["coredns"]), "/coredns", 0o755)], entrypoint=["/coredns"],
              dirs=["/tmp"]),
        Image(ref=refs["pause"], files=[(str(files["pause"]), "/pause", 0o755)], entrypoint=["/pause"],
              user="65535:65535"),
        Image(ref=refs["pause-kind"], files=[(str(files["pause"]), "/pause", 0o755)], entrypoint=["/pause"],
              user="65535:65535"),
        Image(ref=refs["local-path-provisioner"],
              files=[(str(files["local-path-provisioner"]), "/usr/local/bin/local-path-provisioner", 0o755)],
              dirs=["/tmp"]),
        Image(ref=refs["local-path-helper"], files=[(busybox, "/bin/busybox", 0o755)],
              links=[(f"/bin/{t}", "busybox") for t in helper_tools], dirs=["/tmp"]),
        kube_proxy_image(root, refs["kube-proxy"], files["kube-proxy"]),
    ]


def preload(root: Path, archives: list[Path], work: Path) -> None:
    """Import the image archives into the rootfs's containerd store with a temporary containerd."""
    sock = Path(tempfile.mkdtemp(prefix="nsft-ctrd-", dir="/run" if os.access("/run", os.W_OK) else None)) / "sock"
    config = work / "containerd.toml"
    config.write_text(f"""version = 2
root = "{root / 'var/lib/containerd'}"
state = "{sock.parent / 'state'}"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
""")
    with open(work / "containerd.log", "w") as fh:
        proc = subprocess.Popen(["containerd", "--config", str(config)], stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the temporary containerd did not start; see {work / 'containerd.log'}")
            time.sleep(0.1)
        for archive in archives:
            run(["ctr", "-a", str(sock), "-n", "k8s.io", "images", "import", "--snapshotter", "overlayfs",
                 str(archive)], stdout=subprocess.DEVNULL)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(sock.parent, ignore_errors=True)


def build_node_image(out: Path, ref: str, v: dict[str, str], files: dict[str, Path], kind_dir: Path) -> None:
    t0 = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="node-", dir=CACHE_DIR / "build"))
    root = work / "rootfs"
    try:
        debootstrap(root, work / "debootstrap.log")
        log(f"rootfs ready ({time.monotonic() - t0:.0f}s); adding kind's base files and Kubernetes {v['KUBE_VERSION']}")
        install_kind_base(root, kind_dir)
        for name in ("kubelet", "kubeadm", "kubectl"):
            shutil.copy2(files[name], place(root / "usr" / "bin" / name))
        shutil.copy2(files["crictl"], place(root / "usr" / "local" / "bin" / "crictl"))
        place(root / "kind" / "version").write_text(v["KUBE_VERSION"])
        refs = image_refs(v)
        place(root / "kind" / "manifests" / "default-storage.yaml").write_text(storage_manifest(kind_dir, refs))
        log("writing the control-plane, DNS, proxy, pause and storage images")
        archives = []
        for image in component_images(root, files, refs):
            archive = work / "images" / (re.sub(r"[^A-Za-z0-9.-]+", "_", image.ref) + ".tar")
            ociimage.write(image, archive)
            archives.append(archive)
        log(f"preloading {len(archives)} images into the node's containerd store")
        preload(root, archives, work)
        log("writing the root filesystem and the node image archive")
        rootfs_tar = work / "rootfs.tar"
        run(["tar", "-C", str(root), "--numeric-owner", "--xattrs", "--xattrs-include=*", "-cf", str(rootfs_tar), "."])
        shutil.rmtree(root)
        # kind's base image metadata (images/base/Dockerfile): systemd detects the container and
        # stops on SIGRTMIN+3; kind overrides the entrypoint at create time.
        node = ociimage.Image(ref=ref, env=["container=docker", ociimage.DEFAULT_PATH], stop_signal="SIGRTMIN+3",
                              entrypoint=["/usr/local/bin/entrypoint", "/sbin/init"])
        ociimage.write(node, out, layer=rootfs_tar)
        log(f"node image {ref} cached as {out.name} ({out.stat().st_size >> 20} MiB) in {time.monotonic() - t0:.0f}s")
    finally:
        from tests.localenv.engine import mounts_under

        for point in mounts_under(work):  # what a failed debootstrap may leave mounted (proc, sys)
            subprocess.run(["umount", "-l", point], check=False)
        shutil.rmtree(work, ignore_errors=True)


def ensure(docker: list[str], can_pull: bool = True) -> str:
    """Make the node image available to the Docker engine `docker` (a command prefix); return its ref.

    kindest/node of the pinned version when the engine has it or can pull it (`can_pull`: a private
    engine in a namespace without a route out cannot), else the image built here."""
    v = pinned_versions()
    kube = v["KUBE_VERSION"]
    upstream = f"kindest/node:{kube}"
    if run([*docker, "image", "inspect", upstream], capture_output=True, check=False).returncode == 0:
        return upstream
    reason = "the engine has no route to a registry"
    if can_pull:
        pulled = subprocess.run([*docker, "pull", upstream], capture_output=True, text=True, timeout=600, check=False)
        if pulled.returncode == 0:
            log(f"pulled {upstream}")
            return upstream
        reason = (pulled.stderr.strip().splitlines() or ["no answer"])[-1][:160]
    files = inputs(v)
    kind_dir = kind_module_dir(v["KIND_VERSION"])
    tag = digest(v, files, kind_dir)
    ref = f"nsft.local/kind-node:{kube}-{tag}"
    if run([*docker, "image", "inspect", ref], capture_output=True, check=False).returncode == 0:
        return ref
    log(f"{upstream} cannot be pulled ({reason}); using a node image built from source")
    IMAGES.mkdir(parents=True, exist_ok=True)
    (CACHE_DIR / "build").mkdir(parents=True, exist_ok=True)
    archive = IMAGES / f"kind-node-{kube}-{tag}.tar"
    if not archive.exists():
        for stale in IMAGES.glob(f"kind-node-{kube}-*.tar"):
            stale.unlink()
        build_node_image(archive, ref, v, files, kind_dir)
    t0 = time.monotonic()
    run([*docker, "load", "-i", str(archive)], stdout=subprocess.DEVNULL)
    log(f"loaded {ref} into the engine in {time.monotonic() - t0:.0f}s")
    return ref


if __name__ == "__main__":
    print(ensure(sys.argv[1:] or ["docker"]))
