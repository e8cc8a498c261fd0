package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const vendorVersion = "standin"

// driver serves the CSI Identity and Node services for one driver name. There is no
// Controller service: the project's volumes are static PersistentVolumes.
type driver struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedNodeServer

	name   string
	nodeID string
	root   string // the shared root: one directory every node sees
	// staged: the real azurefile driver mounts the share once per node in NodeStageVolume
	// and bind-mounts it per pod in NodePublishVolume; the real EFS driver has no staging.
	// Keeping that split means kubelet sends Azure's nodeStageSecretRef, as it does for real.
	staged bool
	mu     sync.Mutex // one mount operation at a time
}

func newDriver(name, nodeID, root string) (*driver, error) {
	if name != efsDriver && name != azureDriver {
		return nil, fmt.Errorf("--driver %q: this stand-in serves %s or %s", name, efsDriver, azureDriver)
	}
	if nodeID == "" {
		return nil, errors.New("--node-id (or NODE_NAME) is required: kubelet records it as the node's ID for the driver")
	}
	if info, err := os.Stat(root); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("--root %q must be an existing directory (the directory shared by every node): %v", root, err)
	}
	return &driver{name: name, nodeID: nodeID, root: root, staged: name == azureDriver}, nil
}

// ------------------------------------------------------------------------------ Identity

func (d *driver) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: d.name, VendorVersion: vendorVersion}, nil
}

func (d *driver) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	return &csi.GetPluginCapabilitiesResponse{}, nil // no controller service
}

func (d *driver) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	if _, err := os.Stat(d.root); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "shared root %s: %v", d.root, err)
	}
	return &csi.ProbeResponse{}, nil
}

// ------------------------------------------------------------------------------ Node

func (d *driver) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{NodeId: d.nodeID}, nil
}

func (d *driver) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	resp := &csi.NodeGetCapabilitiesResponse{}
	if d.staged {
		resp.Capabilities = append(resp.Capabilities, &csi.NodeServiceCapability{
			Type: &csi.NodeServiceCapability_Rpc{Rpc: &csi.NodeServiceCapability_RPC{Type: csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME}},
		})
	}
	return resp, nil
}

// NodeStageVolume (Azure Files only) checks the volume as the real driver does and binds
// the share's directory onto the node's staging path.
func (d *driver) NodeStageVolume(_ context.Context, req *csi.NodeStageVolumeRequest) (*csi.NodeStageVolumeResponse, error) {
	if !d.staged {
		return nil, status.Error(codes.Unimplemented, "")
	}
	if req.GetVolumeId() == "" {
		return nil, invalid("Volume ID missing in request")
	}
	if req.GetStagingTargetPath() == "" {
		return nil, invalid("Staging target not provided")
	}
	if err := checkAccessMode(req.GetVolumeCapability(), azureAccessModes); err != nil {
		return nil, err
	}
	src, err := planAzure(req.GetVolumeId(), req.GetVolumeContext(), req.GetSecrets(),
		req.GetVolumeCapability().GetMount().GetMountFlags())
	if err != nil {
		return nil, err
	}
	mode := req.GetVolumeCapability().GetAccessMode().GetMode()
	readonly := mode == csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY || mode == csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY
	if err := d.mount(src, req.GetStagingTargetPath(), readonly); err != nil {
		return nil, err
	}
	return &csi.NodeStageVolumeResponse{}, nil
}

func (d *driver) NodeUnstageVolume(_ context.Context, req *csi.NodeUnstageVolumeRequest) (*csi.NodeUnstageVolumeResponse, error) {
	if !d.staged {
		return nil, status.Error(codes.Unimplemented, "")
	}
	if req.GetVolumeId() == "" {
		return nil, invalid("Volume ID missing in request")
	}
	if req.GetStagingTargetPath() == "" {
		return nil, invalid("Staging target not provided")
	}
	if err := d.unmount(req.GetStagingTargetPath()); err != nil {
		return nil, err
	}
	return &csi.NodeUnstageVolumeResponse{}, nil
}

// NodePublishVolume binds the volume's directory (EFS) or the staged share (Azure Files)
// onto the pod's target path.
func (d *driver) NodePublishVolume(_ context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, invalid("Volume ID missing in request")
	}
	if req.GetTargetPath() == "" {
		return nil, invalid("Target path not provided")
	}
	if req.GetVolumeCapability() == nil {
		return nil, invalid("Volume capability not provided")
	}
	if d.staged {
		staging := req.GetStagingTargetPath()
		if staging == "" {
			return nil, invalid("Staging target not provided")
		}
		if mounted, err := isMountPoint(staging); err != nil || !mounted {
			return nil, status.Errorf(codes.FailedPrecondition, "volume %s is not staged at %s", req.GetVolumeId(), staging)
		}
		if err := d.bind(staging, req.GetTargetPath(), req.GetReadonly()); err != nil {
			return nil, err
		}
		return &csi.NodePublishVolumeResponse{}, nil
	}
	src, err := planEFS(req.GetVolumeId(), req.GetVolumeContext(), req.GetVolumeCapability())
	if err != nil {
		return nil, err
	}
	if err := d.mount(src, req.GetTargetPath(), req.GetReadonly()); err != nil {
		return nil, err
	}
	return &csi.NodePublishVolumeResponse{}, nil
}

func (d *driver) NodeUnpublishVolume(_ context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, invalid("Volume ID missing in request")
	}
	if req.GetTargetPath() == "" {
		return nil, invalid("Target path not provided")
	}
	if err := d.unmount(req.GetTargetPath()); err != nil {
		return nil, err
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

// mount creates the volume's base directory below the shared root (the cloud resource
// exists, so its root does), requires the mounted directory to exist, and binds it.
func (d *driver) mount(src source, target string, readonly bool) error {
	base, dir := filepath.Join(d.root, src.base), filepath.Join(d.root, src.dir)
	if _, err := os.Stat(base); os.IsNotExist(err) {
		if err := os.MkdirAll(base, 0o755); err != nil {
			return status.Errorf(codes.Internal, "could not create %s: %v", base, err)
		}
		if src.baseMode != 0 {
			if err := os.Chmod(base, os.FileMode(src.baseMode)); err != nil {
				return status.Errorf(codes.Internal, "chmod %s to %o: %v", base, src.baseMode, err)
			}
		}
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return status.Errorf(codes.Internal, "Could not mount %q at %q: no such directory in the volume", src.dir, target)
	}
	if err := d.bind(dir, target, readonly); err != nil {
		return err
	}
	if src.owner != nil {
		if err := os.Lchown(target, src.owner[0], src.owner[1]); err != nil {
			return status.Errorf(codes.Internal, "chown %s to %d:%d: %v", target, src.owner[0], src.owner[1], err)
		}
	}
	if src.chmod != 0 {
		if err := os.Chmod(target, os.FileMode(src.chmod)); err != nil {
			return status.Errorf(codes.Internal, "chmod %s to %o: %v", target, src.chmod, err)
		}
	}
	return nil
}

func (d *driver) bind(src, target string, readonly bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	mounted, err := isMountPoint(target)
	if err != nil {
		return status.Errorf(codes.Internal, "failed to check if %s is mounted: %v", target, err)
	}
	if mounted {
		log.Printf("%s is already mounted", target)
		return nil
	}
	if err := bindMount(src, target, readonly); err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	log.Printf("mounted %s at %s (readonly=%t)", src, target, readonly)
	return nil
}

func (d *driver) unmount(target string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := unmountAndRemove(target); err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	log.Printf("unmounted %s", target)
	return nil
}
