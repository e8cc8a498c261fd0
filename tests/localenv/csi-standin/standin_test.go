package main

// These tests play the kubelet: they find the plugin through its registration socket, read
// GetInfo, dial the CSI endpoint it names and mount volumes into temporary "pod" directories.
// Bind mounts need root (CAP_SYS_ADMIN); run them as root: `go test ./...`.

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	registration "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

const (
	fsID      = "fs-0123456789abcdef0"
	apID      = "fsap-0123abcd"
	lockEnv   = "CSI_STANDIN_LOCK_PROBE"
	lockFile  = ".rootdir.lck" // the file STAN's FT lock is taken on
	secretKey = "c2VjcmV0LWtleS1uZXZlci1zaG93bg=="
)

// TestMain doubles as the lock probe: a second process is needed to see an fcntl lock.
func TestMain(m *testing.M) {
	if path := os.Getenv(lockEnv); path != "" {
		os.Exit(lockProbe(path))
	}
	os.Exit(m.Run())
}

// lockProbe takes the write lock STAN's FT mode takes (fcntl F_SETLK, F_WRLCK, whole file):
// exit 0 when it got it, 3 when another process holds it.
func lockProbe(path string) int {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 1
	}
	defer f.Close()
	err = syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &syscall.Flock_t{Type: syscall.F_WRLCK})
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) {
		return 3
	}
	if err != nil {
		return 1
	}
	return 0
}

func lockedElsewhere(t *testing.T, path string) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockEnv+"="+path)
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return false
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		return true
	default:
		t.Fatalf("lock probe on %s: %v", path, err)
		return false
	}
}

// ------------------------------------------------------------------------------ the kubelet side

type node struct {
	t        *testing.T
	dir      string // this node's scratch dir: kubelet dir and pod dirs
	cfg      config
	info     *registration.PluginInfo
	csi      csi.NodeClient
	identity csi.IdentityClient
	reg      registration.RegistrationClient
	stopped  chan error
	cancel   context.CancelFunc
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("these tests bind-mount directories and need root (CAP_SYS_ADMIN)")
	}
}

func newRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(shortTempDir(t), "shared")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// shortTempDir keeps socket paths under the 108-byte unix socket limit.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "csi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// startNode starts the plugin for one node and connects to it the way the kubelet does:
// registration socket first, then the endpoint GetInfo names.
func startNode(t *testing.T, driverName, nodeName, root string) *node {
	t.Helper()
	requireRoot(t)
	dir := shortTempDir(t)
	n := &node{t: t, dir: dir, stopped: make(chan error, 1),
		cfg: config{driver: driverName, nodeID: nodeName, root: root, kubeletDir: filepath.Join(dir, "kubelet")}}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.stopped <- serve(ctx, n.cfg) }()
	t.Cleanup(func() { n.stop() })

	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(n.cfg.registrationSocket()); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no registration socket at %s", n.cfg.registrationSocket())
		}
		time.Sleep(20 * time.Millisecond)
	}
	n.reg = registration.NewRegistrationClient(dial(t, n.cfg.registrationSocket()))
	info, err := n.reg.GetInfo(context.Background(), &registration.InfoRequest{})
	if err != nil {
		t.Fatalf("GetInfo: %v", err)
	}
	n.info = info
	conn := dial(t, info.GetEndpoint())
	n.csi, n.identity = csi.NewNodeClient(conn), csi.NewIdentityClient(conn)
	return n
}

func (n *node) stop() {
	if n.cancel == nil {
		return
	}
	n.cancel()
	n.cancel = nil
	select {
	case err := <-n.stopped:
		if err != nil {
			n.t.Errorf("plugin stopped with %v", err)
		}
	case <-time.After(10 * time.Second):
		n.t.Error("plugin did not stop")
	}
}

func dial(t *testing.T, socket string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// podDir is where the kubelet would ask for a pod's volume.
func (n *node) podDir(pod string) string {
	return filepath.Join(n.cfg.kubeletDir, "pods", pod, "volumes", "kubernetes.io~csi", "store", "mount")
}

func (n *node) stagingDir() string {
	return filepath.Join(n.cfg.kubeletDir, "plugins", "kubernetes.io", "csi", n.cfg.driver, "0123abcd", "globalmount")
}

func rwx() *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER},
	}
}

func (n *node) publish(volumeID, target string, volCtx map[string]string, readonly bool) error {
	_, err := n.csi.NodePublishVolume(context.Background(), &csi.NodePublishVolumeRequest{
		VolumeId: volumeID, TargetPath: target, VolumeCapability: rwx(), VolumeContext: volCtx, Readonly: readonly,
		StagingTargetPath: map[bool]string{true: n.stagingDir()}[n.cfg.driver == azureDriver],
	})
	if err == nil {
		n.t.Cleanup(func() { _ = unmountAndRemove(target) })
	}
	return err
}

func (n *node) unpublish(volumeID, target string) error {
	_, err := n.csi.NodeUnpublishVolume(context.Background(), &csi.NodeUnpublishVolumeRequest{VolumeId: volumeID, TargetPath: target})
	return err
}

func (n *node) stage(volumeID string, volCtx, secrets map[string]string) error {
	_, err := n.csi.NodeStageVolume(context.Background(), &csi.NodeStageVolumeRequest{
		VolumeId: volumeID, StagingTargetPath: n.stagingDir(), VolumeCapability: rwx(), VolumeContext: volCtx, Secrets: secrets,
	})
	if err == nil {
		n.t.Cleanup(func() { _ = unmountAndRemove(n.stagingDir()) })
	}
	return err
}

func mustMounted(t *testing.T, path string, want bool) {
	t.Helper()
	got, err := isMountPoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("%s mounted = %t, want %t", path, got, want)
	}
}

func mustOK(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readBack(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ------------------------------------------------------------------------------ registration

func TestRegistrationAnswersTheKubeletsPluginWatcher(t *testing.T) {
	root := newRoot(t)
	for _, name := range []string{efsDriver, azureDriver} {
		n := startNode(t, name, "worker-1", root)
		if n.info.GetType() != registration.CSIPlugin || n.info.GetName() != name ||
			n.info.GetEndpoint() != n.cfg.csiSocket() || strings.Join(n.info.GetSupportedVersions(), ",") != "1.0.0" {
			t.Fatalf("GetInfo = %+v", n.info)
		}
		if !strings.HasPrefix(n.cfg.registrationSocket(), filepath.Join(n.cfg.kubeletDir, "plugins_registry")+"/") {
			t.Fatalf("registration socket %s is not in plugins_registry", n.cfg.registrationSocket())
		}
		_, err := n.reg.NotifyRegistrationStatus(context.Background(), &registration.RegistrationStatus{PluginRegistered: true})
		mustOK(t, "NotifyRegistrationStatus", err)

		pi, err := n.identity.GetPluginInfo(context.Background(), &csi.GetPluginInfoRequest{})
		mustOK(t, "GetPluginInfo", err)
		if pi.GetName() != name {
			t.Fatalf("GetPluginInfo name %q, want %q", pi.GetName(), name)
		}
		caps, err := n.identity.GetPluginCapabilities(context.Background(), &csi.GetPluginCapabilitiesRequest{})
		mustOK(t, "GetPluginCapabilities", err)
		if len(caps.GetCapabilities()) != 0 {
			t.Fatalf("plugin capabilities %v: no controller service is served", caps.GetCapabilities())
		}
		_, err = n.identity.Probe(context.Background(), &csi.ProbeRequest{})
		mustOK(t, "Probe", err)
		ni, err := n.csi.NodeGetInfo(context.Background(), &csi.NodeGetInfoRequest{})
		mustOK(t, "NodeGetInfo", err)
		if ni.GetNodeId() != "worker-1" {
			t.Fatalf("NodeGetInfo node id %q", ni.GetNodeId())
		}
		nc, err := n.csi.NodeGetCapabilities(context.Background(), &csi.NodeGetCapabilitiesRequest{})
		mustOK(t, "NodeGetCapabilities", err)
		staged := len(nc.GetCapabilities()) == 1 && nc.GetCapabilities()[0].GetRpc().GetType() == csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME
		if staged != (name == azureDriver) || (name == efsDriver && len(nc.GetCapabilities()) != 0) {
			t.Fatalf("%s node capabilities %v: only Azure Files stages (as the real drivers)", name, nc.GetCapabilities())
		}

		n.stop()
		for _, sock := range []string{n.cfg.csiSocket(), n.cfg.registrationSocket()} {
			if _, err := os.Stat(sock); !os.IsNotExist(err) {
				t.Fatalf("%s left behind after stop (the kubelet would keep a dead plugin registered)", sock)
			}
		}
	}
}

func TestARefusedRegistrationStopsThePlugin(t *testing.T) {
	n := startNode(t, efsDriver, "worker-1", newRoot(t))
	_, err := n.reg.NotifyRegistrationStatus(context.Background(), &registration.RegistrationStatus{PluginRegistered: false, Error: "version mismatch"})
	mustOK(t, "NotifyRegistrationStatus", err)
	select {
	case err := <-n.stopped:
		if err == nil || !strings.Contains(err.Error(), "version mismatch") {
			t.Fatalf("serve returned %v, want the kubelet's reason", err)
		}
		n.cancel() // already stopped
		n.cancel = nil
	case <-time.After(10 * time.Second):
		t.Fatal("plugin kept running after the kubelet refused it")
	}
}

func TestBadFlagsAreRefusedWithTheFlagName(t *testing.T) {
	root := newRoot(t)
	for _, c := range []struct {
		cfg  config
		want string
	}{
		{config{driver: "nfs.csi.k8s.io", nodeID: "n", root: root}, "--driver"},
		{config{driver: efsDriver, root: root}, "--node-id"},
		{config{driver: efsDriver, nodeID: "n", root: filepath.Join(root, "missing")}, "--root"},
	} {
		if err := serve(context.Background(), c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one naming %s", c.cfg, err, c.want)
		}
	}
}

// ------------------------------------------------------------------------------ EFS

// Two nodes, one shared root: what one pod writes the other reads, and while one holds
// STAN's FT lock the other cannot take it: the property fault tolerance rests on.
func TestEFSVolumeIsSharedAcrossNodesWithFilesAndLocks(t *testing.T) {
	root := newRoot(t)
	a, b := startNode(t, efsDriver, "worker-a", root), startNode(t, efsDriver, "worker-b", root)
	ta, tb := a.podDir("stan-0"), b.podDir("stan-1")
	mustOK(t, "publish on a", a.publish(fsID, ta, nil, false))
	mustOK(t, "publish on b", b.publish(fsID, tb, nil, false))
	mustMounted(t, ta, true)
	mustMounted(t, tb, true)

	write(t, filepath.Join(ta, "written-on-a"), "hello")
	if got := readBack(t, filepath.Join(tb, "written-on-a")); got != "hello" {
		t.Fatalf("read %q through node b", got)
	}
	if got := readBack(t, filepath.Join(root, "efs", fsID, "written-on-a")); got != "hello" {
		t.Fatalf("the file is not in <root>/efs/<fs-id>: %q", got)
	}

	f, err := os.OpenFile(filepath.Join(ta, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	mustOK(t, "open lock file", err)
	mustOK(t, "lock through a", syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &syscall.Flock_t{Type: syscall.F_WRLCK}))
	if !lockedElsewhere(t, filepath.Join(tb, lockFile)) {
		t.Fatal("another process took the lock through node b while node a's process held it")
	}
	mustOK(t, "unlock", syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &syscall.Flock_t{Type: syscall.F_UNLCK}))
	if lockedElsewhere(t, filepath.Join(tb, lockFile)) {
		t.Fatal("the lock was released but node b still cannot take it")
	}
	f.Close() // the kubelet unpublishes once the pod's containers (and their open files) are gone

	// Idempotent: publishing again is OK and does not stack a second mount.
	mustOK(t, "publish again", a.publish(fsID, ta, nil, false))
	mustOK(t, "unpublish", a.unpublish(fsID, ta))
	mustMounted(t, ta, false)
	if _, err := os.Stat(ta); !os.IsNotExist(err) {
		t.Fatalf("target %s still there after unpublish (a stacked mount or a leftover dir): %v", ta, err)
	}
	mustOK(t, "unpublish again", a.unpublish(fsID, ta))
	if got := readBack(t, filepath.Join(tb, "written-on-a")); got != "hello" {
		t.Fatal("unpublishing on a disturbed b")
	}
}

func TestEFSReadonlyPublishRefusesWrites(t *testing.T) {
	n := startNode(t, efsDriver, "worker-a", newRoot(t))
	target := n.podDir("reader")
	mustOK(t, "publish readonly", n.publish(fsID, target, nil, true))
	err := os.WriteFile(filepath.Join(target, "x"), []byte("x"), 0o644)
	if !errors.Is(err, syscall.EROFS) {
		t.Fatalf("write through a readonly publish: %v, want EROFS", err)
	}
}

func TestEFSHandleFormsMapToTheirDirectories(t *testing.T) {
	root := newRoot(t)
	n := startNode(t, efsDriver, "worker-a", root)
	fsRoot := filepath.Join(root, "efs", fsID)
	for _, dir := range []string{"data/stan", "escape", "access-points/" + apID + "/sub"} {
		mustOK(t, "mkdir", os.MkdirAll(filepath.Join(fsRoot, dir), 0o755))
	}
	for i, c := range []struct {
		handle string
		volCtx map[string]string
		flags  []string
		dir    string // relative to the file system's directory
	}{
		{handle: fsID, dir: "."},
		{handle: fsID + ":/data/stan", dir: "data/stan"},
		{handle: fsID + ":data/stan/", dir: "data/stan"},
		{handle: fsID + ":/../../escape", dir: "escape"}, // a sub path cannot leave the file system
		{handle: fsID + ":../../escape", dir: "escape"},
		{handle: fsID + "::" + apID, dir: "access-points/" + apID},
		{handle: fsID + ":/sub:" + apID, dir: "access-points/" + apID + "/sub"},
		{handle: "efs:" + fsID + ":/data/stan", dir: "data/stan"},
		{handle: fsID, flags: []string{"accesspoint=" + apID, "tls"}, dir: "access-points/" + apID},
		{handle: fsID, volCtx: map[string]string{"encryptInTransit": "false", "mounttargetip": "10.0.0.5",
			"storage.kubernetes.io/csiProvisionerIdentity": "x"}, dir: "."},
	} {
		target := n.podDir("pod-" + string(rune('a'+i)))
		volCap := rwx()
		volCap.GetMount().MountFlags = c.flags
		_, err := n.csi.NodePublishVolume(context.Background(), &csi.NodePublishVolumeRequest{
			VolumeId: c.handle, TargetPath: target, VolumeCapability: volCap, VolumeContext: c.volCtx})
		mustOK(t, c.handle, err)
		marker := "marker-" + string(rune('a'+i))
		write(t, filepath.Join(target, marker), c.handle)
		if got := readBack(t, filepath.Join(fsRoot, c.dir, marker)); got != c.handle {
			t.Fatalf("%s: file not in %s", c.handle, c.dir)
		}
		mustOK(t, "unpublish", n.unpublish(c.handle, target))
	}

	// A sub path that does not exist fails, as an NFS mount of a missing path does.
	target := n.podDir("missing")
	err := n.publish(fsID+":/not/there", target, nil, false)
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "no such directory") {
		t.Fatalf("missing sub path: %v", err)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatal("a failed publish left its target directory behind")
	}
}

func TestEFSRefusesWhatTheRealDriverRefuses(t *testing.T) {
	n := startNode(t, efsDriver, "worker-a", newRoot(t))
	mode := func(m csi.VolumeCapability_AccessMode_Mode) *csi.VolumeCapability {
		c := rwx()
		c.AccessMode.Mode = m
		return c
	}
	flags := func(f ...string) *csi.VolumeCapability {
		c := rwx()
		c.GetMount().MountFlags = f
		return c
	}
	block := &csi.VolumeCapability{AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
		AccessMode: rwx().AccessMode}
	for _, c := range []struct {
		handle string
		volCtx map[string]string
		volCap *csi.VolumeCapability
		want   string
	}{
		{handle: "", want: "Volume ID missing"},
		{handle: "fs-123", want: "Expected a file system ID of the form 'fs-[0-9a-f]{8,40}'"},
		{handle: "fs-0123ABCD", want: "Expected a file system ID"},
		{handle: "vol-01234567", want: "Expected a file system ID"},
		{handle: fsID + ":/a:" + apID + ":x", want: "Expected at most three fields separated by ':'"},
		{handle: fsID + ":/a:ap-01234567", want: "has an invalid access point ID 'ap-01234567'"},
		{handle: "efs", want: "Missing file system ID"},
		{handle: "efs:" + fsID + ":/:" + apID + ":x", want: "Expected at most four fields"},
		{handle: "s3files:" + fsID, want: "not emulated"},
		{handle: fsID, volCtx: map[string]string{"encryptInTransit": "maybe"}, want: `"encryptInTransit" must be a boolean`},
		{handle: fsID, volCtx: map[string]string{"mounttargetip": "not-an-ip"}, want: "is not a valid IP address"},
		{handle: fsID, volCtx: map[string]string{"mounttargetipmap": "{"}, want: "Failed to parse mounttargetipmap"},
		{handle: fsID, volCtx: map[string]string{"path": "/x"}, want: "Volume context property path not supported."},
		{handle: fsID, volCtx: map[string]string{"encryptInTransit": "false"}, volCap: flags("tls"), want: "Found tls in mountOptions but encryptInTransit is false"},
		{handle: fsID + "::" + apID, volCap: flags("accesspoint=fsap-99999999"), want: "Found conflicting access point IDs"},
		{handle: fsID, volCap: flags("crossaccount"), want: "mount option 'crossaccount' cannot be set manually"},
		{handle: fsID, volCap: flags("accesspoint=../../x"), want: "mount option accesspoint=../../x: Expected it to be of the form"},
		{handle: fsID, volCap: mode(csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY), want: "invalid access mode: MULTI_NODE_READER_ONLY"},
		{handle: fsID, volCap: block, want: "only filesystem volumes are supported"},
	} {
		target := n.podDir("refused")
		volCap := c.volCap
		if volCap == nil {
			volCap = rwx()
		}
		_, err := n.csi.NodePublishVolume(context.Background(), &csi.NodePublishVolumeRequest{
			VolumeId: c.handle, TargetPath: target, VolumeCapability: volCap, VolumeContext: c.volCtx})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), c.want) {
			t.Errorf("handle %q ctx %v: got %v, want InvalidArgument with %q", c.handle, c.volCtx, err, c.want)
		}
		if _, err := os.Stat(target); !os.IsNotExist(err) {
			t.Errorf("handle %q: refused, but the target was created", c.handle)
		}
	}
	_, err := n.csi.NodePublishVolume(context.Background(), &csi.NodePublishVolumeRequest{VolumeId: fsID, VolumeCapability: rwx()})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "Target path not provided") {
		t.Errorf("no target path: %v", err)
	}
	if _, err := n.csi.NodeStageVolume(context.Background(), &csi.NodeStageVolumeRequest{VolumeId: fsID}); status.Code(err) != codes.Unimplemented {
		t.Errorf("EFS NodeStageVolume: %v, want Unimplemented (the real driver does not stage)", err)
	}
}

// ------------------------------------------------------------------------------ Azure Files

func azureSecret() map[string]string {
	return map[string]string{"azurestorageaccountname": "nsftstore", "azurestorageaccountkey": secretKey}
}

// The role's static volume: handle rg#account#share, attributes naming the same, SMB with
// the account key from nodeStageSecretRef; NFS without a secret.
func TestAzureFilesStagesThenPublishesOneSharePerAccount(t *testing.T) {
	root := newRoot(t)
	for _, c := range []struct {
		protocol string
		secrets  map[string]string
		mode     os.FileMode
	}{
		{"smb", azureSecret(), 0o755},
		{"nfs", nil, 0o777}, // the real driver chmods an NFS share to mountPermissions (default 0777)
	} {
		a, b := startNode(t, azureDriver, "worker-a", root), startNode(t, azureDriver, "worker-b", root)
		handle := "nsft-rg#nsftstore#stan-" + c.protocol
		volCtx := map[string]string{"resourceGroup": "nsft-rg", "storageAccount": "nsftstore", "shareName": "stan-" + c.protocol, "protocol": c.protocol}

		err := a.publish(handle, a.podDir("early"), volCtx, false)
		if status.Code(err) != codes.FailedPrecondition {
			t.Fatalf("%s: publish before stage: %v, want FailedPrecondition", c.protocol, err)
		}
		mustOK(t, "stage on a", a.stage(handle, volCtx, c.secrets))
		mustOK(t, "stage again on a", a.stage(handle, volCtx, c.secrets))
		mustOK(t, "stage on b", b.stage(handle, volCtx, c.secrets))
		ta, tb := a.podDir("stan-0"), b.podDir("stan-1")
		mustOK(t, "publish on a", a.publish(handle, ta, volCtx, false))
		mustOK(t, "publish on b", b.publish(handle, tb, volCtx, false))

		shareDir := filepath.Join(root, "azurefile", "nsftstore", "stan-"+c.protocol)
		info, err := os.Stat(shareDir)
		mustOK(t, "stat share", err)
		if info.Mode().Perm() != c.mode {
			t.Errorf("%s share mode %o, want %o", c.protocol, info.Mode().Perm(), c.mode)
		}
		write(t, filepath.Join(ta, "from-a"), c.protocol)
		if readBack(t, filepath.Join(tb, "from-a")) != c.protocol || readBack(t, filepath.Join(shareDir, "from-a")) != c.protocol {
			t.Fatalf("%s: the share is not one directory for both nodes", c.protocol)
		}
		f, err := os.OpenFile(filepath.Join(ta, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
		mustOK(t, "open", err)
		mustOK(t, "lock", syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &syscall.Flock_t{Type: syscall.F_WRLCK}))
		if !lockedElsewhere(t, filepath.Join(tb, lockFile)) {
			t.Fatalf("%s: the FT lock is not shared between nodes", c.protocol)
		}
		f.Close()

		mustOK(t, "unpublish", a.unpublish(handle, ta))
		_, err = a.csi.NodeUnstageVolume(context.Background(), &csi.NodeUnstageVolumeRequest{VolumeId: handle, StagingTargetPath: a.stagingDir()})
		mustOK(t, "unstage", err)
		mustMounted(t, a.stagingDir(), false)
		_, err = a.csi.NodeUnstageVolume(context.Background(), &csi.NodeUnstageVolumeRequest{VolumeId: handle, StagingTargetPath: a.stagingDir()})
		mustOK(t, "unstage again", err)
		if readBack(t, filepath.Join(tb, "from-a")) != c.protocol {
			t.Fatal("unstaging on a disturbed b")
		}
	}
}

func TestAzureFilesAttributesAndSecretNameTheShare(t *testing.T) {
	root := newRoot(t)
	n := startNode(t, azureDriver, "worker-a", root)
	// Attributes win over the handle; the secret's account name wins for SMB (as in GetAccountInfo).
	secrets := map[string]string{"accountname": "fromsecret", "accountkey": secretKey}
	mustOK(t, "stage", n.stage("rg#other#other", map[string]string{"storageAccount": "attr", "shareName": "share1"}, secrets))
	write(t, filepath.Join(n.stagingDir(), "f"), "x")
	if readBack(t, filepath.Join(root, "azurefile", "fromsecret", "share1", "f")) != "x" {
		t.Fatal("the share directory did not follow the secret's account and the shareName attribute")
	}
	mustOK(t, "unstage", unmountAndRemove(n.stagingDir()))
	// mountPermissions 0 means: leave the NFS share's mode alone.
	mustOK(t, "stage nfs", n.stage("#acct#keepmode", map[string]string{"protocol": "nfs", "mountPermissions": "0"}, nil))
	info, err := os.Stat(filepath.Join(root, "azurefile", "acct", "keepmode"))
	mustOK(t, "stat", err)
	if info.Mode().Perm() != 0o755 {
		t.Fatalf("mountPermissions 0 changed the mode to %o", info.Mode().Perm())
	}
}

func TestAzureFilesRefusesWhatTheRealDriverRefuses(t *testing.T) {
	n := startNode(t, azureDriver, "worker-a", newRoot(t))
	nfs := map[string]string{"protocol": "nfs"}
	for _, c := range []struct {
		handle  string
		volCtx  map[string]string
		secrets map[string]string
		want    string
	}{
		{handle: "", want: "Volume ID missing in request"},
		{handle: "acct#share", volCtx: nfs, want: "failed to get file share name from acct#share"},
		{handle: "rg##share", volCtx: nfs, want: "failed to get account name from rg##share"},
		{handle: "rg#acct#share", volCtx: map[string]string{"protocol": "ftp"}, secrets: azureSecret(), want: "protocol(ftp) is not supported, supported protocol list: [smb nfs]"},
		{handle: "rg#acct#share", want: "no storage account key"},
		{handle: "rg#acct#share", volCtx: map[string]string{"protocol": "smb"}, secrets: map[string]string{"azurestorageaccountname": "acct"},
			want: "could not find accountkey or azurestorageaccountkey field in secrets"},
		{handle: "rg#acct#share", secrets: map[string]string{"azurestorageaccountkey": secretKey}, want: "could not find accountname or azurestorageaccountname"},
		{handle: "rg#acct#..", volCtx: nfs, want: `invalid storage account or share name ".."`},
		{handle: "rg#a/b#share", volCtx: nfs, want: `invalid storage account or share name "a/b"`},
		{handle: "rg#acct#share", volCtx: map[string]string{"protocol": "nfs", "folderName": "sub"}, want: "not emulated by this stand-in"},
		{handle: "rg#acct#share", volCtx: map[string]string{"protocol": "nfs", "mountPermissions": "9z"}, want: "invalid mountPermissions 9z"},
		{handle: "rg#acct#share", volCtx: map[string]string{"protocol": "nfs", "fsType": "ext4"}, want: "fsType(ext4) is not supported"},
	} {
		_, err := n.csi.NodeStageVolume(context.Background(), &csi.NodeStageVolumeRequest{
			VolumeId: c.handle, StagingTargetPath: n.stagingDir(), VolumeCapability: rwx(), VolumeContext: c.volCtx, Secrets: c.secrets})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), c.want) {
			t.Errorf("handle %q ctx %v: got %v, want InvalidArgument with %q", c.handle, c.volCtx, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), secretKey) {
			t.Errorf("handle %q: the error shows the account key", c.handle)
		}
		if _, err := os.Stat(n.stagingDir()); !os.IsNotExist(err) {
			t.Errorf("handle %q: refused, but the staging dir was created", c.handle)
		}
	}
	_, err := n.csi.NodeStageVolume(context.Background(), &csi.NodeStageVolumeRequest{VolumeId: "rg#acct#share", VolumeCapability: rwx()})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "Staging target not provided") {
		t.Errorf("no staging path: %v", err)
	}
}

// An access point's root is created writable by any user (EFS would create it with the access
// point's owner, which the stand-in cannot read); an SMB share's root takes the uid, gid and
// dir_mode mount options, as a CIFS mount presents them.
func TestAccessPointRootAndSMBMountOptionsLetANonRootServerWrite(t *testing.T) {
	root := newRoot(t)
	n := startNode(t, efsDriver, "worker-a", root)
	mustOK(t, "publish access point", n.publish(fsID+"::"+apID, n.podDir("ap"), nil, false))
	info, err := os.Stat(filepath.Join(root, "efs", fsID, "access-points", apID))
	mustOK(t, "stat access point root", err)
	if info.Mode().Perm() != 0o777 {
		t.Fatalf("access point root mode %o, want 777", info.Mode().Perm())
	}

	a := startNode(t, azureDriver, "worker-b", root)
	volCtx := map[string]string{"resourceGroup": "nsft-rg", "storageAccount": "nsftstore", "shareName": "owned", "protocol": "smb"}
	stage := func(flags ...string) error {
		volCap := rwx()
		volCap.GetMount().MountFlags = flags
		_, err := a.csi.NodeStageVolume(context.Background(), &csi.NodeStageVolumeRequest{
			VolumeId: "nsft-rg#nsftstore#owned", StagingTargetPath: a.stagingDir(), VolumeCapability: volCap,
			VolumeContext: volCtx, Secrets: azureSecret()})
		if err == nil {
			t.Cleanup(func() { _ = unmountAndRemove(a.stagingDir()) })
		}
		return err
	}
	if err := stage("uid=stan"); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("uid=stan: %v, want InvalidArgument", err)
	}
	mustOK(t, "stage with uid/gid/dir_mode", stage("uid=1000", "gid=1001,dir_mode=0770", "file_mode=0660"))
	info, err = os.Stat(filepath.Join(root, "azurefile", "nsftstore", "owned"))
	mustOK(t, "stat share", err)
	st := info.Sys().(*syscall.Stat_t)
	if st.Uid != 1000 || st.Gid != 1001 || info.Mode().Perm() != 0o770 {
		t.Fatalf("share root %d:%d %o, want 1000:1001 770", st.Uid, st.Gid, info.Mode().Perm())
	}
}
