// Command csi-standin is a STAND-IN for the node side of two CSI drivers, efs.csi.aws.com and
// file.csi.azure.com, for a local Kubernetes cluster that has neither NFS nor SMB nor a
// cloud. It is not either driver: every volume is a directory below one shared root that
// every node mounts (so an fcntl lock taken through one node is seen by all), and a volume
// is "mounted" by a bind mount of that directory.
//
// It serves the CSI v1 Identity and Node services on a unix socket and registers itself with
// the kubelet through the plugin registration API (the job node-driver-registrar does beside a
// real driver), so PersistentVolumes written for the real drivers mount unchanged:
//
//	csi-standin --driver efs.csi.aws.com --root /shared --node-id "$NODE_NAME"
//
// Volume handles and attributes are parsed and refused as the real node plugins do (see
// volume.go). It contacts nothing on the network: no cloud API, no metadata address.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	registration "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

type config struct {
	driver     string
	nodeID     string
	root       string
	kubeletDir string
}

// csiSocket is where the plugin serves CSI, as the kubelet sees it (the plugin runs with the
// node's kubelet directory mounted at the same path).
func (c config) csiSocket() string {
	return filepath.Join(c.kubeletDir, "plugins", c.driver, "csi.sock")
}

// registrationSocket is the socket the kubelet's plugin watcher finds in plugins_registry.
func (c config) registrationSocket() string {
	return filepath.Join(c.kubeletDir, "plugins_registry", c.driver+"-reg.sock")
}

func main() {
	var cfg config
	flag.StringVar(&cfg.driver, "driver", "", "driver name to serve: "+efsDriver+" or "+azureDriver)
	flag.StringVar(&cfg.nodeID, "node-id", os.Getenv("NODE_NAME"), "node ID reported to the kubelet (default $NODE_NAME)")
	flag.StringVar(&cfg.root, "root", "/shared", "directory shared by every node; volumes are directories below it")
	flag.StringVar(&cfg.kubeletDir, "kubelet-dir", "/var/lib/kubelet", "the kubelet's root directory")
	flag.Parse()
	log.SetPrefix(cfg.driver + " stand-in: ")

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, cfg); err != nil {
		log.Fatal(err)
	}
}

// serve runs the CSI server and the registration server until ctx ends or the kubelet
// refuses the registration, then removes both sockets (the kubelet deregisters the plugin
// when its registration socket disappears).
func serve(ctx context.Context, cfg config) error {
	d, err := newDriver(cfg.driver, cfg.nodeID, cfg.root)
	if err != nil {
		return err
	}
	csiListener, err := listenUnix(cfg.csiSocket())
	if err != nil {
		return err
	}
	defer os.Remove(cfg.csiSocket())
	csiServer := grpc.NewServer(grpc.UnaryInterceptor(logCall))
	csi.RegisterIdentityServer(csiServer, d)
	csi.RegisterNodeServer(csiServer, d)
	go func() { _ = csiServer.Serve(csiListener) }()
	defer csiServer.GracefulStop()

	// Registration last: the kubelet calls the CSI endpoint as soon as it reads GetInfo.
	reg := &registrar{
		info: &registration.PluginInfo{
			Type: registration.CSIPlugin, Name: cfg.driver, Endpoint: cfg.csiSocket(), SupportedVersions: []string{"1.0.0"},
		},
		refused: make(chan string, 1),
	}
	regListener, err := listenUnix(cfg.registrationSocket())
	if err != nil {
		return err
	}
	defer os.Remove(cfg.registrationSocket())
	regServer := grpc.NewServer()
	registration.RegisterRegistrationServer(regServer, reg)
	go func() { _ = regServer.Serve(regListener) }()
	defer regServer.GracefulStop() // lets NotifyRegistrationStatus answer before stopping
	log.Printf("serving CSI on %s, registration on %s, shared root %s", cfg.csiSocket(), cfg.registrationSocket(), cfg.root)

	select {
	case <-ctx.Done():
		log.Print("stopping")
		return nil
	case reason := <-reg.refused:
		return fmt.Errorf("the kubelet refused the registration: %s", reason)
	}
}

// listenUnix listens on a unix socket, replacing a stale socket file left by a previous run.
func listenUnix(path string) (net.Listener, error) {
	if len(path) > 107 {
		return nil, fmt.Errorf("socket path %s is %d bytes, longer than a unix socket allows (107): use a shorter --kubelet-dir", path, len(path))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return net.Listen("unix", path)
}

// registrar answers the kubelet's plugin watcher (pluginregistration v1).
type registrar struct {
	registration.UnimplementedRegistrationServer
	info    *registration.PluginInfo
	refused chan string
}

func (r *registrar) GetInfo(context.Context, *registration.InfoRequest) (*registration.PluginInfo, error) {
	return r.info, nil
}

func (r *registrar) NotifyRegistrationStatus(_ context.Context, st *registration.RegistrationStatus) (*registration.RegistrationStatusResponse, error) {
	if st.GetPluginRegistered() {
		log.Print("registered with the kubelet")
	} else {
		select {
		case r.refused <- st.GetError():
		default:
		}
	}
	return &registration.RegistrationStatusResponse{}, nil
}

// logCall logs every CSI call by method, volume and outcome; never its secrets.
func logCall(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	volume := ""
	if v, ok := req.(interface{ GetVolumeId() string }); ok {
		volume = " volume " + v.GetVolumeId()
	}
	if err != nil {
		log.Printf("%s%s: %s: %s", info.FullMethod, volume, status.Code(err), status.Convert(err).Message())
	} else if volume != "" {
		log.Printf("%s%s: OK", info.FullMethod, volume)
	}
	return resp, err
}
