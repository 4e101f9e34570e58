{{/* The Kafka topology generated from the code (kafka-topology.yaml, `efrikort helm-values`). */}}
{{- define "efrikort.topology" -}}
{{- .Files.Get "kafka-topology.yaml" -}}
{{- end -}}

{{- define "efrikort.labels" -}}
app.kubernetes.io/part-of: efrikort
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one service's pods; call with (dict "root" $ "name" $name). */}}
{{- define "efrikort.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "efrikort.fullname" -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "efrikort.appSecret" -}}
{{- if .Values.secrets.create -}}{{ printf "%s-secrets" .Release.Name }}{{- else -}}{{ .Values.secrets.existingSecret }}{{- end -}}
{{- end -}}

{{- define "efrikort.dbSecret" -}}
{{- printf "%s-db-%s" .root.Release.Name .name -}}
{{- end -}}

{{- define "efrikort.kafkaBootstrap" -}}
{{- printf "%s-kafka-bootstrap:%d" .Values.kafka.clusterName (int .Values.kafka.listenerPort) -}}
{{- end -}}

{{/* Every e-frikort pod that logs in to Kafka carries this label: the listener lets in only them (and KEDA). */}}
{{- define "efrikort.kafkaClientLabel" -}}
efrikort.se/kafka-client: "true"
{{- end -}}

{{/* The services' and the desk's pods (not Kafka's or PostgreSQL's, which their operators run): what
the default-deny NetworkPolicy selects. */}}
{{- define "efrikort.podsOfTheApp" -}}
app.kubernetes.io/component: service
{{- end -}}
