#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: efs_access_point
short_description: Create or delete an Amazon EFS access point
version_added: 0.1.0
description:
  - Ensures that an EFS file system has (or does not have) an access point named O(name), with a
    POSIX user and a root directory that EFS creates with the given owner and mode.
  - Every NFS request through the access point runs as O(posix_user), whatever user the client
    runs as, and the root directory is created owned by that user. Pods mounting the file system
    through the access point (EFS CSI driver, C(volumeHandle) C(<file system id>::<access point id>),
    returned as RV(volume_handle)) need no root init container to fix the ownership of their
    store, so they can run under the Pod Security C(restricted) profile.
  - The access point is found by a client token derived from O(file_system_id) and O(name), so a play
    that died right after C(CreateAccessPoint) finds the access point it made instead of making a
    second one. An access point tagged C(Name=<name>) that another tool made is adopted, but only
    deleted with O(force=true).
  - An access point cannot be changed, except for its tags. When O(posix_user) or O(root_directory)
    differ from the existing access point the module fails and says so; it never replaces an access
    point that pods may be using.
author:
  - nats_streaming.ft maintainers (@nats-streaming-ft)
options:
  state:
    description: Whether the access point exists.
    type: str
    choices: [present, absent]
    default: present
  file_system_id:
    description: ID of the file system (C(fs-...)).
    type: str
    required: true
  name:
    description:
      - Name of the access point, unique on the file system. It becomes the C(Name) tag and, with
        O(file_system_id), the client token that identifies the access point.
    type: str
    required: true
  posix_user:
    description:
      - The user and groups every file system request through the access point runs as.
      - Not set when creating means the NFS client's own identity is used; not set on an existing
        access point leaves it alone.
    type: dict
    suboptions:
      uid:
        description: POSIX user ID.
        type: int
        required: true
      gid:
        description: POSIX group ID.
        type: int
        required: true
      secondary_gids:
        description: Up to 16 secondary group IDs.
        type: list
        elements: int
  root_directory:
    description:
      - The directory of the file system the access point exposes as C(/).
      - Not set when creating means the root of the file system; not set on an existing access
        point leaves it alone.
    type: dict
    suboptions:
      path:
        description: Absolute path, at most 100 characters, for example C(/stan).
        type: str
        required: true
      creation_info:
        description:
          - Owner and mode EFS gives O(root_directory.path) when it does not exist yet (it creates it on first
            use). Without it the directory must exist, or mounting through the access point fails.
        type: dict
        suboptions:
          owner_uid:
            description: Owner user ID of the directory.
            type: int
            required: true
          owner_gid:
            description: Owner group ID of the directory.
            type: int
            required: true
          permissions:
            description: Mode of the directory, 3 or 4 octal digits, for example C('0750').
            type: str
            required: true
  force:
    description:
      - With O(state=absent), also delete an access point that this module did not create (found by
        its C(Name) tag only).
    type: bool
    default: false
  wait:
    description: Wait until a new access point is available, or a deleted one is gone.
    type: bool
    default: true
  wait_timeout:
    description: How many seconds to wait.
    type: int
    default: 300
notes:
  - Check mode predicts exactly what a real run does; the diff of a check run equals the diff of the real run.
  - An access point enforces its POSIX user on every request, so C(chown) through it fails; software that
    changes the owner of its files needs a volume without an access point.
seealso:
  - module: nats_streaming.ft.efs_filesystem
  - name: Mounting EFS with access points
    description: How EFS applies the POSIX user and creates the root directory.
    link: https://docs.aws.amazon.com/efs/latest/ug/efs-access-points.html
extends_documentation_fragment:
  - nats_streaming.ft.aws
  - nats_streaming.ft.aws.tags
  - nats_streaming.ft.attributes
  - nats_streaming.ft.attributes.check_mode
  - nats_streaming.ft.attributes.diff_mode
"""

EXAMPLES = r"""
- name: An access point that makes every request run as the STAN user and owns its store directory
  nats_streaming.ft.efs_access_point:
    file_system_id: "{{ efs.id }}"
    name: stan
    posix_user:
      uid: 1000
      gid: 1000
    root_directory:
      path: /stan
      creation_info:
        owner_uid: 1000
        owner_gid: 1000
        permissions: "0750"
  register: stan_ap

- name: Mount it with the EFS CSI driver
  ansible.builtin.include_role:
    name: nats_streaming.ft.efs_provisioner
  vars:
    efs_provisioner_mode: csi
    efs_provisioner_file_system_id: "{{ efs.id }}"
    efs_provisioner_access_point_id: "{{ stan_ap.access_point_id }}"

- name: Delete it
  nats_streaming.ft.efs_access_point:
    file_system_id: fs-0123456789abcdef0
    name: stan
    state: absent
"""

RETURN = r"""
access_point_id:
  description: ID of the access point (null in a check run that would create it, and when absent).
  returned: always
  type: str
  sample: fsap-0123456789abcdef0
access_point_arn:
  description: ARN of the access point.
  returned: when it exists
  type: str
  sample: arn:aws:elasticfilesystem:us-east-2:123456789012:access-point/fsap-0123456789abcdef0
file_system_id:
  description: ID of the file system.
  returned: always
  type: str
  sample: fs-0123456789abcdef0
volume_handle:
  description: The EFS CSI driver's C(volumeHandle) for a static volume through this access point.
  returned: when it exists
  type: str
  sample: fs-0123456789abcdef0::fsap-0123456789abcdef0
name:
  description: Name of the access point.
  returned: when it exists
  type: str
  sample: stan
posix_user:
  description: The POSIX user of the access point (null when it has none).
  returned: when it exists
  type: dict
  sample: {"uid": 1000, "gid": 1000, "secondary_gids": []}
root_directory:
  description: The root directory and the owner and mode it is created with.
  returned: when it exists
  type: dict
  sample: {"path": "/stan", "creation_info": {"owner_uid": 1000, "owner_gid": 1000, "permissions": "0750"}}
tags:
  description: Tags of the access point.
  returned: always
  type: dict
  sample: {"Name": "stan"}
state:
  description: Life cycle state (C(deleted) after a deletion).
  returned: always
  type: str
  sample: available
created_by_module:
  description: Whether the access point carries this module's client token for O(name).
  returned: always
  type: bool
diff:
  description: Normalized access point before and after (only with C(--diff)).
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_efs_access_point import run
from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_options import with_aws_options

argument_spec = dict(
    state=dict(type="str", choices=["present", "absent"], default="present"),
    file_system_id=dict(type="str", required=True),
    name=dict(type="str", required=True),
    posix_user=dict(
        type="dict",
        options=dict(
            uid=dict(type="int", required=True),
            gid=dict(type="int", required=True),
            secondary_gids=dict(type="list", elements="int"),
        ),
    ),
    root_directory=dict(
        type="dict",
        options=dict(
            path=dict(type="str", required=True),
            creation_info=dict(
                type="dict",
                options=dict(
                    owner_uid=dict(type="int", required=True),
                    owner_gid=dict(type="int", required=True),
                    permissions=dict(type="str", required=True),
                ),
            ),
        ),
    ),
    force=dict(type="bool", default=False),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=300),
    tags=dict(type="dict", aliases=["resource_tags"]),
    purge_tags=dict(type="bool", default=True),
)


def main():
    module = AnsibleAWSModule(argument_spec=with_aws_options(argument_spec), supports_check_mode=True)
    run(module)


if __name__ == "__main__":
    main()
