package main

// How each driver's volume handle and attributes map to a directory below the shared root.
// Pure functions: no I/O. The checks and their messages follow the real drivers' node
// plugins (aws-efs-csi-driver pkg/driver/node.go: NodePublishVolume, parseVolumeId;
// azurefile-csi-driver pkg/azurefile: GetFileShareInfo, GetAccountInfo, NodeStageVolume),
// so a claim the real driver refuses is refused here with the same kind of message.

import (
	"encoding/json"
	"fmt"
	"net"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	efsDriver   = "efs.csi.aws.com"
	azureDriver = "file.csi.azure.com"
)

// source is what a volume resolves to. Both paths are relative to the shared root.
type source struct {
	// base exists as soon as the cloud resource exists (the file system's root, an access
	// point's root, a file share): the stand-in creates it.
	base string
	// dir is what gets mounted: base or a directory below it, which must already exist
	// (mounting a missing sub path fails on the real services too).
	dir string
	// chmod, when non-zero, is applied to dir after mounting (Azure Files NFS: mountPermissions;
	// SMB: the dir_mode mount option).
	chmod uint32
	// baseMode, when non-zero, is the mode of base when the stand-in creates it (an access point's
	// root: EFS creates it with the access point's owner and permissions, which the stand-in
	// cannot read, so it is writable by every user instead).
	baseMode uint32
	// owner, when set, is given to dir after mounting (SMB: the uid and gid mount options, which
	// a CIFS mount presents as the owner of every file).
	owner *[2]int
}

var hexSuffix = regexp.MustCompile(`^[0-9a-f]{8,40}$`)

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// ------------------------------------------------------------------------------ EFS

// efsAccessModes are the modes aws-efs-csi-driver's node accepts.
var efsAccessModes = []csi.VolumeCapability_AccessMode_Mode{
	csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER,
	csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER,
}

// parseEFSVolumeID reads `fs-id`, `fs-id:subpath`, `fs-id::fsap-id`, `fs-id:subpath:fsap-id`
// and the newer form with a leading file system type (`efs:fs-id[:subpath[:fsap-id]]`).
func parseEFSVolumeID(volumeID string) (fsid, subpath, apid string, err error) {
	tokens := strings.Split(volumeID, ":")
	switch tokens[0] {
	case "efs":
		if len(tokens) > 4 {
			return "", "", "", invalid("volume ID '%s' is invalid: Expected at most four fields separated by ':'", volumeID)
		}
		if len(tokens) < 2 {
			return "", "", "", invalid("volume ID '%s' is invalid: Missing file system ID", volumeID)
		}
		tokens = tokens[1:]
	case "s3files":
		return "", "", "", invalid("volume ID '%s': S3 Files file systems are not emulated by this stand-in (EFS only)", volumeID)
	default:
		if len(tokens) > 3 {
			return "", "", "", invalid("volume ID '%s' is invalid: Expected at most three fields separated by ':'", volumeID)
		}
	}
	fsid = tokens[0]
	if !strings.HasPrefix(fsid, "fs-") || !hexSuffix.MatchString(fsid[3:]) {
		return "", "", "", invalid("volume ID '%s' is invalid: Expected a file system ID of the form 'fs-[0-9a-f]{8,40}'", volumeID)
	}
	if len(tokens) >= 2 && tokens[1] != "" {
		subpath = path.Clean(tokens[1])
	}
	if len(tokens) == 3 && tokens[2] != "" {
		apid = tokens[2]
		if !validAccessPointID(apid) {
			return "", "", "", invalid("volume ID '%s' has an invalid access point ID '%s': Expected it to be of the form 'fsap-[0-9a-f]{8,40}'", volumeID, apid)
		}
	}
	return fsid, subpath, apid, nil
}

func validAccessPointID(apid string) bool {
	return strings.HasPrefix(apid, "fsap-") && hexSuffix.MatchString(apid[5:])
}

// planEFS checks a NodePublishVolume request for efs.csi.aws.com and returns its directory:
// efs/<fs-id>[/<subpath>]. An access point's root directory is set in AWS and unknown here,
// so an access point maps to efs/<fs-id>/access-points/<fsap-id>[/<subpath>].
func planEFS(volumeID string, volCtx map[string]string, volCap *csi.VolumeCapability) (source, error) {
	if err := checkAccessMode(volCap, efsAccessModes); err != nil {
		return source{}, err
	}
	encryptInTransit := true
	for k, v := range volCtx {
		switch strings.ToLower(k) {
		case "storage.kubernetes.io/csiprovisioneridentity":
		case "encryptintransit", "crossaccount":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return source{}, invalid("Volume context property %q must be a boolean value: %v", k, err)
			}
			if strings.EqualFold(k, "encryptintransit") {
				encryptInTransit = b
			}
		case "mounttargetip":
			if net.ParseIP(v) == nil {
				return source{}, invalid("Volume context property %q=%q is not a valid IP address", k, v)
			}
		case "mounttargetipmap":
			var ipMap map[string]string
			if err := json.Unmarshal([]byte(v), &ipMap); err != nil {
				return source{}, invalid("Failed to parse mounttargetipmap: %v", err)
			}
		default:
			return source{}, invalid("Volume context property %s not supported.", k)
		}
	}
	fsid, subpath, apid, err := parseEFSVolumeID(volumeID)
	if err != nil {
		return source{}, err
	}
	for _, flag := range volCap.GetMount().GetMountFlags() {
		flag = strings.ToLower(flag)
		if flag == "crossaccount" {
			return source{}, invalid("Volume capability not supported: mount option 'crossaccount' cannot be set manually. " +
				"The CSI driver automatically configures this based on Kubernetes secrets.")
		}
		if moapid, ok := strings.CutPrefix(flag, "accesspoint="); ok {
			if apid != "" && moapid != apid {
				return source{}, invalid("Found conflicting access point IDs in mountOptions (%s) and volumeHandle (%s)", moapid, apid)
			}
			if !validAccessPointID(moapid) { // mount.efs refuses it too
				return source{}, invalid("mount option accesspoint=%s: Expected it to be of the form 'fsap-[0-9a-f]{8,40}'", moapid)
			}
			apid = moapid
		}
		if flag == "tls" && !encryptInTransit {
			return source{}, invalid("Found tls in mountOptions but encryptInTransit is false")
		}
	}
	base := path.Join("efs", fsid)
	baseMode := uint32(0)
	if apid != "" {
		base = path.Join(base, "access-points", apid)
		baseMode = 0o777
	}
	// A sub path lives inside the file system: ".." cannot climb out of it (nor out of the root).
	return source{base: base, dir: path.Join(base, path.Clean("/"+subpath)), baseMode: baseMode}, nil
}

// ------------------------------------------------------------------------------ Azure Files

// azureAccessModes are the modes azurefile-csi-driver declares.
var azureAccessModes = []csi.VolumeCapability_AccessMode_Mode{
	csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER,
	csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY,
	csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER,
	csi.VolumeCapability_AccessMode_SINGLE_NODE_MULTI_WRITER,
	csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY,
	csi.VolumeCapability_AccessMode_MULTI_NODE_SINGLE_WRITER,
	csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER,
}

// parseAzureVolumeID reads `rg#account#share[#diskname[#uuid[#secretnamespace[#subscription]]]]`
// (GetFileShareInfo). The real driver ignores a handle it cannot parse when the volume
// attributes name the account and share; so does this.
func parseAzureVolumeID(volumeID string) (rg, account, share string, err error) {
	segments := strings.Split(volumeID, "#")
	if len(segments) < 3 {
		return "", "", "", fmt.Errorf("error parsing volume id: %q, should at least contain two #", volumeID)
	}
	return segments[0], segments[1], segments[2], nil
}

// azureUnemulated are volume attributes that change what the real driver mounts in ways this
// stand-in does not reproduce: refused rather than silently mounting something else.
var azureUnemulated = map[string]string{
	"foldername": "a folder inside the share", "diskname": "a VHD disk on the share", "server": "a custom server address",
	"mountwithmanagedidentity": "managed identity mounts", "mountwithoauthtoken": "OAuth token mounts",
	"mountwithworkloadidentitytoken": "workload identity mounts", "clientid": "workload identity mounts",
}

// planAzure checks a NodeStageVolume request for file.csi.azure.com and returns its directory:
// azurefile/<account>/<share>, for SMB and NFS alike (one share, two protocols).
func planAzure(volumeID string, volCtx, secrets map[string]string, mountFlags []string) (source, error) {
	_, account, share, err := parseAzureVolumeID(volumeID)
	if err != nil {
		account, share = "", "" // attributes may still name them, as in the real driver
	}
	protocol, chmod := "", uint32(0o777) // the real driver's --mount-permissions default
	for k, v := range volCtx {
		key := strings.ToLower(k)
		if what, ok := azureUnemulated[key]; ok && v != "" && !strings.EqualFold(v, "false") {
			return source{}, invalid("volume attribute %s: %s is not emulated by this stand-in", k, what)
		}
		switch key {
		case "storageaccount":
			account = v
		case "sharename":
			share = v
		case "protocol":
			protocol = v
		case "fstype":
			if v != "" && !slices.Contains([]string{"cifs", "smb", "nfs"}, v) {
				return source{}, invalid("fsType(%s) is not supported by this stand-in (disk file systems on a share are not emulated)", v)
			}
		case "mountpermissions":
			if v != "" {
				perm, err := strconv.ParseUint(v, 8, 32)
				if err != nil {
					return source{}, invalid("invalid mountPermissions %s", v)
				}
				chmod = uint32(perm)
			}
		case "encryptintransit", "getlatestaccountkey":
			if _, err := strconv.ParseBool(v); err != nil {
				return source{}, invalid("Volume context property %q must be a boolean value: %v", k, err)
			}
		}
	}
	if protocol != "nfs" && hasAzureCredentials(secrets) {
		name, err := azureSecretAccount(secrets)
		if err != nil {
			return source{}, invalid("GetAccountInfo(%s) failed with error: %v", volumeID, err)
		}
		account = name
	}
	if share == "" {
		return source{}, invalid("failed to get file share name from %s", volumeID)
	}
	if account == "" {
		return source{}, invalid("failed to get account name from %s", volumeID)
	}
	if protocol != "" && protocol != "smb" && protocol != "nfs" {
		return source{}, invalid("protocol(%s) is not supported, supported protocol list: [smb nfs]", protocol)
	}
	if protocol != "nfs" && !hasAzureCredentials(secrets) {
		// The real driver would next read the secret azure-storage-account-<account>-secret or ask
		// Azure Resource Manager for the key with the cluster's identity; neither exists here.
		return source{}, invalid("GetAccountInfo(%s) failed with error: no storage account key: an SMB volume needs "+
			"nodeStageSecretRef with azurestorageaccountname and azurestorageaccountkey (this stand-in has no Azure identity)", volumeID)
	}
	for _, name := range []string{account, share} {
		if name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
			return source{}, invalid("volume %s: invalid storage account or share name %q", volumeID, name)
		}
	}
	dir := path.Join("azurefile", account, share)
	if protocol == "nfs" {
		return source{base: dir, dir: dir, chmod: chmod}, nil
	}
	// SMB: ownership and permissions come from the mount options (uid, gid, dir_mode), which the
	// stand-in applies to the share's root directory.
	return smbOptions(source{base: dir, dir: dir}, mountFlags)
}

// smbOptions applies the CIFS mount options uid=, gid= and dir_mode= to the share's root.
func smbOptions(src source, mountFlags []string) (source, error) {
	owner := [2]int{0, 0}
	owned := false
	for _, flag := range mountFlags {
		for _, option := range strings.Split(flag, ",") {
			key, value, found := strings.Cut(strings.TrimSpace(option), "=")
			if !found {
				continue
			}
			switch key {
			case "uid", "gid":
				id, err := strconv.Atoi(value)
				if err != nil || id < 0 {
					return source{}, invalid("mount option %s=%s is not a numeric id", key, value)
				}
				owner[map[string]int{"uid": 0, "gid": 1}[key]] = id
				owned = true
			case "dir_mode":
				mode, err := strconv.ParseUint(value, 8, 32)
				if err != nil {
					return source{}, invalid("mount option dir_mode=%s is not an octal mode", value)
				}
				src.chmod = uint32(mode)
			}
		}
	}
	if owned {
		src.owner = &owner
	}
	return src, nil
}

func hasAzureCredentials(secrets map[string]string) bool {
	for k := range secrets {
		switch strings.ToLower(k) {
		case "accountname", "azurestorageaccountname", "accountkey", "azurestorageaccountkey":
			return true
		}
	}
	return false
}

// azureSecretAccount returns the account named in the secret; the key must be there too.
// Values are never logged or returned in errors.
func azureSecretAccount(secrets map[string]string) (string, error) {
	var name, key string
	for k, v := range secrets {
		switch strings.ToLower(k) {
		case "accountname", "azurestorageaccountname":
			name = strings.TrimSpace(v)
		case "accountkey", "azurestorageaccountkey":
			key = strings.TrimSpace(v)
		}
	}
	if name == "" {
		return "", fmt.Errorf("could not find accountname or azurestorageaccountname field in secrets")
	}
	if key == "" {
		return "", fmt.Errorf("could not find accountkey or azurestorageaccountkey field in secrets")
	}
	return name, nil
}

// ------------------------------------------------------------------------------ shared

func checkAccessMode(volCap *csi.VolumeCapability, allowed []csi.VolumeCapability_AccessMode_Mode) error {
	if volCap == nil {
		return invalid("Volume capability not provided")
	}
	if volCap.GetMount() == nil {
		return invalid("Volume capability not supported: only filesystem volumes are supported")
	}
	mode := volCap.GetAccessMode().GetMode()
	if slices.Contains(allowed, mode) {
		return nil
	}
	return invalid("Volume capability not supported: invalid access mode: %s", mode)
}
