#!/usr/bin/env bash
# Builds the real binaries the local environment runs, once per version, into a cache:
#   kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes, through a
#   wrapper go.mod), etcd, kwok + kwokctl, nats-streaming-server, stan-pub, stan-sub.
# Cache directory: $NSFT_CACHE_DIR (default ~/.cache/nats_streaming_ft). Re-running is cheap.
set -euo pipefail

KUBE_VERSION="${NSFT_KUBE_VERSION:-v1.34.4}"
ETCD_VERSION="${NSFT_ETCD_VERSION:-v3.6.4}"
KWOK_VERSION="${NSFT_KWOK_VERSION:-v0.7.0}"
STAN_VERSION="v0.25.6"
STAN_GO_VERSION="v0.10.4"

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
  local comps=(kube-apiserver kube-controller-manager kube-scheduler)
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

build_k8s() {
  build_kube
  build_etcd
  go_install kwok "$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  go_install kwokctl "$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
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

# Usage: build.sh [stan|k8s|csi|all]   (default all)
case "${1:-all}" in
  stan) build_stan ;;
  k8s) build_k8s ;;
  csi) build_csi_standin; exit 0 ;;  # touches nothing else in the cache
  all) build_stan; build_k8s; build_csi_standin ;;
  *) echo "usage: $0 [stan|k8s|csi|all]" >&2; exit 2 ;;
esac

link() { [[ -x "$2" ]] && ln -sf "$2" "$CACHE/current/$1" || true; }
# Stable names in bin/current so callers need not know the versions.
mkdir -p "$CACHE/current"
link kube-apiserver "$(stamp kube-apiserver "$KUBE_VERSION")"
link kube-controller-manager "$(stamp kube-controller-manager "$KUBE_VERSION")"
link kube-scheduler "$(stamp kube-scheduler "$KUBE_VERSION")"
link etcd "$(stamp etcd "$ETCD_VERSION")"
link kwok "$(stamp kwok "$KWOK_VERSION")"
link kwokctl "$(stamp kwokctl "$KWOK_VERSION")"
link nats-streaming-server "$(stamp nats-streaming-server "$STAN_VERSION")"
link stan-pub "$(stamp stan-pub "$STAN_GO_VERSION")"
link stan-sub "$(stamp stan-sub "$STAN_GO_VERSION")"
cat > "$CACHE/current/versions.env" <<V
KUBE_VERSION=$KUBE_VERSION
ETCD_VERSION=$ETCD_VERSION
KWOK_VERSION=$KWOK_VERSION
STAN_VERSION=$STAN_VERSION
STAN_GO_VERSION=$STAN_GO_VERSION
V
log "all binaries ready in $CACHE/current"
