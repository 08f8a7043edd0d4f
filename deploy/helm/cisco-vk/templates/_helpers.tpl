{{- define "cisco-vk.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "cisco-vk.labels" -}}
app.kubernetes.io/name: cisco-vk
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{- define "cisco-vk.deviceNamespaces" -}}
{{- $all := append .Values.deviceNamespaces .Release.Namespace | uniq -}}
{{- join "," $all -}}
{{- end }}
