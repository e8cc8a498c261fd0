"""Unit tests of the efs_access_point logic: token, validation, normalization, lookup and plans."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nats_streaming.ft.plugins.module_utils import aws_efs_access_point as ap
from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_common import ModuleError

FS = "fs-0123456789abcdef0"
STAN_USER = dict(uid=1000, gid=1000, secondary_gids=None)
STAN_ROOT = dict(path="/stan", creation_info=dict(owner_uid=1000, owner_gid=1000, permissions="750"))


def params(**overrides):
    base = dict(state="present", file_system_id=FS, name="stan", posix_user=None, root_directory=None,
                force=False, wait=True, wait_timeout=300, tags=None, purge_tags=True)
    base.update(overrides)
    return base


def described(token=None, name="stan", ap_id="fsap-1", **extra):
    found = dict(AccessPointId=ap_id, FileSystemId=FS, ClientToken=token or ap.client_token(FS, name),
                 Tags=[dict(Key="Name", Value=name)], LifeCycleState="available",
                 PosixUser=dict(Uid=1000, Gid=1000),
                 RootDirectory=dict(Path="/stan", CreationInfo=dict(OwnerUid=1000, OwnerGid=1000, Permissions="0750")))
    found.update(extra)
    return found


def test_client_token_is_deterministic_per_file_system_and_name_and_fits_the_api():
    token = ap.client_token(FS, "stan")
    assert token == ap.client_token(FS, "stan")
    assert token != ap.client_token(FS, "other") != ap.client_token("fs-00000000", "stan")
    assert token.startswith("nsft-ap-") and len(token) <= 64


def test_volume_handle_is_the_csi_drivers_access_point_form():
    assert ap.volume_handle(FS, "fsap-1") == FS + "::fsap-1"


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(file_system_id="my-fs"), r"^file_system_id 'my-fs' is not an EFS file system ID"),
        (dict(name=""), r"^name must be 1 to 256 characters"),
        (dict(name="x" * 257), r"^name must be 1 to 256 characters"),
        (dict(wait_timeout=0), r"^wait_timeout must be at least 1"),
        (dict(posix_user=dict(uid=-1, gid=0, secondary_gids=None)), r"^posix_user.uid is -1"),
        (dict(posix_user=dict(uid=0, gid=2 ** 32, secondary_gids=None)), r"^posix_user.gid is 4294967296"),
        (dict(posix_user=dict(uid=0, gid=0, secondary_gids=list(range(17)))), r"^posix_user.secondary_gids has 17 entries"),
        (dict(root_directory=dict(path="stan", creation_info=None)), r"^root_directory.path 'stan' must be an absolute path"),
        (dict(root_directory=dict(path="/a/../b", creation_info=None)), r"^root_directory.path '/a/../b'"),
        (dict(root_directory=dict(path="/stan/", creation_info=None)), r"^root_directory.path '/stan/'"),
        (dict(root_directory=dict(path="/" + "x" * 100, creation_info=None)), r"at most 100 characters"),
        (dict(root_directory=dict(path="/", creation_info=STAN_ROOT["creation_info"])), r"^root_directory.creation_info has no effect on path '/'"),
        (dict(root_directory=dict(path="/stan", creation_info=dict(owner_uid=1, owner_gid=1, permissions="rwx"))),
         r"^root_directory.creation_info.permissions 'rwx' must be 3 or 4 octal digits"),
        (dict(root_directory=dict(path="/stan", creation_info=dict(owner_uid=1, owner_gid=1, permissions="0999"))), r"octal"),
    ],
)
def test_bad_input_names_the_option(overrides, message):
    with pytest.raises(ModuleError, match=message):
        ap.validate_params(params(**overrides))


def test_good_input_passes():
    ap.validate_params(params(posix_user=STAN_USER, root_directory=STAN_ROOT))
    ap.validate_params(params(root_directory=dict(path="/", creation_info=None)))


def test_api_and_option_forms_normalize_alike():
    assert ap.normalize_posix_user(dict(Uid=1000, Gid=1000, SecondaryGids=[5, 3])) == ap.normalize_posix_user(
        dict(uid=1000, gid=1000, secondary_gids=[3, 5]))
    api = ap.normalize_root_directory(dict(Path="/stan", CreationInfo=dict(OwnerUid=1000, OwnerGid=1000, Permissions="0750")))
    assert api == ap.normalize_root_directory(STAN_ROOT)  # "750" and "0750" are the same mode
    assert ap.normalize_root_directory(None) == dict(path="/", creation_info=None)
    assert ap.normalize_posix_user(None) is None


def test_lookup_prefers_the_modules_token_then_adopts_by_name_and_skips_deleted_ones():
    mine = described(ap_id="fsap-mine")
    foreign = described(token="other-tool", ap_id="fsap-foreign")
    gone = described(ap_id="fsap-gone", LifeCycleState="deleting")
    assert ap.choose([foreign, mine, gone], FS, "stan") == (mine, True)
    assert ap.choose([foreign, gone], FS, "stan") == (foreign, False)
    assert ap.choose([gone], FS, "stan") == (None, False)
    assert ap.choose([described(name="other", ap_id="fsap-x")], FS, "stan") == (None, False)


def test_two_foreign_access_points_with_the_name_are_an_error_listing_both():
    with pytest.raises(ModuleError, match=r"^name: 2 access points .* Name='stan' \(fsap-a, fsap-b\)"):
        ap.choose([described(token="t1", ap_id="fsap-b"), described(token="t2", ap_id="fsap-a")], FS, "stan")


def test_plan_create_adds_the_name_tag_and_builds_the_request():
    after = ap.plan_create(params(posix_user=STAN_USER, root_directory=STAN_ROOT, tags={"app": "stan"}))
    assert after["tags"] == {"Name": "stan", "app": "stan"}
    request = ap.create_request(FS, after)
    assert request == dict(
        ClientToken=ap.client_token(FS, "stan"), FileSystemId=FS,
        PosixUser=dict(Uid=1000, Gid=1000),
        RootDirectory=dict(Path="/stan", CreationInfo=dict(OwnerUid=1000, OwnerGid=1000, Permissions="0750")),
        Tags=[dict(Key="Name", Value="stan"), dict(Key="app", Value="stan")],
    )
    bare = ap.create_request(FS, ap.plan_create(params()))
    assert "PosixUser" not in bare and bare["RootDirectory"] == dict(Path="/")


def test_plan_update_leaves_unset_options_alone_and_only_retags():
    before = ap.normalize_access_point(described(Tags=[dict(Key="Name", Value="stan"), dict(Key="old", Value="1")]))
    after, tags_set, tags_unset = ap.plan_update(before, params(), "fsap-1")
    assert after == before and not tags_set and not tags_unset  # tags unset: no purge
    after, tags_set, tags_unset = ap.plan_update(before, params(tags={"new": "2"}), "fsap-1")
    assert after["tags"] == {"Name": "stan", "new": "2"} and tags_set == {"new": "2"} and tags_unset == ["old"]
    same = ap.plan_update(before, params(posix_user=STAN_USER, root_directory=STAN_ROOT), "fsap-1")[0]
    assert same == before


def test_plan_update_refuses_to_change_what_an_access_point_cannot_change():
    before = ap.normalize_access_point(described())
    with pytest.raises(ModuleError, match=r"^posix_user: access point fsap-1 \(stan\) has POSIX user uid 1000 gid 1000, not uid 0 gid 0\. .*state: absent"):
        ap.plan_update(before, params(posix_user=dict(uid=0, gid=0, secondary_gids=None)), "fsap-1")
    with pytest.raises(ModuleError, match=r"^root_directory: access point fsap-1 \(stan\) has root directory /stan created as 1000:1000 mode 0750, not /data"):
        ap.plan_update(before, params(root_directory=dict(path="/data", creation_info=None)), "fsap-1")
