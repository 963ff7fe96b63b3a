#!/usr/bin/env bash
# Copies the generated CRDs (deploy/crds/, written by `serinus crds -o deploy/crds`) to the two
# places that install them: the Helm chart's crds/ folder and the kustomize base; and the alerts
# (deploy/monitoring/prometheus-rules.yaml) to the chart's files/. Neither Helm nor
# kustomize can read files outside its own folder, hence the copies; tests/deploy fails when a copy
# differs from deploy/crds/, so run this after `make crds`.
set -euo pipefail
cd "$(dirname "$0")/.."

source_dir=deploy/crds
targets=(deploy/charts/serinus/crds deploy/kustomize/base/serinus/crds)

shopt -s nullglob
crds=("$source_dir"/*.yaml)
if [ ${#crds[@]} -eq 0 ]; then
  echo "no CRDs in $source_dir: run 'serinus crds -o $source_dir' first" >&2
  exit 1
fi
for target in "${targets[@]}"; do
  mkdir -p "$target"
  rm -f "$target"/*.yaml
  cp "${crds[@]}" "$target"/
  echo "copied ${#crds[@]} CRDs to $target"
done
mkdir -p deploy/charts/serinus/files
cp deploy/monitoring/prometheus-rules.yaml deploy/charts/serinus/files/
echo "copied the alerts to deploy/charts/serinus/files"
