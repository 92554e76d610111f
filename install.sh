#!/usr/bin/env bash
# Installs everything tsdocker needs on a Debian machine (as root), builds it, loads the
# default busybox image and links `tsdocker` into /usr/local/bin. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages: compiler and make (native part), nftables and iproute2 (networking),
# util-linux (nsenter), static busybox (the default image), libseccomp (syscall filter),
# etcd (overlay control plane), iperf3 (benchmarks and throughput tests), conntrack (flushes
# stale UDP flows when a port is published), ethtool (the overlay bench gives its simulated
# hosts' underlay links GRO, as a NIC has), docker-registry (distribution 2.8), skopeo,
# apache2-utils (htpasswd) and openssl (registry tests: pull, push, auth, TLS), docker.io and
# podman (tsdocker-oci's tests under a dockerd and a podman of their own; netavark and
# aardvark-dns give that podman its networks and their DNS), strace (start-path
# tests count what a start opens and execs), runc (the bench's floor), procps (`top` runs the
# host's ps, as Docker does), docker-compose (1.29, the Python client: the API tests bring a
# project up through `tsdocker serve`), bsdutils (script: attach and API stream tests drive a
# real pty).
pkgs=(gcc make libc6-dev nftables iproute2 util-linux busybox-static libseccomp-dev etcd-server etcd-client iperf3 iptables conntrack
  ethtool docker-registry skopeo apache2-utils openssl docker.io podman netavark aardvark-dns strace runc procps docker-compose bsdutils)
need_pkgs=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "install.sh: installing ${need_pkgs[*]}" >&2
  apt-get update -qq >&2
  # docker.io must not start a host dockerd (it would rewrite the host's firewall): the
  # tests start their own; policy-rc.d 101 tells the package scripts not to start services
  made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2
  if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi
npm run -s build >&2
./bin/tsdocker load -i images/busybox.tar >&2
ln -sf "$PWD/bin/tsdocker" /usr/local/bin/tsdocker
ln -sf "$PWD/bin/tsdocker-oci" /usr/local/bin/tsdocker-oci
echo "install.sh: tsdocker is ready" >&2
