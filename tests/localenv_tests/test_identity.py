"""Two environments with separate state directories never share a name, namespace or directory."""

from __future__ import annotations

from pathlib import Path

from tests.localenv import engine, kindcluster


def test_cluster_namespace_and_run_dir_derive_from_the_state_directory(tmp_path):
    a, b = tmp_path / "one" / ".localenv", tmp_path / "two" / ".localenv"
    assert kindcluster.cluster_name(a) != kindcluster.cluster_name(b)
    pa, pb = engine.PrivatePaths(a), engine.PrivatePaths(b)
    assert pa.ident != pb.ident
    assert pa.run_dir != pb.run_dir and pa.socket != pb.socket
    assert pa.data_dir.parent == a and pb.data_dir.parent == b
    assert pa.cgroup_parent != pb.cgroup_parent
    # The same directory, however it is spelled, is the same environment.
    assert kindcluster.cluster_name(a) == kindcluster.cluster_name(Path(str(a) + "/../.localenv"))


def test_socket_paths_fit_in_sun_path_whatever_the_state_directory(tmp_path):
    deep = tmp_path.joinpath(*["a-long-directory-name"] * 12)
    assert len(str(engine.PrivatePaths(deep).socket)) < 100


def test_kind_config_has_three_workers_in_three_zones_and_the_shared_mount(tmp_path):
    cfg = kindcluster.config("nsft-x", tmp_path / "shared", tmp_path / "audit", restrict_oom_score_adj=False)
    workers = [n for n in cfg["nodes"] if n["role"] == "worker"]
    assert sorted(w["labels"]["topology.kubernetes.io/zone"] for w in workers) == list(kindcluster.ZONES)
    assert all(w["extraMounts"] == [{"hostPath": str(tmp_path / "shared"), "containerPath": kindcluster.SHARED_MOUNT}]
               for w in workers)
    assert cfg["networking"]["disableDefaultCNI"] is True
    assert "containerdConfigPatches" not in cfg
    patched = kindcluster.config("nsft-x", tmp_path / "s", tmp_path / "a", restrict_oom_score_adj=True)
    assert "restrict_oom_score_adj = true" in patched["containerdConfigPatches"][0]
