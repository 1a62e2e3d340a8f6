{{/* Paths inside the container. */}}
{{- define "klaxon.configDir" -}}/etc/klaxon/config{{- end }}
{{- define "klaxon.slackDir" -}}/etc/klaxon/secrets/slack{{- end }}

{{/* The chart name, or nameOverride. */}}
{{- define "klaxon.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of resource names: fullnameOverride, else the release name
followed by the chart name, or the release name alone when it already
contains the chart name. Cut to 63 characters, the limit of a label value.
*/}}
{{- define "klaxon.fullname" -}}
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

{{- define "klaxon.selectorLabels" -}}
app.kubernetes.io/name: {{ include "klaxon.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "klaxon.labels" -}}
{{ include "klaxon.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "klaxon.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "klaxon.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "klaxon.slackSecretName" -}}
{{- default (printf "%s-slack" (include "klaxon.fullname" .)) .Values.slack.existingSecret }}
{{- end }}

{{/* The Secret key that holds the webhook URL or the bot token. */}}
{{- define "klaxon.slackKey" -}}
{{- if eq .Values.slack.mode "webhook" }}webhook-url
{{- else if eq .Values.slack.mode "token" }}token
{{- else }}
{{- fail (printf "slack.mode: %q is invalid, use webhook or token" .Values.slack.mode) }}
{{- end }}
{{- end }}

{{/* The rules files in the ConfigMap, as file name to content. */}}
{{- define "klaxon.rulesFiles" -}}
{{- $files := dict }}
{{- if .Values.rules.builtin }}
{{- $_ := set $files "rules.toml" (.Files.Get "files/rules.toml") }}
{{- end }}
{{- range $name, $content := .Values.rules.extra }}
{{- if or (eq $name "config.toml") (eq $name "rules.toml") (not (regexMatch "^[A-Za-z0-9][A-Za-z0-9._-]*\\.toml$" $name)) }}
{{- fail (printf "rules.extra: invalid file name %q, use letters, digits, '.', '-' and '_', end in .toml, and avoid config.toml and rules.toml" $name) }}
{{- end }}
{{- $_ := set $files $name $content }}
{{- end }}
{{- if not $files }}
{{- fail "rules: no rules files, set rules.builtin to true or add files to rules.extra" }}
{{- end }}
{{- toYaml $files }}
{{- end }}

{{/*
The agent's config file: .Values.config with the keys that must agree with
the pod's mounts and port, and the Slack sink.
*/}}
{{- define "klaxon.config" -}}
{{- $config := deepCopy .Values.config }}
{{- $rules := list }}
{{- if .Values.rules.builtin }}
{{- $rules = append $rules (printf "%s/rules.toml" (include "klaxon.configDir" .)) }}
{{- end }}
{{- range $name, $_ := .Values.rules.extra }}
{{- $rules = append $rules (printf "%s/%s" (include "klaxon.configDir" $) $name) }}
{{- end }}
{{- $_ := set $config "rules" $rules }}
{{- $_ := set $config "log_root" .Values.hostPaths.podLogs }}
{{- $_ := set $config "state_dir" .Values.stateDir }}
{{- $_ := set $config "metrics_address" (printf ":%d" (int .Values.port)) }}
{{- if .Values.slack.enabled }}
{{- $sink := dict "name" "slack" "type" "slack" }}
{{- $file := printf "%s/%s" (include "klaxon.slackDir" .) (include "klaxon.slackKey" .) }}
{{- if eq .Values.slack.mode "webhook" }}
{{- $_ := set $sink "webhook_url_file" $file }}
{{- else }}
{{- $_ := set $sink "token_file" $file }}
{{- $_ := set $sink "channel" (required "slack.channel: missing, the token mode needs the channel to post to" .Values.slack.channel) }}
{{- end }}
{{- $_ := set $config "sink" (append (default (list) $config.sink) $sink) }}
{{- end }}
{{- /*
Helm reads every number in values as a float, and toToml writes 5000 as
5000.0, which the agent rejects for an integer key. Whole numbers on a
key = value line are written as integers; numbers inside arrays are not.
*/}}
{{- regexReplaceAll "(?m)^(\\s*[A-Za-z0-9_-]+ = -?[0-9]+)\\.0$" (toToml $config) "${1}" }}
{{- end }}
