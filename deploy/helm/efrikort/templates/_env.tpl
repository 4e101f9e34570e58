{{/* A service's environment; call with (dict "root" $ "name" $name). Secrets come from Secrets only. */}}
{{- define "efrikort.env" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $svc := get $root.Values.services $name -}}
- {name: EFRIKORT_HTTP_HOST, value: "0.0.0.0"}
- {name: EFRIKORT_HTTP_PORT, value: {{ $svc.port | quote }}}
- {name: EFRIKORT_REGION, value: {{ $root.Values.region | quote }}}
- {name: EFRIKORT_LOG_JSON, value: "true"}
{{- if $root.Values.developmentMode }}
- {name: EFRIKORT_DEVELOPMENT_MODE, value: "true"}
- {name: EFRIKORT_TRUST_IDENTITY_HEADER, value: "true"}
{{- end }}
{{- if $svc.kafka }}
- {name: KAFKA_BOOTSTRAP_SERVERS, value: {{ include "efrikort.kafkaBootstrap" $root | quote }}}
- {name: EFRIKORT_KAFKA_SECURITY_PROTOCOL, value: SASL_SSL}
- {name: EFRIKORT_KAFKA_SASL_USERNAME, value: {{ $name | quote }}}
# Made by Strimzi's User Operator from the service's KafkaUser (a Secret named after the user).
- name: EFRIKORT_KAFKA_SASL_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ $name | quote }}, key: password}}
- {name: EFRIKORT_KAFKA_SSL_CA_FILE, value: /etc/efrikort/kafka-ca/ca.crt}
- {name: EFRIKORT_TOPIC_REPLICATION_FACTOR, value: {{ $root.Values.kafka.replicationFactor | quote }}}
{{- end }}
{{- if $svc.database }}
# The service's own role and schema, made by CloudNativePG: nothing is provisioned at start.
- name: EFRIKORT_DB_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ include "efrikort.dbSecret" . }}, key: password}}
- name: EFRIKORT_SERVICE_DATABASE_URL
  value: {{ printf "postgresql://efrikort_%s:$(EFRIKORT_DB_PASSWORD)@%s-rw:5432/%s" $name $root.Values.postgres.clusterName $root.Values.postgres.database | quote }}
{{- end }}
{{- if ne $name "desk" }}
- name: EFRIKORT_PATIENT_KEY_SECRET
  valueFrom: {secretKeyRef: {name: {{ include "efrikort.appSecret" $root }}, key: patient-key-secret}}
{{- end }}
{{- if eq $name "access" }}
- {name: EFRIKORT_ACCESS_REGION, value: {{ $root.Values.region | quote }}}
{{- end }}
{{- if eq $name "notifications" }}
- {name: EFRIKORT_NOTIFICATIONS_REGION_NAME, value: {{ $root.Values.region | quote }}}
- {name: EFRIKORT_NOTIFICATIONS_LETTER_FOLDER, value: /var/lib/efrikort/letters}
- name: EFRIKORT_NOTIFICATIONS_WEBHOOK_SECRET
  valueFrom: {secretKeyRef: {name: {{ include "efrikort.appSecret" $root }}, key: webhook-secret}}
{{- end }}
{{- if eq $name "desk" }}
{{- range $other, $o := $root.Values.services }}
{{- if ne $other "desk" }}
- name: {{ printf "EFRIKORT_DESK_%s_URL" (upper $other) }}
  value: {{ printf "%s://%s:%d" (ternary "https" "http" $root.Values.tls.enabled) (include "efrikort.fullname" (dict "root" $root "name" $other)) (int $o.port) | quote }}
{{- end }}
{{- end }}
- name: EFRIKORT_DESK_SESSION_SECRET
  valueFrom: {secretKeyRef: {name: {{ include "efrikort.appSecret" $root }}, key: session-secret}}
{{- if $root.Values.tls.enabled }}
- {name: EFRIKORT_DESK_CLIENT_CERTIFICATE, value: /etc/efrikort/tls/tls.crt}
- {name: EFRIKORT_DESK_CLIENT_PRIVATE_KEY, value: /etc/efrikort/tls/tls.key}
- {name: EFRIKORT_DESK_SERVICES_CA, value: /etc/efrikort/tls/ca.crt}
{{- end }}
{{- end }}
{{- if $root.Values.tls.enabled }}
- {name: EFRIKORT_TLS_CERTIFICATE, value: /etc/efrikort/tls/tls.crt}
- {name: EFRIKORT_TLS_PRIVATE_KEY, value: /etc/efrikort/tls/tls.key}
- {name: EFRIKORT_TLS_CLIENT_CA, value: /etc/efrikort/tls/ca.crt}
# The kubelet's probes show no client certificate; a request that needs a caller still gets 401 without one.
- {name: EFRIKORT_TLS_REQUIRE_CLIENT_CERTIFICATE, value: "false"}
{{- if $root.Values.tls.deskHsaId }}
- {name: EFRIKORT_TRUSTED_FRONTENDS, value: {{ $root.Values.tls.deskHsaId | quote }}}
{{- end }}
{{- end }}
{{- range $key, $value := $svc.env }}
- {name: {{ $key }}, value: {{ $value | quote }}}
{{- end }}
{{- end -}}
