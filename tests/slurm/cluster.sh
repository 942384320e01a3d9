#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for rulekit's SLURM tests, CI and developers.
#
#   tests/slurm/cluster.sh up      install slurm-wlm and munge if missing (apt-get, as root),
#                                  write /etc/slurm/slurm.conf for this host, start munged,
#                                  slurmctld and slurmd, wait until the node is idle
#   tests/slurm/cluster.sh down    cancel all jobs and stop the three daemons started by `up`
#   tests/slurm/cluster.sh status  exit 0 when the node answers and is usable
#
# Both are idempotent: `up` on a running cluster returns at once, `down` on a stopped one
# does nothing. State, logs and the job-completion log (what `sacct --completion` reads:
# there is no slurmdbd here, it would need a MySQL server) live in $RULEKIT_SLURM_STATE
# (default /var/tmp/rulekit-slurm). The node offers this machine's real CPUs and memory,
# as `slurmd -C` reports them. Processes are tracked through /proc (proctrack/linuxproc),
# jobs are not confined (task/none): no cgroups are needed, so it also runs in containers.
# An /etc/slurm/slurm.conf not written by this script is never overwritten.
set -euo pipefail

STATE=${RULEKIT_SLURM_STATE:-/var/tmp/rulekit-slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by rulekit tests/slurm/cluster.sh"
UP_TIMEOUT_S=${RULEKIT_SLURM_UP_TIMEOUT:-60}

say() { echo "slurm-cluster: $*" >&2; }
die() { say "error: $*"; exit 1; }

# pid from a pid file, printed only when that process is still running
alive() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(cat "$1")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v sbatch >/dev/null && command -v munged >/dev/null; then
        return
    fi
    [ "$(id -u)" = 0 ] || die "slurm-wlm and munge are not installed, and installing them needs root"
    command -v apt-get >/dev/null || die "slurm-wlm and munge are missing and there is no apt-get"
    say "installing slurm-wlm and munge with apt-get"
    # another apt-get may hold the dpkg lock for a while: wait for it rather than fail
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q -o DPkg::Lock::Timeout=600 update >/dev/null
    apt-get -q -y -o DPkg::Lock::Timeout=600 install --no-install-recommends slurm-wlm munge >/dev/null
}

write_conf() {
    local node
    # "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
    node=$(slurmd -C | head -n 1)
    case "$node" in NodeName=*) ;; *) die "slurmd -C said: $node" ;; esac
    local host=${node%% *}
    host=${host#NodeName=}
    mkdir -p /etc/slurm "$STATE/ctld" "$STATE/spool"
    cat >"$CONF.new" <<EOF
$MARK: a one-node test cluster
ClusterName=rulekit
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=1024
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ReturnToService=2
SlurmdTimeout=300
InactiveLimit=0
MinJobAge=300
KillWait=5
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    if [ -e "$CONF" ] && ! head -n 1 "$CONF" | grep -qF "$MARK"; then
        rm -f "$CONF.new"
        die "$CONF exists and was not written by this script; not touching it"
    fi
    if cmp -s "$CONF.new" "$CONF"; then
        rm -f "$CONF.new"
        return 1   # unchanged
    fi
    mv "$CONF.new" "$CONF"
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return
    fi
    if [ ! -s /etc/munge/munge.key ]; then
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge
    chmod 755 /run/munge
    mkdir -p "$STATE"
    runuser -u munge -- /usr/sbin/munged --force
    touch "$STATE/munged.ours"   # `down` stops only a munged that `up` started
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return
        sleep 0.1
    done
    die "munged did not start (see /var/log/munge/munged.log)"
}

node_state() {
    sinfo -h -N -o '%t' 2>/dev/null | head -n 1
}

up() {
    install_packages
    [ "$(id -u)" = 0 ] || die "starting the test cluster needs root (the daemons run as root)"
    local changed=0
    write_conf && changed=1
    start_munge
    if [ "$changed" = 1 ]; then
        stop_daemons   # a new configuration: start over
    fi
    if alive "$STATE/slurmctld.pid" >/dev/null && alive "$STATE/slurmd.pid" >/dev/null \
        && status >/dev/null; then
        say "already up: $(sinfo -h -N -o '%N %t %c CPUs %m MB')"
        return
    fi
    if ! alive "$STATE/slurmctld.pid" >/dev/null; then
        # -c: start with no jobs from an earlier life of this cluster; job ids start at 1
        # again, so the completion log of that life goes too
        rm -f "$STATE/jobcomp.log"
        /usr/sbin/slurmctld -c
    fi
    if ! alive "$STATE/slurmd.pid" >/dev/null; then
        /usr/sbin/slurmd
    fi
    local deadline=$((SECONDS + UP_TIMEOUT_S)) st=""
    while [ $SECONDS -lt $deadline ]; do
        st=$(node_state)
        case "$st" in
            idle) say "up: $(sinfo -h -N -o '%N %t %c CPUs %m MB')"; return ;;
            drain*|down*) scontrol update nodename="$(sinfo -h -N -o %N)" state=resume 2>/dev/null || true ;;
        esac
        sleep 0.5
    done
    say "node state: '${st}'; last lines of the logs:"
    tail -n 5 "$STATE/slurmctld.log" "$STATE/slurmd.log" >&2 || true
    die "the node did not become idle within ${UP_TIMEOUT_S}s"
}

stop_daemons() {
    local pid f
    for f in slurmd slurmctld; do
        if pid=$(alive "$STATE/$f.pid"); then
            kill "$pid"
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$STATE/$f.pid"
    done
}

down() {
    if command -v scancel >/dev/null && alive "$STATE/slurmctld.pid" >/dev/null; then
        scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
    fi
    stop_daemons
    if [ -e "$STATE/munged.ours" ] && [ -s /run/munge/munged.pid ]; then
        kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
    fi
    rm -f "$STATE/munged.ours"
    say "down"
}

status() {
    local st
    st=$(node_state)
    case "$st" in
        idle|mix|alloc) echo "$st"; return 0 ;;
        *) echo "${st:-no answer}"; return 1 ;;
    esac
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
