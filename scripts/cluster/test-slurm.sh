#!/usr/bin/env bash
# Runs the Slurm job array of docs/cluster.md on a real one-node Slurm cluster on this machine
# and checks that the merged sweep equals the same sweep run unsharded.
#
# Installs Slurm and MUNGE from Debian where missing (slurm-wlm, munge), creates the MUNGE key
# if missing, then starts a private munged, slurmctld and slurmd (loopback only, free ports,
# slurm.conf and all state in a temporary directory named by SLURM_CONF) and submits, as the doc
# shows, `sbatch --array=1-3 scripts/cluster/slurm-sweep.sbatch` with a small toy SWEEP plus the
# merge as a job with --dependency=afterok on the array. When the jobs have finished it runs the
# same sweep without shards and compares: summary.json equal but for the seconds, and every run
# (d, seed, projection, performance, epochs, stop, model bits) equal. Every wait has a deadline;
# on failure it prints the logs' tails. The daemons are stopped and the directory removed on exit.
#
# Needs root (re-runs itself under sudo otherwise). Settings (environment):
#   IDZIP_BIN            the idzip binary (default .build/release/idzip, built if missing)
#   IDZIP_SLURM_SWEEP    the sweep (default "--model toy --dims 1-12 --runs 2 --baseline local")
#   IDZIP_SLURM_SHARDS   array tasks (default 3)
#   IDZIP_SLURM_TIMEOUT  seconds allowed for the jobs (default 180)
#   IDZIP_SLURM_KEEP=1   keep the temporary directory (printed) for a look
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
name="slurm sweep test"

if [ "$(id -u)" -ne 0 ]; then
    echo "$name: needs root to install Slurm and start its daemons; running under sudo"
    exec sudo --preserve-env=IDZIP_BIN,IDZIP_SLURM_SWEEP,IDZIP_SLURM_SHARDS,IDZIP_SLURM_TIMEOUT,IDZIP_SLURM_KEEP,PATH "$0" "$@"
fi

sweep_args=${IDZIP_SLURM_SWEEP:-"--model toy --dims 1-12 --runs 2 --baseline local"}
shards=${IDZIP_SLURM_SHARDS:-3}
job_timeout=${IDZIP_SLURM_TIMEOUT:-180}
started_at=$(date +%s)

say() { echo "[slurm-test $(( $(date +%s) - started_at ))s] $*"; }

# --- clean-up, whatever happens ---------------------------------------------------------------
tmp=""
pids=()       # daemons started here, stopped on exit
jobs_submitted=()
result=1

logs_tail() {
    local file
    [ -n "$tmp" ] || return 0
    for file in "$tmp"/log/* "$tmp"/work/sweeps/logs/* "$tmp"/work/slurm-*.out; do
        [ -f "$file" ] || continue
        echo "----- tail of $file"
        tail -n 30 "$file"
    done
}

cleanup() {
    local status=$?
    set +e
    if [ ${#jobs_submitted[@]} -gt 0 ] && [ -n "${SLURM_CONF:-}" ]; then
        timeout 10 scancel "${jobs_submitted[@]}" 2>/dev/null
        # Let slurmd end the jobs' steps (bounded) before it is stopped.
        for _ in $(seq 20); do
            [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.5
        done
    fi
    local pid i
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do
        for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null; fi
        wait "$pid" 2>/dev/null
    done
    if [ "$result" -ne 0 ]; then
        logs_tail
        echo "$name: 0 passed, 1 failed"
        status=1
    fi
    if [ -z "$tmp" ]; then
        :
    elif [ "${IDZIP_SLURM_KEEP:-0}" = 1 ]; then
        echo "kept $tmp"
    else
        rm -rf "$tmp"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "$name: FAILED: $*" >&2; exit 1; }


# --- Slurm and MUNGE from Debian, only where missing ------------------------------------------
missing=()
for tool in slurmctld slurmd sbatch squeue scontrol sinfo scancel; do
    command -v "$tool" >/dev/null || { missing+=(slurm-wlm); break; }
done
for tool in munged munge unmunge mungekey; do
    command -v "$tool" >/dev/null || { missing+=(munge); break; }
done
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The package lists may be absent or stale on a fresh machine: update and retry once.
    if ! apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
        apt-get update -qq
        apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi
# The MUNGE key every node shares (here one node); Debian's munge package usually creates it.
if [ ! -s /etc/munge/munge.key ]; then
    say "creating the MUNGE key /etc/munge/munge.key"
    mkdir -p /etc/munge
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key 2>/dev/null || true
    chmod 0400 /etc/munge/munge.key
fi

# --- the idzip binary -------------------------------------------------------------------------
bin=${IDZIP_BIN:-$repo/.build/release/idzip}
if [ -z "${IDZIP_BIN:-}" ] && [ ! -x "$bin" ]; then
    say "building idzip (release)"
    (cd "$repo" && swift build -c release --product idzip)
fi
[ -x "$bin" ] || fail "no idzip binary at $bin"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every half second until it succeeds.
wait_for() {
    local limit=$1 what=$2
    shift 2
    local deadline=$(( $(date +%s) + limit ))
    local pid
    until "$@"; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${limit}s waiting for $what"
        for pid in "${pids[@]}"; do
            kill -0 "$pid" 2>/dev/null || fail "a daemon ended (pid $pid) while waiting for $what"
        done
        sleep 0.5
    done
}

# --- a temporary cluster ----------------------------------------------------------------------
tmp=$(mktemp -d /tmp/idzip-slurm.XXXXXX)
chmod 0755 "$tmp"
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/log" "$tmp/work"
chmod 0755 "$tmp/munge"     # munged wants its socket directory searchable by all

# Two free TCP ports in a row on the loopback, for slurmctld and slurmd.
read -r ctld_port slurmd_port < <(python3 - <<'EOF'
import socket
def free(port):
    try:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
for port in [6817] + list(range(16817, 17817, 2)):
    if free(port) and free(port + 1):
        print(port, port + 1)
        break
EOF
)
[ -n "${slurmd_port:-}" ] || fail "no two free ports"

# A private munged with its own socket (a system munged, if any, is left alone).
# munged insists on a key owned by its own user: it runs as root here, with a copy of the key.
install -m 0400 /etc/munge/munge.key "$tmp/munge/munge.key"
socket="$tmp/munge/munge.socket"
munged --foreground --socket="$socket" --key-file="$tmp/munge/munge.key" \
    --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/log/munged.log" \
    --seed-file="$tmp/munge/munged.seed" >>"$tmp/log/munged.log" 2>&1 &
pids+=($!)
munge_ok() { munge --socket="$socket" -n 2>/dev/null | unmunge --socket="$socket" >/dev/null 2>&1; }
wait_for 20 "munged" munge_ok

# The node as slurmd sees it: NodeName (the hostname), CPUs, sockets, cores, threads, memory.
node_line=$(slurmd -C 2>/dev/null | grep '^NodeName=' | head -n 1)
[ -n "$node_line" ] || fail "slurmd -C printed no NodeName line"
node=$(sed 's/^NodeName=\([^ ]*\).*/\1/' <<<"$node_line")

export SLURM_CONF="$tmp/slurm.conf"
cat >"$SLURM_CONF" <<EOF
# One-node cluster on the loopback for scripts/cluster/test-slurm.sh
ClusterName=idzip-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=600
DependencyParameters=kill_invalid_depend
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
say "node: $node_line; ports $ctld_port, $slurmd_port; SLURM_CONF=$SLURM_CONF"

slurmctld -D -c -f "$SLURM_CONF" >>"$tmp/log/slurmctld.out" 2>&1 &
pids+=($!)
ctld_up() { timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP'; }
wait_for 30 "slurmctld" ctld_up
slurmd -D -f "$SLURM_CONF" -N "$node" >>"$tmp/log/slurmd.out" 2>&1 &
pids+=($!)
node_idle() { [ "$(timeout 5 sinfo -h -N -n "$node" -o %T 2>/dev/null)" = idle ]; }
wait_for 60 "node $node to become idle" node_idle
say "cluster up"

# --- the job array and the merge, as docs/cluster.md submits them -----------------------------
work="$tmp/work"
cd "$work"
unset SHARDS IDZIP      # the sbatch script reads them; the doc's submission sets neither
export PATH="$(dirname "$bin"):$PATH"
mkdir -p sweeps/logs
export SWEEP="$sweep_args"
array=$(timeout 30 sbatch --parsable --array=1-"$shards" "$repo/scripts/cluster/slurm-sweep.sbatch")
array=${array%%;*}
jobs_submitted+=("$array")
merge=$(timeout 30 sbatch --parsable --dependency=afterok:"$array" --wrap "idzip sweep merge --out sweeps/fc sweeps/fc-shard-*")
merge=${merge%%;*}
jobs_submitted+=("$merge")
say "submitted array job $array (tasks 1-$shards) and merge job $merge; SWEEP=$SWEEP"

jobs_done() { [ -z "$(timeout 5 squeue -h -j "$array,$merge" -o %i 2>/dev/null)" ]; }
wait_for "$job_timeout" "jobs $array and $merge" jobs_done
# Every array task and the merge must have completed with exit code 0.
states=$(timeout 10 scontrol -o show job "$array" ; timeout 10 scontrol -o show job "$merge")
completed=$(grep -c 'JobState=COMPLETED.* ExitCode=0:0' <<<"$states" || true)
if [ "$completed" -ne $((shards + 1)) ]; then
    grep -o 'JobId=[^ ]*\|ArrayTaskId=[^ ]*\|JobState=[^ ]*\|Reason=[^ ]*\|ExitCode=[^ ]*' <<<"$states" | paste -sd' ' >&2
    fail "expected $((shards + 1)) jobs COMPLETED with exit code 0, got $completed"
fi
say "array tasks and merge completed"

# --- the same sweep, unsharded, and the comparison --------------------------------------------
# shellcheck disable=SC2086
idzip sweep $SWEEP --threads 2 --out sweeps/unsharded >sweeps/logs/unsharded.log 2>&1 \
    || fail "the unsharded sweep failed (sweeps/logs/unsharded.log)"
python3 - sweeps/fc sweeps/unsharded <<'EOF' || fail "the merged sweep differs from the unsharded one"
import hashlib, json, os, sys

merged, whole = sys.argv[1], sys.argv[2]
seconds = {"wall_seconds", "run_seconds", "seconds"}

def load(directory, name):
    with open(os.path.join(directory, name)) as f:
        return json.load(f)

def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in seconds}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value

problems = []
a, b = strip(load(merged, "summary.json")), strip(load(whole, "summary.json"))
if a != b:
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            problems.append(f"summary.json {key}: merged {a.get(key)!r}, unsharded {b.get(key)!r}")

def runs(directory):
    rows = load(directory, "results.json")
    if isinstance(rows, dict):
        rows = rows.get("runs", rows.get("results", rows))
    table = {}
    for row in rows:
        key = (row["d"], row["seed"], row.get("projection"))
        row = strip(row)
        model = row.get("model")
        if model:
            with open(os.path.join(directory, model), "rb") as f:
                row["model_sha256"] = hashlib.sha256(f.read()).hexdigest()
        table[key] = row
    return table

ra, rb = runs(merged), runs(whole)
if set(ra) != set(rb):
    problems.append(f"runs differ: only merged {sorted(set(ra) - set(rb))}, only unsharded {sorted(set(rb) - set(ra))}")
for key in sorted(set(ra) & set(rb)):
    if ra[key] != rb[key]:
        problems.append(f"run {key}: merged {ra[key]}, unsharded {rb[key]}")
if not ra:
    problems.append("no runs")
for p in problems:
    print(p, file=sys.stderr)
if problems:
    sys.exit(1)
print(f"merged = unsharded: summary.json (but seconds) and {len(ra)} runs (d, seed, projection, "
      f"performance, epochs, stop, model bits); d_int90 = {a.get('d_int90')}")
EOF
result=0
say "done"
echo "$name: 1 passed, 0 failed"
