"""The renders the manifest scanners (checkov, kube-score) and the Pod Security test look at."""

from __future__ import annotations

FS_ID = "fs-0123456789abcdef0"
ACCESS_POINT_ID = "fsap-0123456789abcdef0"

# The default render of each role: only the inputs without which it cannot render at all. The
# legacy efs-provisioner is opt-in but still shipped, so its render is scanned too.
DEFAULT_RENDERS = {
    "efs_provisioner": ("efs_provisioner", {"efs_provisioner_file_system_id": FS_ID}),
    "efs_provisioner_legacy": ("efs_provisioner", {"efs_provisioner_mode": "provisioner",
                                                   "efs_provisioner_file_system_id": FS_ID,
                                                   "efs_provisioner_aws_region": "us-east-2"}),
    "azure_files": ("azure_files", {"azure_files_storage_account_name": "stanstore",
                                    "azure_files_storage_account_key": "bm90LWEtcmVhbC1rZXk=",
                                    "azure_files_share_name": "stan"}),
    "stan": ("stan", {}),
}

# The STAN pod of each storage path (what aws.yml and azure.yml render).
STAN_PATHS = {
    # EFS through an access point owned by the STAN user: no root init container.
    "efs_access_point": ("stan", {"stan_volume_permissions_init": False}),
    # Azure Files SMB: the mount options set the owner, no root init container.
    "azure_smb": ("stan", {"stan_volume_permissions_init": False, "stan_claim_name": "stan-store"}),
    # The whole EFS file system or Azure Files NFS: a root init container owns the store directory.
    "root_init": ("stan", {}),
}
