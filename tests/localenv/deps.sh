#!/usr/bin/env bash
# The Debian packages the local environment needs: a private Docker engine (docker.io,
# containerd, runc, iproute2), the kind node image built from source (debootstrap, gcc for the
# pause binary), the shell in the locally written images (busybox-static), and shellcheck for
# ansible-test sanity. As root, missing ones are installed with apt-get; otherwise they are listed.
set -euo pipefail

packages=(docker.io containerd runc iproute2 debootstrap gcc libc6-dev busybox-static shellcheck)
missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  echo "[deps] installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "[deps] missing Debian packages (install them, or run as root to have them installed): ${missing[*]}" >&2
fi
