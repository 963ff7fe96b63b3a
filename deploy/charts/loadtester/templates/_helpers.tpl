{{/* Names and labels shared by the templates of the loadtester chart. */}}

{{- define "loadtester.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of every object: fullnameOverride (the seed uses load-tester), else the release name
when it already contains the chart name, else "<release>-<chart>".
*/}}
{{- define "loadtester.fullname" -}}
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

{{- define "loadtester.selectorLabels" -}}
app.kubernetes.io/name: {{ include "loadtester.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "loadtester.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "loadtester.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "loadtester.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "loadtester.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "loadtester.claimName" -}}
{{- .Values.state.persistence.existingClaim | default (printf "%s-state" (include "loadtester.fullname" .)) }}
{{- end }}

{{/*
defaultCommands: hey with bounded flags against the Services of the load tester's own namespace.
$(POD_NAMESPACE) is expanded by the kubelet from the pod's namespace (the env var of that name),
so the same rule serves any namespace the chart or the kustomize base is installed in.
*/}}
{{- define "loadtester.heyRule" -}}
hey( -z \d{1,3}[sm]| -n \d{1,7}| -q \d{1,4}| -c \d{1,2}| -t \d{1,3}| -m (GET|HEAD)| -disable-keepalive| -disable-compression| -disable-redirects| -h2)* http://[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.$(POD_NAMESPACE)(\.svc(\.cluster\.local)?)?)?(:\d{1,5})?(/[-\w./%]*)?
{{- end }}

{{/* The --allow-command rules: the default hey rule (unless turned off) and allowCommands. */}}
{{- define "loadtester.rules" -}}
{{- if and .Values.allowAnyCommand .Values.allowCommands }}
{{- fail "allowAnyCommand: true runs any command, so allowCommands would do nothing: set one of them" }}
{{- end }}
{{- $rules := list }}
{{- if not .Values.allowAnyCommand }}
{{- if .Values.defaultCommands }}
{{- $rules = append $rules (include "loadtester.heyRule" .) }}
{{- end }}
{{- $rules = concat $rules .Values.allowCommands }}
{{- if not $rules }}
{{- fail "no command could run: keep defaultCommands: true, list allowCommands, or set allowAnyCommand: true" }}
{{- end }}
{{- end }}
{{- toJson $rules }}
{{- end }}
