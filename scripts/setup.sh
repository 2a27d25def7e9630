#!/usr/bin/env bash
# Installs what camwall needs on Debian 12 and nothing else. Idempotent: silent and
# fast when everything is present. Works non-interactively (CI=true, no stdin).
set -euo pipefail

# Debian packages: GStreamer 1.22 headers, plugin sets, RTSP server, tools.
APT_PACKAGES=(
  pkg-config
  libglib2.0-dev
  libgstreamer1.0-dev
  libgstreamer-plugins-base1.0-dev
  libgstreamer-plugins-bad1.0-dev
  libgstrtspserver-1.0-dev
  gstreamer1.0-tools
  gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly
  gstreamer1.0-libav
  gstreamer1.0-rtsp
  gstreamer1.0-x
  fonts-dejavu-core
  meson
  ninja-build
  mosquitto          # the MQTT tests run a real broker on loopback
  iproute2           # the network-fault test makes a namespace and shapes its link (ip, tc)
  nftables           # ... and drops packets in it where the kernel has no netem
  vlc                # the field-fault tests run an RTSP server written by others (cvlc) ...
  ffmpeg             # ... on a clip made to look like a camera's
)
# Extra packages a caller may ask for (e.g. the browser tests): setup.sh chromium
APT_PACKAGES+=("$@")

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  # Wait for another apt run (e.g. unattended upgrades) instead of failing on its lock.
  $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null
  $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust with rustup first (https://rustup.rs)" >&2
  exit 1
fi
