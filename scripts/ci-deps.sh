#!/usr/bin/env bash
# Installs the Debian packages the tests drive: real registries, real clients, PostgreSQL and nginx
# (the multi-node tests; the S3 server is ../shared/s3/start-s3.sh, which installs its own), plus any
# named as arguments (npm run bench adds wrk). Idempotent: does nothing when all are installed.
set -euo pipefail

packages=(skopeo podman buildah runc umoci busybox-static docker-registry docker.io strace postgresql nginx-light chromium "$@")
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "ci-deps: missing Debian packages: ${missing[*]} (run as root, or install them with apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}" \
  containernetworking-plugins iptables uidmap slirp4netns catatonit conmon
