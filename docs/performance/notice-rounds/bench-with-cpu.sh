#!/bin/bash
# bench-with-cpu.sh <efrikort bench args...>: the bench's lines, the CPU each component used meanwhile
# (cpu.sh before and after), and how busy the host was and how much it stole.
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$(git -C "$HERE" rev-parse --show-toplevel)"
a=$("$HERE/cpu.sh" 2>/dev/null); s1=($(head -1 /proc/stat))
./efrikort bench "$@" 2>&1 | grep -E "^run|raw Kafka|median"
b=$("$HERE/cpu.sh" 2>/dev/null); s2=($(head -1 /proc/stat))
join <(echo "$a") <(echo "$b") | awk '{printf "%s %.1fs  ", $1, ($3-$2)/100} END{print ""}'
tot=0; for i in 1 2 3 4 5 6 7 8; do tot=$((tot + ${s2[$i]} - ${s1[$i]})); done
echo "host: busy $(( (tot - (${s2[4]}-${s1[4]})) * 100 / tot ))% steal $(( (${s2[8]}-${s1[8]}) * 100 / tot ))% over $((tot/200)) s"
