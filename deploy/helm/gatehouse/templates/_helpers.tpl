{{- define "gatehouse.name" -}}{{ .Release.Name }}-gatehouse{{- end -}}
{{- define "gatehouse.labels" -}}
app.kubernetes.io/name: gatehouse
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
