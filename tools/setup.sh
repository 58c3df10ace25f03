#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what heyes needs on Debian/Ubuntu (apt-get, only what is missing),
# then configures and builds it in ./build (or $HEYES_BUILD_DIR).
# Extra meson options: HEYES_MESON_ARGS="-Dwerror=true ...".
# Extra packages: HEYES_EXTRA_PACKAGES="clang ..." (.ci/run adds its clang build's).
set -euo pipefail
cd "$(dirname "$0")/.."

# The build: meson, ninja, g++, pkg-config, asio, fmt; Boost (Boost.Asio) for
# the Boost flavour (meson option asio=boost). The tests: doctest, python3
# (script tests), cmake (the CMake consumer), dnsmasq (the resolver's interop
# test and the lab), iproute2 and iptables (the lab's namespaces), tayga and
# unbound (the NAT64 lab's translator and DNS64 resolvers), libnss-myhostname
# (an NSS service the nsswitch lab asks through glibc's own module).
packages=(meson ninja-build g++ pkg-config libasio-dev libfmt-dev libboost-dev
          doctest-dev python3 cmake dnsmasq-base iproute2 iptables tayga unbound libnss-myhostname)
# shellcheck disable=SC2206  # HEYES_EXTRA_PACKAGES is a list of words on purpose
packages+=(${HEYES_EXTRA_PACKAGES:-})
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build="${HEYES_BUILD_DIR:-build}"
# shellcheck disable=SC2086  # HEYES_MESON_ARGS is a list of words on purpose
if [ -f "$build/build.ninja" ]; then
  meson configure "$build" ${HEYES_MESON_ARGS:-} >/dev/null
else
  meson setup "$build" ${HEYES_MESON_ARGS:-} >/dev/null
fi
meson compile -C "$build"
