#!/usr/bin/env bash
# Compares klaxon replay with ripgrep on one thread, on the same generated
# node log and the shipped rules' match patterns. Prints MB/s of each, their
# ratio (median of RUNS runs) and whether both found the same lines.
#
#   bench/replay-vs-rg.sh [SIZE] [RUNS]     e.g. bench/replay-vs-rg.sh 200MB 5
#
# Needs rg (Debian package ripgrep) and Go.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-200MB}
runs=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

command -v rg >/dev/null || { echo "rg not found: install the ripgrep package" >&2; exit 2; }
go build -o "$work/klaxon" ./cmd/klaxon
go run ./bench/gencorpus -size "$size" -out "$work/node.log"
"$work/klaxon" check --rules rules.toml --patterns > "$work/patterns.txt"
bytes=$(stat -c %s "$work/node.log")

# Both tools must find the same lines: klaxon prints each matching message,
# rg the whole CRI record, so rg's output loses the first three fields.
"$work/klaxon" replay --rules rules.toml --output matches --quiet "$work/node.log" | sort > "$work/klaxon.txt"
rg -j1 --no-filename -f "$work/patterns.txt" "$work/node.log" | cut -d' ' -f4- | sort > "$work/rg.txt"
if cmp -s "$work/klaxon.txt" "$work/rg.txt"; then
	same="yes ($(wc -l < "$work/rg.txt") lines)"
else
	same="NO: klaxon $(wc -l < "$work/klaxon.txt") lines, rg $(wc -l < "$work/rg.txt") lines"
fi

# seconds runs one command and prints its wall time in seconds.
seconds() {
	local start end
	start=$(date +%s.%N)
	"$@" > /dev/null
	end=$(date +%s.%N)
	echo "$end - $start" | bc -l
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

for _ in $(seq "$runs"); do
	# Alternate the tools so that machine noise hits both alike.
	seconds taskset -c 0 "$work/klaxon" replay --rules rules.toml --output json --quiet "$work/node.log" >> "$work/k.times"
	seconds taskset -c 0 rg -j1 --no-filename -f "$work/patterns.txt" "$work/node.log" >> "$work/r.times"
done
k=$(median < "$work/k.times")
r=$(median < "$work/r.times")
printf 'corpus:        %s bytes, %s runs, one core (taskset -c 0)\n' "$bytes" "$runs"
printf 'klaxon replay: %.1f MB/s (median %.3f s)\n' "$(echo "$bytes / $k / 1000000" | bc -l)" "$k"
printf 'rg -j1:        %.1f MB/s (median %.3f s)\n' "$(echo "$bytes / $r / 1000000" | bc -l)" "$r"
printf 'ratio:         %.2f (klaxon speed / rg speed)\n' "$(echo "$r / $k" | bc -l)"
printf 'same lines:    %s\n' "$same"
