#!/usr/bin/env bash
# Installs the system programs the tests and the demo run for real: Prometheus (with promtool)
# and hey. kubectl is expected on the machine already (any recent version).
# As root it installs them with apt-get; otherwise it names what is missing and fails.
set -euo pipefail

declare -A package_of=([prometheus]=prometheus [promtool]=prometheus [hey]=hey [curl]=curl)
missing=()
for program in "${!package_of[@]}"; do
  command -v "$program" >/dev/null 2>&1 || missing+=("${package_of[$program]}")
done
if ! command -v kubectl >/dev/null 2>&1; then
  echo "kubectl is not on PATH: install any recent kubectl (https://kubernetes.io/docs/tasks/tools/)" >&2
  exit 1
fi
[ ${#missing[@]} -eq 0 ] && exit 0

packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${packages}" >&2
  echo "install them with: sudo apt-get install -y --no-install-recommends ${packages}" >&2
  exit 1
fi
echo "installing system packages: ${packages}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends ${packages} >/dev/null
