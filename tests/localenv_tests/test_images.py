"""The locally written images, checked without a cluster or a container engine.

Each archive is opened and its config and files compared with what the manifests expect; then
each image's root filesystem is unpacked and its entrypoint run inside it with chroot (root
only) as the user the manifests set: the STAN image with the role's own stan.conf and args
(`-sc /etc/stan-config/stan.conf`) as uid 1000, the drill image's stan-pub and stan-sub against
that server, the init image's mkdir/chown command, the stand-in's binary. Servers listen on
127.0.0.1 on free ports and are stopped by their PID.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import stat
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from tests.lib import procs
from tests.lib.stan import StanCluster, http_get
from tests.localenv import images, ociimage

CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"
CONF_IN_POD = "/etc/stan-config/stan.conf"  # where the role mounts its ConfigMap
STORE_IN_POD = "/data/stan/store"  # stan_store_dir's default


class Archive:
    """An image archive as `kind load` / `ctr images import` read it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with tarfile.open(path) as tar:

            def blob(digest: str) -> bytes:
                return tar.extractfile(f"blobs/sha256/{digest.split(':')[1]}").read()

            self.index = json.loads(tar.extractfile("index.json").read())
            self.docker_manifest = json.loads(tar.extractfile("manifest.json").read())
            manifest = json.loads(blob(self.index["manifests"][0]["digest"]))
            self.config = json.loads(blob(manifest["config"]["digest"]))["config"]
            self.layer = blob(manifest["layers"][0]["digest"])
        with tarfile.open(fileobj=io.BytesIO(self.layer)) as layer:
            self.members = {"/" + m.name: m for m in layer.getmembers()}

    @property
    def ref(self) -> str:
        return self.index["manifests"][0]["annotations"]["io.containerd.image.name"]

    def env(self) -> dict[str, str]:
        return dict(item.split("=", 1) for item in self.config.get("Env", []))

    def executable(self, path: str) -> bool:
        m = self.members.get(path)
        return m is not None and m.isfile() and bool(m.mode & 0o111)

    def link(self, path: str) -> str | None:
        m = self.members.get(path)
        return m.linkname if m is not None and m.issym() else None

    def unpack(self, dest: Path) -> Path:
        """The image's root filesystem, with the device nodes a container runtime adds in /dev."""
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(self.layer)) as layer:
            layer.extractall(dest, filter="fully_trusted")  # our own archive: absolute links are the point
        (dest / "dev").mkdir(exist_ok=True)
        for name, minor in (("null", 3), ("zero", 5), ("random", 8), ("urandom", 9)):
            os.mknod(dest / "dev" / name, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
            os.chmod(dest / "dev" / name, 0o666)
        return dest


@pytest.fixture(scope="module")
def archives(tmp_path_factory) -> dict[str, Archive]:
    cache = tmp_path_factory.mktemp("images")
    built = {b.__name__: images.write_cached(b(), cache) for b in images.IMAGE_BUILDERS}
    return {name: Archive(path) for name, path in built.items()}


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("running an image's root filesystem with chroot needs root")


def in_image(rootfs: Path, archive: Archive, argv: list[str], user: str | None = None, env: dict | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess:
    """Run argv inside the unpacked image as a container runtime would: its Env, its root."""
    user_args = [f"--userspec={user}"] if user else []
    return subprocess.run([CHROOT, *user_args, str(rootfs), *argv], env={**archive.env(), **(env or {})},
                          capture_output=True, text=True, timeout=timeout, check=False)


# ------------------------------------------------------------------------------ configs
def test_stan_image_has_the_upstream_alpine_images_config(archives):
    a = archives["stan_image"]
    assert a.ref == ociimage.normalize_ref(images.role_refs()["stan"]) == "docker.io/library/nats-streaming:0.25.6-alpine"
    assert a.docker_manifest[0]["RepoTags"] == ["nats-streaming:0.25.6-alpine"]
    assert a.config["Entrypoint"] == ["docker-entrypoint.sh"]
    assert a.config["Cmd"] == ["nats-streaming-server", "-m", "8222"]
    assert "User" not in a.config and "WorkingDir" not in a.config  # upstream sets neither
    assert a.config["ExposedPorts"] == {"4222/tcp": {}, "8222/tcp": {}}
    env = a.env()
    assert env["NATS_STREAMING_SERVER"] == "0.25.6"
    assert "/usr/local/bin" in env["PATH"].split(":")  # the relative entrypoint is found through PATH
    for path in ("/usr/local/bin/nats-streaming-server", "/usr/local/bin/docker-entrypoint.sh", "/bin/busybox"):
        assert a.executable(path), path
    assert a.link("/bin/sh") == "/bin/busybox"


def test_init_image_is_busybox_with_the_applets_the_init_command_uses(archives):
    a = archives["busybox_image"]
    assert a.ref == "docker.io/library/busybox:1.36.1"
    assert a.config["Cmd"] == ["sh"] and "Entrypoint" not in a.config
    assert a.executable("/bin/busybox")
    assert images.is_static(images.busybox())
    for applet in ("/bin/sh", "/bin/mkdir", "/bin/chown"):
        assert a.link(applet) == "/bin/busybox", applet


def test_drill_image_has_stan_tools_and_the_applets_the_drill_scripts_use(archives):
    a = archives["nats_box_image"]
    assert a.ref == "docker.io/natsio/nats-box:0.13.8"
    assert a.config["Entrypoint"] == ["/entrypoint.sh"] and a.config["Cmd"] == ["/bin/sh"]
    assert a.config["WorkingDir"] == "/root"
    assert a.env()["NKEYS_PATH"] == "/nsc/nkeys"
    for path in ("/usr/local/bin/stan-pub", "/usr/local/bin/stan-sub", "/entrypoint.sh"):
        assert a.executable(path), path
    # playbooks/failover_drill.yml's pub and sub scripts, run with /bin/sh -ec
    for applet in ("/bin/sh", "/usr/bin/seq", "/bin/grep", "/bin/mktemp", "/bin/sleep", "/bin/kill", "/bin/rm"):
        assert a.link(applet) == "/bin/busybox", applet
    assert a.members["/tmp"].mode == 0o1777


def test_csi_standin_image_holds_the_static_binary(archives):
    a = archives["csi_standin_image"]
    assert a.ref.startswith(images.CSI_STANDIN_NAME + ":")
    assert a.ref == images.csi_standin_ref()
    assert a.config["Entrypoint"] == ["/csi-standin"]
    assert a.executable("/csi-standin")
    assert images.is_static(images.cached_binary("csi-standin"))


def test_stanclient_image_holds_the_static_test_client_tagged_by_its_digest(archives):
    a = archives["stanclient_image"]
    assert a.ref == images.stanclient_ref() and a.ref.startswith(images.STANCLIENT_NAME + ":")
    assert a.config["Entrypoint"] == ["/stanclient"]
    assert a.executable("/stanclient")
    assert images.is_static(images.stanclient_binary())


def test_archives_are_cached_by_content(tmp_path, monkeypatch):
    first = images.write_cached(images.busybox_image(), tmp_path)
    mtime = first.stat().st_mtime_ns
    assert images.write_cached(images.busybox_image(), tmp_path) == first
    assert first.stat().st_mtime_ns == mtime, "an unchanged image was rewritten"
    changed = images.busybox_image()
    changed.cmd = ["/bin/sh", "-l"]
    second = images.write_cached(changed, tmp_path)
    assert second != first and second.exists()
    assert not first.exists(), "the archive of the previous content was left behind"
    retagged = images.busybox_image()
    retagged.ref = "busybox:1.37.0"
    third = images.write_cached(retagged, tmp_path)
    assert sorted(tmp_path.iterdir()) == [third], "the archive of the previous tag was left behind"


def test_a_dynamically_linked_busybox_is_refused_with_the_package_to_install(monkeypatch, tmp_path):
    fake = tmp_path / "busybox"
    shutil.copy(images.cached_binary("csi-standin"), fake)  # static: accepted
    monkeypatch.setattr(images, "BUSYBOX_CANDIDATES", (fake,))
    assert images.busybox() == fake
    shutil.copy(Path(CHROOT).resolve(), fake)  # dynamically linked
    with pytest.raises(RuntimeError, match="busybox-static"):
        images.busybox()
    monkeypatch.setattr(images, "BUSYBOX_CANDIDATES", (tmp_path / "none",))
    with pytest.raises(FileNotFoundError, match="apt-get install busybox-static"):
        images.busybox()


# ------------------------------------------------------------------------------ running them
def test_stan_entrypoint_runs_commands_and_options_like_upstreams(archives, tmp_path):
    needs_root()
    a = archives["stan_image"]
    rootfs = a.unpack(tmp_path / "rootfs")
    entry = a.config["Entrypoint"]
    assert in_image(rootfs, a, [*entry, "echo", "a", "command"]).stdout == "a command\n"
    version = in_image(rootfs, a, [*entry, "--version"])
    assert version.returncode == 0 and "0.25.6" in version.stdout + version.stderr


def test_init_command_creates_and_chowns_the_store_as_root(archives, tmp_path):
    needs_root()
    a = archives["busybox_image"]
    rootfs = a.unpack(tmp_path / "rootfs")
    # the role's store-permissions init container, with the role's defaults
    result = in_image(rootfs, a, ["sh", "-c", f"mkdir -p {STORE_IN_POD} && chown 1000:1000 {STORE_IN_POD}"], user="0:0")
    assert result.returncode == 0, result.stderr
    st = (rootfs / STORE_IN_POD.lstrip("/")).stat()
    assert (st.st_uid, st.st_gid) == (1000, 1000)


def test_csi_standin_binary_runs_inside_its_image(archives, tmp_path):
    needs_root()
    a = archives["csi_standin_image"]
    rootfs = a.unpack(tmp_path / "rootfs")
    result = in_image(rootfs, a, [*a.config["Entrypoint"], "--driver=nfs.csi.k8s.io", "--node-id=n1"])
    assert result.returncode != 0 and "--driver" in result.stderr


def test_stanclient_runs_inside_its_image(archives, tmp_path):
    needs_root()
    a = archives["stanclient_image"]
    rootfs = a.unpack(tmp_path / "rootfs")
    result = in_image(rootfs, a, [*a.config["Entrypoint"], "stream", "-h"], user="65534:65534")
    assert "-ack-wait" in result.stderr and "-listen" in result.stderr, result.stderr


def test_stan_image_runs_the_roles_config_and_the_drill_image_publishes_and_reads_through_it(archives, tmp_path):
    """The role's stan.conf, mounted where the role mounts it, started with the role's args as the
    role's user: the server comes up FT_ACTIVE on the role's store path; then the drill image's
    stan-pub and stan-sub (busybox shell, mktemp, grep, kill) publish and read back a message."""
    needs_root()
    stan, box = archives["stan_image"], archives["nats_box_image"]
    rootfs = stan.unpack(tmp_path / "stan-rootfs")
    store = rootfs / STORE_IN_POD.lstrip("/")
    cluster = StanCluster(tmp_path / "render", size=1, store_dir=store, overrides={"stan_store_dir": STORE_IN_POD})
    cluster.render()
    server = cluster.servers[0]
    (rootfs / CONF_IN_POD.lstrip("/")).parent.mkdir(parents=True)
    shutil.copy(server.config, rootfs / CONF_IN_POD.lstrip("/"))
    os.chown(store, 1000, 1000)  # what the init container does

    argv = [CHROOT, "--userspec=1000:1000", str(rootfs), *stan.config["Entrypoint"], "-sc", CONF_IN_POD]
    env = {**stan.env(), "CLUSTER_ADVERTISE": f"127.0.0.1:{server.cluster_port}"}
    proc = procs.start(argv, tmp_path / "stan.log", env=env)
    try:
        procs.wait_for_port(server.monitor_port, timeout=30, proc=proc)
        # The entrypoint exec'd the server in place: same PID, the role's args after the server's name.
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")[:-1]
        assert [c.decode() for c in cmdline] == ["nats-streaming-server", "-sc", CONF_IN_POD]
        assert Path(f"/proc/{proc.pid}").stat().st_uid == 1000
        serverz = wait_serverz(server.monitor_url, "FT_ACTIVE")
        assert serverz["cluster_id"] == cluster.cluster_id
        lock = store / ".rootdir.lck"
        assert lock.exists() and lock.stat().st_uid == 1000, "the FT lock is not in the role's store directory"

        box_root = box.unpack(tmp_path / "box-rootfs")
        url, cid = server.nats_url, cluster.cluster_id
        pub = in_image(box_root, box, ["/bin/sh", "-ec", f'stan-pub -s "{url}" -c "{cid}" -id img-pub drill hello-from-image'])
        assert pub.returncode == 0, pub.stdout + pub.stderr
        sub_script = (
            f'log=$(mktemp); stan-sub -s "{url}" -c "{cid}" -id img-sub -all drill >"$log" 2>&1 & pid=$!; '
            "n=0; while ! grep -q 'data:\"hello-from-image\"' \"$log\"; do n=$((n+1)); [ $n -lt 20 ] || break; sleep 1; done; "
            'kill -INT $pid; wait $pid || true; cat "$log"; rm -f "$log"'
        )
        sub = in_image(box_root, box, ["/bin/sh", "-ec", sub_script])
        assert 'data:"hello-from-image"' in sub.stdout, sub.stdout + sub.stderr
    finally:
        stop(proc)
    assert proc.returncode is not None


def wait_serverz(monitor_url: str, state: str, timeout: float = 30) -> dict:
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            code, body = http_get(f"{monitor_url}/streaming/serverz")
            if code == 200:
                last = json.loads(body)
                if last.get("state") == state:
                    return last
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"serverz never reported {state}: {last}")


def stop(proc: subprocess.Popen) -> None:
    """Stop the server by the PID we started (SIGTERM, then SIGKILL)."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
