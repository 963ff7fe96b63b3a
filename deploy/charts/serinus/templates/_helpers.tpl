{{/* Names, labels and checks shared by the templates of the serinus chart. */}}

{{- define "serinus.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of every object: fullnameOverride, else the release name when it already contains
the chart name, else "<release>-<chart>".
*/}}
{{- define "serinus.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "serinus.selectorLabels" -}}
app.kubernetes.io/name: {{ include "serinus.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "serinus.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "serinus.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "serinus.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "serinus.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name: the name of an existing ServiceAccount is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Settings that cannot work together stop the install with a message naming the values. */}}
{{- define "serinus.checks" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) (not .Values.sharding.enabled) }}
{{- fail (printf "replicaCount: %d replicas need leaderElection.enabled=true or sharding.enabled=true, else every replica advances every canary (got both false)" (int .Values.replicaCount)) }}
{{- end }}
{{- if and .Values.leaderElection.enabled .Values.sharding.enabled }}
{{- fail "leaderElection.enabled and sharding.enabled: expected one of them (with sharding every replica acts, on its own share), got both" }}
{{- end }}
{{- if and .Values.rbac.namespaced (not (include "serinus.watchNamespaces" . | fromJsonArray)) }}
{{- fail "rbac.namespaced: a namespace-scoped install needs watchNamespaces (or namespace): the namespaces to watch, and to grant permissions in; got none" }}
{{- end }}
{{- end }}

{{/* The namespaces to watch: watchNamespaces plus Flagger's single `namespace`, as a JSON list. */}}
{{- define "serinus.watchNamespaces" -}}
{{- $namespaces := .Values.watchNamespaces }}
{{- with .Values.namespace }}
{{- $namespaces = append $namespaces . }}
{{- end }}
{{- $namespaces | uniq | toJson }}
{{- end }}

{{/*
What the operator does with each resource, and so what it may do:
- Canaries: watch them, add and remove its finalizer, write their status. MetricTemplates and
  AlertProviders: read only.
- Deployments, DaemonSets, StatefulSets, Services, HorizontalPodAutoscalers: read the target and
  create, update, scale and delete the -primary/-canary copies it owns.
- Pods: list a StatefulSet's pods and delete those that are not ready at an old revision (they
  would hold its rolling update for ever). Never PersistentVolumeClaims.
- Keptn's KeptnMetrics and Analyses: the keptn metric provider. (The externalmetrics provider
  needs get on the metric names it reads; grant those yourself, they are yours to name.)
- ConfigMaps: read the ones a target mounts (by name, never listed) and write their -primary copies.
- Secrets: read by name (never listed) the ones webhooks, alert providers and metric templates
  name. Written only with trackSecrets, for the -primary copies of a target's Secrets.
- Events: one per analysis step on the Canary (created, then patched to count repeats).
- Mesh and ingress objects: the single routing object per Canary whose weights it moves.
*/}}
{{- define "serinus.rules" -}}
- apiGroups: ["flagger.app"]
  resources: ["canaries"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["flagger.app"]
  resources: ["canaries/status"]
  verbs: ["get", "update", "patch"]
- apiGroups: ["flagger.app"]
  resources: ["canaries/finalizers"]
  verbs: ["update"]
- apiGroups: ["flagger.app"]
  resources: ["metrictemplates", "alertproviders"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["apps"]
  resources: ["deployments", "daemonsets", "statefulsets"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["apps"]
  resources: ["deployments/scale", "statefulsets/scale"]
  verbs: ["get", "update", "patch"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "delete"]
- apiGroups: ["metrics.keptn.sh"]
  resources: ["keptnmetrics"]
  verbs: ["get"]
- apiGroups: ["metrics.keptn.sh"]
  resources: ["analyses"]
  verbs: ["get", "create", "delete"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch", "create", "update", "patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: {{ if .Values.trackSecrets }}["get", "create", "update", "patch"]{{ else }}["get"]{{ end }}
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["split.smi-spec.io"]
  resources: ["trafficsplits"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["networking.istio.io"]
  resources: ["virtualservices", "destinationrules"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["projectcontour.io"]
  resources: ["httpproxies"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["gateway.solo.io"]
  resources: ["routetables"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["gloo.solo.io"]
  resources: ["upstreams"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["traefik.io"]
  resources: ["traefikservices"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["apisix.apache.org"]
  resources: ["apisixroutes"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["kuma.io"]
  resources: ["trafficroutes"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["appmesh.k8s.aws"]
  resources: ["virtualnodes", "virtualrouters", "virtualservices"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["serving.knative.dev"]
  resources: ["services"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["serving.knative.dev"]
  resources: ["revisions"]
  verbs: ["get", "list", "watch"]
{{- end }}
