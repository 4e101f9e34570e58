#!/bin/bash
# usage: cpu.sh snapshot -> prints "name ticks" per component
for p in /proc/[0-9]*; do
  pid=${p#/proc/}
  cmd=$(tr '\0' ' ' < $p/cmdline 2>/dev/null) || continue
  [ -z "$cmd" ] && continue
  st=$(cat $p/stat 2>/dev/null) || continue
  t=$(echo "$st" | sed 's/.*) //' | awk '{print $12+$13}')
  case "$cmd" in
    *kafka.Kafka*|*kafka.server*|*KafkaRaftServer*) n=kafka;;
    *pginstall/bin/postgres*|*"postgres:"*) n=postgres;;
    *efrikort\ bench*) n=bench;;
    *"service registration"*|*registration*uvicorn*|*"-m registration"*) n=registration;;
    *"service protection"*|*"-m protection"*) n=protection;;
    *"service access"*|*"-m access"*) n=access;;
    *"service notifications"*|*"-m notifications"*) n=notifications;;
    *"service desk"*|*"-m desk"*) n=desk;;
    *) continue;;
  esac
  echo "$n $t"
done | awk '{a[$1]+=$2} END{for(k in a) print k, a[k]}' | sort
