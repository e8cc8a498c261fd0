#!/usr/bin/env bash
# Builds the real binaries the local environment runs, once per version, into a cache:
#   the Kubernetes components (k8s.io/kubernetes through a wrapper go.mod: kube-apiserver,
#   kube-controller-manager, kube-scheduler, kubelet, kubeadm, kubectl, kube-proxy), etcd,
#   CoreDNS, crictl, kind, local-path-provisioner, a static pause binary (the node image's
#   contents, tests/localenv/nodeimage.py), nats-streaming-server, stan-pub, stan-sub, nats-server.
# Cache directory: $NSFT_CACHE_DIR (default ~/.cache/nats_streaming_ft). Re-running is cheap.
set -euo pipefail

KUBE_VERSION="${NSFT_KUBE_VERSION:-v1.34.4}"
# kubeadm v1.34 asks for etcd 3.6.5-0, CoreDNS v1.12.1 and pause 3.10.1: build those versions.
ETCD_VERSION="${NSFT_ETCD_VERSION:-v3.6.5}"
COREDNS_VERSION="v1.12.1"
PAUSE_VERSION="3.10.1"
KIND_VERSION="v0.30.0"
CRICTL_VERSION="v1.34.0"
LPP_VERSION="v0.0.30"
STAN_VERSION="v0.25.6"
STAN_GO_VERSION="v0.10.4"
# nats-server with JetStream (roles/nats_jetstream, the STAN -> JetStream migration tests).
NATS_SERVER_VERSION="v2.15.3"

CACHE="${NSFT_CACHE_DIR:-$HOME/.cache/nats_streaming_ft}"
BIN="$CACHE/bin"
mkdir -p "$BIN" "$CACHE/build"

log() { printf '[build %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

command -v go >/dev/null || { echo "go is required (https://go.dev/doc/install)" >&2; exit 1; }
export GOFLAGS="${GOFLAGS:--trimpath}"
export CGO_ENABLED=0

# stamp NAME VERSION -> path of the versioned binary
stamp() { echo "$BIN/$1-$2"; }

# go_install NAME VERSION PACKAGE@VERSION [binary name produced]
go_install() {
  local name=$1 version=$2 pkg=$3 produced=${4:-$1}
  local out; out=$(stamp "$name" "$version")
  if [[ -x "$out" ]]; then log "$name $version cached"; return; fi
  log "$name $version: go install $pkg (cold build)"
  local tmp; tmp=$(mktemp -d "$CACHE/build/gobin.XXXX")
  local t0=$SECONDS
  GOBIN="$tmp" go install "$pkg"
  mv "$tmp/$produced" "$out"
  rm -rf "$tmp"
  log "$name $version built in $((SECONDS - t0))s"
}

# wrapper_module DIR MODULE VERSION LOCAL_REPLACE_VERSION
# Writes DIR/go.mod requiring MODULE@VERSION. A module whose own go.mod replaces sibling
# modules with local paths (k8s.io/kubernetes -> ./staging/..., etcd server -> ../api) cannot be
# `go install`ed; the wrapper replaces each such sibling with its published version instead.
wrapper_module() {
  local dir=$1 module=$2 version=$3 sibling_version=$4
  mkdir -p "$dir"
  local gomod
  gomod=$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "$module@$version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  {
    echo "module nsft.local/wrapper"
    echo
    echo "go $(awk '/^go /{print $2; exit}' "$gomod")"
    echo
    echo "require $module $version"
    echo
    grep -E '^\s*(replace\s+)?[a-z0-9./-]+ => \.\.?/' "$gomod" | sed -E 's/^\s*replace\s+/ /' \
      | grep -v FORBIDDEN | awk -v v="$sibling_version" '{print "replace " $1 " => " $1 " " v}'
  } > "$dir/go.mod"
}

# build_wrapped NAME VERSION DIR PACKAGE [ldflags]
build_wrapped() {
  local name=$1 version=$2 dir=$3 pkg=$4 ldflags=${5:-"-s -w"}
  local out; out=$(stamp "$name" "$version")
  if [[ -x "$out" ]]; then log "$name $version cached"; return; fi
  log "$name $version: go build $pkg (cold build, up to several minutes on 2 cores)"
  local t0=$SECONDS
  (cd "$dir" && go build -tags tools -ldflags "$ldflags" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  log "$name $version built in $((SECONDS - t0))s"
}

# tidy_wrapper DIR IMPORT...: a tools.go importing the main packages, then go mod tidy.
tidy_wrapper() {
  local dir=$1; shift
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    local imp; for imp in "$@"; do printf '\t_ "%s"\n' "$imp"; done
    printf ')\n'
  } > "$dir/tools.go"
  log "$(basename "$dir"): resolving modules (go mod tidy)"
  (cd "$dir" && go mod tidy -e >"$dir/tidy.log" 2>&1) || { cat "$dir/tidy.log" >&2; exit 1; }
}

build_kube() {
  local comps=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubeadm kubectl kube-proxy)
  local missing=0 c
  for c in "${comps[@]}"; do [[ -x $(stamp "$c" "$KUBE_VERSION") ]] || missing=1; done
  if [[ $missing == 0 ]]; then log "kubernetes $KUBE_VERSION cached"; return; fi
  local dir="$CACHE/build/kubernetes-$KUBE_VERSION"
  local staging="v0.${KUBE_VERSION#v1.}"
  log "kubernetes $KUBE_VERSION: wrapper module (staging modules at $staging)"
  wrapper_module "$dir" k8s.io/kubernetes "$KUBE_VERSION" "$staging"
  tidy_wrapper "$dir" "${comps[@]/#/k8s.io/kubernetes/cmd/}"
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${staging#v0.}"
  for c in "${comps[@]}"; do
    build_wrapped "$c" "$KUBE_VERSION" "$dir" "k8s.io/kubernetes/cmd/$c" "$ldflags"
  done
}

build_etcd() {
  [[ -x $(stamp etcd "$ETCD_VERSION") ]] && { log "etcd $ETCD_VERSION cached"; return; }
  local dir="$CACHE/build/etcd-$ETCD_VERSION"
  wrapper_module "$dir" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$ETCD_VERSION"
  tidy_wrapper "$dir" go.etcd.io/etcd/server/v3
  build_wrapped etcd "$ETCD_VERSION" "$dir" go.etcd.io/etcd/server/v3
}

build_stan() {
  go_install nats-streaming-server "$STAN_VERSION" "github.com/nats-io/nats-streaming-server@$STAN_VERSION"
  go_install stan-pub "$STAN_GO_VERSION" "github.com/nats-io/stan.go/examples/stan-pub@$STAN_GO_VERSION"
  go_install stan-sub "$STAN_GO_VERSION" "github.com/nats-io/stan.go/examples/stan-sub@$STAN_GO_VERSION"
}

build_nats_server() {
  # GOTOOLCHAIN=local: the module's go.mod asks for go 1.26.0 (built with the local Go) and names a
  # newer toolchain only as a preference.
  GOTOOLCHAIN=local go_install nats-server "$NATS_SERVER_VERSION" "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION"
}

# CoreDNS with the plugins kubeadm's default Corefile uses, and nothing else, in CoreDNS's own
# plugin.cfg order (directive:package; the "prometheus" directive lives in plugin/metrics).
build_coredns() {
  [[ -x $(stamp coredns "$COREDNS_VERSION") ]] && { log "coredns $COREDNS_VERSION cached"; return; }
  local dir="$CACHE/build/coredns-$COREDNS_VERSION" plugin
  local plugins=(reload:reload ready:ready health:health prometheus:metrics errors:errors
    loadbalance:loadbalance cache:cache kubernetes:kubernetes loop:loop forward:forward)
  mkdir -p "$dir"
  {
    printf 'package main\n\nimport (\n\t"github.com/coredns/coredns/core/dnsserver"\n\t"github.com/coredns/coredns/coremain"\n\n'
    for plugin in "${plugins[@]}"; do printf '\t_ "github.com/coredns/coredns/plugin/%s"\n' "${plugin#*:}"; done
    printf ')\n\n// The plugins kubeadm\x27s Corefile uses, in the order requests pass them.\n'
    printf 'func init() { dnsserver.Directives = []string{'
    for plugin in "${plugins[@]}"; do printf '"%s", ' "${plugin%%:*}"; done
    printf '} }\n\nfunc main() { coremain.Run() }\n'
  } > "$dir/main.go"
  [[ -f $dir/go.mod ]] || (cd "$dir" && go mod init nsft.local/coredns >/dev/null 2>&1)
  log "coredns $COREDNS_VERSION: resolving modules"
  (cd "$dir" && GOFLAGS=-mod=mod go get "github.com/coredns/coredns@$COREDNS_VERSION" >"$dir/get.log" 2>&1 &&
    go mod tidy >>"$dir/get.log" 2>&1) || { cat "$dir/get.log" >&2; exit 1; }
  local t0=$SECONDS
  (cd "$dir" && go build -ldflags "-s -w" -o "$(stamp coredns "$COREDNS_VERSION").tmp" .)
  mv "$(stamp coredns "$COREDNS_VERSION").tmp" "$(stamp coredns "$COREDNS_VERSION")"
  log "coredns $COREDNS_VERSION built in $((SECONDS - t0))s"
}

# The pod sandbox's init process: waits for a signal, reaps children. Static, a few KB.
build_pause() {
  [[ -x $(stamp pause "$PAUSE_VERSION") ]] && { log "pause $PAUSE_VERSION cached"; return; }
  command -v gcc >/dev/null || { echo "gcc is required to build the pause binary" >&2; exit 1; }
  local src="$CACHE/build/pause.c"
  cat > "$src" <<'C'
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, NULL, WNOHANG) > 0) {} }

int main(void) {
  struct sigaction term = {.sa_handler = stop};
  struct sigaction child = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
  sigaction(SIGINT, &term, NULL);
  sigaction(SIGTERM, &term, NULL);
  sigaction(SIGCHLD, &child, NULL);
  for (;;) pause();
}
C
  gcc -Os -static -o "$(stamp pause "$PAUSE_VERSION")" "$src"
  strip "$(stamp pause "$PAUSE_VERSION")"
  log "pause $PAUSE_VERSION built"
}

# Everything a kind node image needs (tests/localenv/nodeimage.py puts it together).
build_kind() {
  build_kube
  build_etcd
  build_coredns
  build_pause
  go_install kind "$KIND_VERSION" "sigs.k8s.io/kind@$KIND_VERSION"
  go_install crictl "$CRICTL_VERSION" "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
  go_install local-path-provisioner "$LPP_VERSION" "github.com/rancher/local-path-provisioner@$LPP_VERSION"
}

# build_csi_standin: the CSI node stand-in (tests/localenv/csi-standin), a static binary cached
# by a hash of its sources, linked as current/csi-standin.
build_csi_standin() {
  local src; src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/csi-standin"
  local hash; hash=$(cd "$src" && find . -maxdepth 1 \( -name go.mod -o -name go.sum -o -name '*.go' ! -name '*_test.go' \) -print0 \
    | sort -z | xargs -0 cat | sha256sum | cut -c1-12)
  local out; out=$(stamp csi-standin "$hash")
  if [[ -x "$out" ]]; then log "csi-standin $hash cached"
  else
    log "csi-standin $hash: go build"
    (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$out.tmp" .)
    mv "$out.tmp" "$out"
  fi
  mkdir -p "$CACHE/current"
  ln -sf "$out" "$CACHE/current/csi-standin"
}

# Usage: build.sh [stan|kind|csi|all]   (default all)
case "${1:-all}" in
  stan) build_stan; build_nats_server ;;
  kind) build_kind ;;
  csi) build_csi_standin; exit 0 ;;  # touches nothing else in the cache
  all) build_stan; build_nats_server; build_kind; build_csi_standin ;;
  *) echo "usage: $0 [stan|kind|csi|all]" >&2; exit 2 ;;
esac

link() { if [[ -x "$2" ]]; then ln -sf "$2" "$CACHE/current/$1"; fi; }
# Stable names in bin/current so callers need not know the versions.
mkdir -p "$CACHE/current"
link kube-apiserver "$(stamp kube-apiserver "$KUBE_VERSION")"
link kube-controller-manager "$(stamp kube-controller-manager "$KUBE_VERSION")"
link kube-scheduler "$(stamp kube-scheduler "$KUBE_VERSION")"
link etcd "$(stamp etcd "$ETCD_VERSION")"
link nats-streaming-server "$(stamp nats-streaming-server "$STAN_VERSION")"
link stan-pub "$(stamp stan-pub "$STAN_GO_VERSION")"
link stan-sub "$(stamp stan-sub "$STAN_GO_VERSION")"
link nats-server "$(stamp nats-server "$NATS_SERVER_VERSION")"
for name in kubelet kubeadm kubectl kube-proxy; do link "$name" "$(stamp "$name" "$KUBE_VERSION")"; done
link coredns "$(stamp coredns "$COREDNS_VERSION")"
link pause "$(stamp pause "$PAUSE_VERSION")"
link kind "$(stamp kind "$KIND_VERSION")"
link crictl "$(stamp crictl "$CRICTL_VERSION")"
link local-path-provisioner "$(stamp local-path-provisioner "$LPP_VERSION")"
cat > "$CACHE/current/versions.env" <<V
KUBE_VERSION=$KUBE_VERSION
ETCD_VERSION=$ETCD_VERSION
STAN_VERSION=$STAN_VERSION
STAN_GO_VERSION=$STAN_GO_VERSION
NATS_SERVER_VERSION=$NATS_SERVER_VERSION
COREDNS_VERSION=$COREDNS_VERSION
PAUSE_VERSION=$PAUSE_VERSION
KIND_VERSION=$KIND_VERSION
CRICTL_VERSION=$CRICTL_VERSION
LPP_VERSION=$LPP_VERSION
V
log "all binaries ready in $CACHE/current"
