#!/usr/bin/env bash
# Runs one mcdiag probe split across N hosts with pdsh over ssh: host k of
# the list runs shard k/N (pdsh's %n), every host starts measuring at the
# same time (--start-at), each host's JSON result is collected into OUTDIR
# (dshbak -d: one file per host), and `mcdiag merge` prints the fleet's result.
#
# Usage: probe-fleet.sh HOSTLIST N OUTDIR -- PROBE-ARGS…
#   HOSTLIST     pdsh's -w list of N hosts, e.g. 'web[1-4]' or 'web1,web2'
#   N            how many hosts the list names (each takes 1/N of the load)
#   OUTDIR       where each host's result is written (missing or empty)
#   PROBE-ARGS   the whole run's probe arguments: endpoint, --rate or --concurrency, …
#                (--json here makes the merged result JSON too; the hosts always print JSON)
# Environment:
#   MCDIAG         the command that runs mcdiag on the hosts (default: mcdiag)
#   MCDIAG_LOCAL   the command that runs mcdiag here, for the merge (default: mcdiag)
#   START_DELAY_S  seconds from now to the common start: time for ssh, Node,
#                  seeding and warm-up on every host (default: 15)
#   PDSH_SSH_ARGS  ssh options, as pdsh reads them (e.g. "-F ssh_config %h")
# Exit: mcdiag merge's (0 healthy, 1 not, 2 a missing or bad result, 3 all failed).
#
# Example:
#   deploy/pdsh/probe-fleet.sh 'web[1-4]' 4 results -- cache.internal:11211 --rate 200000 --duration 30s --slo 'p99<2ms'
set -euo pipefail

if [[ $# -lt 4 || ${4:-} != -- ]]; then
  echo "usage: $0 HOSTLIST N OUTDIR -- PROBE-ARGS…" >&2
  exit 2
fi
hosts=$1 n=$2 out=$3
shift 4
if ! [[ $n =~ ^[1-9][0-9]*$ ]]; then
  echo "$0: N must be the number of hosts, got '$n'" >&2
  exit 2
fi

# The probe arguments, quoted for the remote shell (an --slo like 'p99<2ms' survives).
probe=() merge=()
for a in "$@"; do
  if [[ $a == --json ]]; then merge+=(--json); else probe+=("$a"); fi
done
args=$(printf '%q ' "${probe[@]}")
start_ms=$(( ($(date +%s) + ${START_DELAY_S:-15}) * 1000 ))
if [[ -e $out && -n $(ls -A "$out") ]]; then
  echo "$0: $out is not empty: give a new directory for the results" >&2
  exit 2
fi
mkdir -p "$out"

# pdsh replaces %n with the host's rank in the list (0 … N-1). A host whose
# probe exits non-zero (unhealthy, say) still prints its result; the merge
# judges the fleet.
pdsh -R ssh -w "$hosts" \
  "${MCDIAG:-mcdiag} probe $args --shard %n/$n --start-at $start_ms --json" | dshbak -d "$out" -f || true

got=$(find "$out" -maxdepth 1 -type f | wc -l)
if [[ $got -ne $n ]]; then
  echo "$0: $got of $n hosts returned a result in $out (see pdsh's messages above)" >&2
  exit 2
fi
exec ${MCDIAG_LOCAL:-mcdiag} merge "$out" "${merge[@]}"
