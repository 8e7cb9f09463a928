#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, for gridprune's test suite.
#
# Installs Debian's packages (munge, slurmctld, slurmd, slurm-client, slurmdbd,
# mariadb-server) when missing and runs every daemon by hand: no systemd, no
# cgroups, services blocked by policy-rc.d. Must run as root.
#
# Usage: slurm/testcluster.sh start|stop|status|env|reconfigure-max-array-size N
#
#   start    install if needed, write configs, start munged, MariaDB, slurmdbd,
#            slurmctld and slurmd (only those not running) and wait until the
#            node is IDLE. Does nothing when all are up. State is kept across
#            stop/start (job ids, accounting).
#   stop     cancel the cluster's jobs, stop the daemons by their pid files in
#            reverse order and wait for each to exit.
#   status   one line per daemon and `sinfo`; exit 0 when all are up, else 1.
#   env      shell exports for tests (eval "$(slurm/testcluster.sh env)").
#   reconfigure-max-array-size N
#            set MaxArraySize=N in the running cluster and print the value now
#            in force. Slurm 22.05's `scontrol reconfigure` shows the new value
#            but, once any job array was submitted since slurmctld started,
#            keeps checking arrays against the old one; so this probes with
#            `sbatch --test-only` and restarts slurmctld (state and running
#            jobs kept, about 5 s) when needed. `start` writes the value from
#            GRIDPRUNE_TESTCLUSTER_MAX_ARRAY_SIZE again.
#
# Environment:
#   GRIDPRUNE_TESTCLUSTER_DIR             state folder (default /var/lib/gridprune-testcluster)
#   GRIDPRUNE_TESTCLUSTER_MAX_ARRAY_SIZE  MaxArraySize written by `start` (default 1001,
#                                         Slurm's own: array indexes 0..1000)
#   GRIDPRUNE_TESTCLUSTER_DEF_MEM_PER_CPU MB given to a job without --mem (default 1024)
#   GRIDPRUNE_TESTCLUSTER_DB_PORT         MariaDB TCP port on 127.0.0.1 (default 3306)
#   GRIDPRUNE_TESTCLUSTER_TIMEOUT         seconds to wait for each daemon (default 120)
#
# The Slurm config is written in the state folder and installed at
# /etc/slurm/slurm.conf (and slurmdbd.conf), where Debian's commands read it.
set -euo pipefail

STATE_DIR="${GRIDPRUNE_TESTCLUSTER_DIR:-/var/lib/gridprune-testcluster}"
MAX_ARRAY_SIZE="${GRIDPRUNE_TESTCLUSTER_MAX_ARRAY_SIZE:-1001}"
DEF_MEM_PER_CPU="${GRIDPRUNE_TESTCLUSTER_DEF_MEM_PER_CPU:-1024}"
DB_PORT="${GRIDPRUNE_TESTCLUSTER_DB_PORT:-3306}"
TIMEOUT="${GRIDPRUNE_TESTCLUSTER_TIMEOUT:-120}"

CLUSTER_NAME="gridprune-test"
PACKAGES=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server)
ETC_SLURM="/etc/slurm"
SLURM_CONF="$ETC_SLURM/slurm.conf"
SLURMDBD_CONF="$ETC_SLURM/slurmdbd.conf"
MARKER="# Written by gridprune slurm/testcluster.sh"

CONF_DIR="$STATE_DIR/etc"
RUN_DIR="$STATE_DIR/run"
LOG_DIR="$STATE_DIR/log"
CTLD_STATE="$STATE_DIR/slurmctld"
SLURMD_SPOOL="$STATE_DIR/slurmd"
DB_DIR="$STATE_DIR/mysql"
DB_DATA="$DB_DIR/data"
DB_SOCKET="$DB_DIR/mysqld.sock"
DB_PASSWORD_FILE="$CONF_DIR/db_password"

MUNGE_RUN="/run/munge"
MUNGE_PID="$MUNGE_RUN/munged.pid"
MUNGE_LOG="/var/log/munge/munged.log"

DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)

log() { printf '[testcluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

die() {
    # die MESSAGE [LOGFILE...]: the error, then the tail of each log given.
    local msg="$1"
    shift
    printf '[testcluster] ERROR: %s\n' "$msg" >&2
    local f
    for f in "$@"; do
        if [[ -f "$f" ]]; then
            printf -- '----- last lines of %s -----\n' "$f" >&2
            tail -n 40 "$f" >&2 || true
        fi
    done
    exit 1
}

require_root() {
    [[ $EUID -eq 0 ]] || die "must run as root (it installs packages and starts system daemons)"
}

short_hostname() { hostname -s; }

# ---------------------------------------------------------------- daemons ---

pid_file_of() {
    case "$1" in
        munged) echo "$MUNGE_PID" ;;
        mariadbd) echo "$DB_DIR/mysqld.pid" ;;
        slurmdbd) echo "$RUN_DIR/slurmdbd.pid" ;;
        slurmctld) echo "$RUN_DIR/slurmctld.pid" ;;
        slurmd) echo "$RUN_DIR/slurmd.pid" ;;
        *) die "unknown daemon $1" ;;
    esac
}

log_file_of() {
    case "$1" in
        munged) echo "$MUNGE_LOG" ;;
        mariadbd) echo "$DB_DIR/mariadb.log" ;;
        *) echo "$LOG_DIR/$1.log" ;;
    esac
}

# A process that exists and is not a zombie. Here pid 1 reaps orphans only
# every second or two, so `kill -0` alone still sees a daemon that has exited.
pid_alive() {
    local state
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
    [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# The pid recorded in the daemon's pid file if that process is alive and is
# that daemon (guards against a stale pid file whose pid was reused).
daemon_pid() {
    local name="$1" file pid comm
    file="$(pid_file_of "$name")"
    [[ -r "$file" ]] || return 1
    pid="$(tr -dc '0-9' <"$file" 2>/dev/null || true)"
    [[ -n "$pid" ]] || return 1
    pid_alive "$pid" || return 1
    comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
    [[ "$comm" == "$name" ]] || return 1
    echo "$pid"
}

is_running() { daemon_pid "$1" >/dev/null; }

all_running() {
    local d
    for d in "${DAEMONS[@]}"; do
        is_running "$d" || return 1
    done
}

# wait_until TIMEOUT DESCRIPTION LOGFILE CMD...: run CMD every 0.25 s until it
# succeeds; after TIMEOUT seconds fail with the log tail.
wait_until() {
    local limit="$1" what="$2" logf="$3"
    shift 3
    local deadline=$((SECONDS + limit))
    while ! "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            die "$what did not come up within ${limit}s" "$logf"
        fi
        sleep 0.25
    done
}

# Stop a daemon by its pid file: SIGTERM, wait, and SIGKILL only as a last resort.
stop_daemon() {
    local name="$1" limit="${2:-60}" pid file
    file="$(pid_file_of "$name")"
    if ! pid="$(daemon_pid "$name")"; then
        log "$name: not running"
        rm -f "$file" 2>/dev/null || true
        return 0
    fi
    log "$name: stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + limit))
    while pid_alive "$pid"; do
        if ((SECONDS >= deadline)); then
            log "$name: still alive after ${limit}s, sending SIGKILL to pid $pid"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 1
            break
        fi
        sleep 0.2
    done
    # slurmd/slurmctld remove their own pid file; the others may leave it.
    if ! pid_alive "$pid"; then
        rm -f "$file" 2>/dev/null || true
    fi
}

# Start a daemon command detached from the caller: no inherited stdio (a test
# harness reading our output must get EOF) and without the lock's fd 9.
spawn() {
    local out="$1"
    shift
    setsid "$@" </dev/null >>"$out" 2>&1 9>&- &
    disown $! 2>/dev/null || true
}

# --------------------------------------------------------------- packages ---

packages_missing() {
    local p status
    for p in "${PACKAGES[@]}"; do
        status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
        [[ "$status" == "install ok installed" ]] || return 0
    done
    return 1
}

install_packages() {
    if ! packages_missing; then
        return 0
    fi
    log "installing ${PACKAGES[*]} (apt-get update first)"
    export DEBIAN_FRONTEND=noninteractive
    local apt_opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    local apt_log="$STATE_DIR/apt.log"
    apt-get "${apt_opts[@]}" update >"$apt_log" 2>&1 ||
        die "apt-get update failed" "$apt_log"
    apt-get "${apt_opts[@]}" install -y --no-install-recommends "${PACKAGES[@]}" >>"$apt_log" 2>&1 ||
        die "apt-get install failed" "$apt_log"
    packages_missing && die "packages still missing after apt-get install" "$apt_log"
    log "packages installed"
}

# ---------------------------------------------------------------- configs ---

node_line() {
    # `slurmd -C` prints the hardware as a slurm.conf node line.
    local line
    line="$(slurmd -C 2>/dev/null | grep -m1 '^NodeName=' || true)"
    if [[ -z "$line" ]]; then
        local mem
        mem="$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)"
        line="NodeName=$(short_hostname) CPUs=$(nproc) RealMemory=$mem"
    fi
    echo "$line NodeAddr=127.0.0.1 State=UNKNOWN"
}

write_slurm_conf() {
    local host node max_jobs
    host="$(short_hostname)"
    node="$(node_line)"
    local node_name="${node%% *}"
    node_name="${node_name#NodeName=}"
    max_jobs=10000
    if ((MAX_ARRAY_SIZE + 1000 > max_jobs)); then
        max_jobs=$((MAX_ARRAY_SIZE + 1000))
    fi
    cat >"$CONF_DIR/slurm.conf.new" <<EOF
$MARKER (state in $STATE_DIR).
# Single-node test cluster: no cgroups, no systemd, daemons run as root.
ClusterName=$CLUSTER_NAME
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# cred_expire also sets how long a requeued (e.g. preempted) job waits before
# it may run again: cred_expire + 1 s (default 120). 30 is what Slurm's own
# test suite uses.
AuthInfo=cred_expire=30
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2

StateSaveLocation=$CTLD_STATE
SlurmdSpoolDir=$SLURMD_SPOOL
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info

# Scheduling: start jobs at once (tests wait on them).
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_interval=1,sched_min_interval=0,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$DEF_MEM_PER_CPU
MaxArraySize=$MAX_ARRAY_SIZE
MaxJobCount=$max_jobs

# Preemption tests: a job in 'urgent' requeues jobs of 'debug'.
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE

# Accounting (submitit reads job states with sacct).
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=6819

# Generous timeouts: the machine may be busy.
SlurmctldTimeout=300
SlurmdTimeout=300
MessageTimeout=60
BatchStartTimeout=60
UnkillableStepTimeout=120
InactiveLimit=0
KillWait=10
MinJobAge=300
Waittime=0

$node
PartitionName=debug Nodes=$node_name Default=YES PriorityTier=1 MaxTime=INFINITE State=UP
PartitionName=urgent Nodes=$node_name Default=NO PriorityTier=10 MaxTime=INFINITE State=UP
EOF
    mv "$CONF_DIR/slurm.conf.new" "$CONF_DIR/slurm.conf"
}

write_slurmdbd_conf() {
    local password
    password="$(cat "$DB_PASSWORD_FILE")"
    (
        umask 077
        cat >"$CONF_DIR/slurmdbd.conf.new" <<EOF
$MARKER (state in $STATE_DIR).
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
PidFile=$RUN_DIR/slurmdbd.pid
LogFile=$LOG_DIR/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$password
StorageLoc=slurm_acct_db
EOF
    )
    chmod 600 "$CONF_DIR/slurmdbd.conf.new"
    mv "$CONF_DIR/slurmdbd.conf.new" "$CONF_DIR/slurmdbd.conf"
}

# Copy our configs to /etc/slurm, keeping a foreign config aside once.
install_configs() {
    mkdir -p "$ETC_SLURM"
    local src dst
    for src in slurm.conf slurmdbd.conf; do
        dst="$ETC_SLURM/$src"
        if [[ -f "$dst" ]] && ! grep -qF "$MARKER" "$dst" && [[ ! -e "$dst.before-gridprune" ]]; then
            log "keeping the existing $dst as $dst.before-gridprune"
            cp -p "$dst" "$dst.before-gridprune"
        fi
    done
    install -m 644 -o root -g root "$CONF_DIR/slurm.conf" "$SLURM_CONF.new"
    mv "$SLURM_CONF.new" "$SLURM_CONF"
    install -m 600 -o root -g root "$CONF_DIR/slurmdbd.conf" "$SLURMDBD_CONF.new"
    mv "$SLURMDBD_CONF.new" "$SLURMDBD_CONF"
}

prepare_state() {
    mkdir -p "$STATE_DIR" "$CONF_DIR" "$RUN_DIR" "$LOG_DIR" "$CTLD_STATE" "$SLURMD_SPOOL" "$DB_DIR"
    chmod 755 "$STATE_DIR"
    chmod 700 "$CONF_DIR"
    chown mysql:mysql "$DB_DIR"
    chmod 750 "$DB_DIR"
    if [[ ! -s "$DB_PASSWORD_FILE" ]]; then
        (umask 077 && head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DB_PASSWORD_FILE")
    fi
    write_slurm_conf
    write_slurmdbd_conf
    install_configs
}

# ---------------------------------------------------------------- startup ---

munge_works() { munge -n </dev/null | unmunge >/dev/null; }

start_munged() {
    if is_running munged; then return 0; fi
    log "munged: starting"
    install -d -o munge -g munge -m 755 "$MUNGE_RUN"
    install -d -o munge -g munge -m 700 /var/log/munge /var/lib/munge
    if [[ ! -s /etc/munge/munge.key ]]; then
        log "munged: creating /etc/munge/munge.key"
        if command -v mungekey >/dev/null; then
            mungekey --create --keyfile=/etc/munge/munge.key
        else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
        fi
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    fi
    rm -f "$MUNGE_PID"
    # munged forks into the background by itself; --force gets past a stale socket.
    setpriv --reuid=munge --regid=munge --init-groups -- \
        /usr/sbin/munged --force </dev/null >>"$LOG_DIR/munged.stdout" 2>&1 9>&- ||
        die "munged failed to start" "$MUNGE_LOG" "$LOG_DIR/munged.stdout"
    wait_until "$TIMEOUT" munged "$MUNGE_LOG" munge_works
    wait_until 10 "munged pid file" "$MUNGE_LOG" is_running munged
}

mysql_root() {
    mariadb --no-defaults --protocol=socket --socket="$DB_SOCKET" -u root "$@"
}

db_alive() { mariadb-admin --no-defaults --protocol=socket --socket="$DB_SOCKET" -u root ping; }

start_mariadb() {
    if is_running mariadbd; then return 0; fi
    local dblog
    dblog="$(log_file_of mariadbd)"
    if [[ ! -d "$DB_DATA/mysql" ]]; then
        log "mariadb: initialising $DB_DATA"
        rm -rf "$DB_DATA"
        install -d -o mysql -g mysql -m 750 "$DB_DATA"
        mariadb-install-db --no-defaults --user=mysql --datadir="$DB_DATA" \
            --auth-root-authentication-method=socket --skip-test-db \
            >>"$DB_DIR/install-db.log" 2>&1 9>&- ||
            die "mariadb-install-db failed" "$DB_DIR/install-db.log"
    fi
    log "mariadb: starting"
    rm -f "$DB_DIR/mysqld.pid" "$DB_SOCKET" "$DB_SOCKET.lock"
    spawn "$DB_DIR/mariadbd.stdout" setpriv --reuid=mysql --regid=mysql --init-groups -- \
        /usr/sbin/mariadbd --no-defaults \
        --datadir="$DB_DATA" --socket="$DB_SOCKET" --pid-file="$DB_DIR/mysqld.pid" \
        --log-error="$dblog" --port="$DB_PORT" --bind-address=127.0.0.1 \
        --skip-name-resolve --innodb-buffer-pool-size=512M \
        --innodb-log-file-size=64M --innodb-lock-wait-timeout=900 \
        --max-allowed-packet=64M
    wait_until "$TIMEOUT" "mariadb" "$dblog" db_alive
    wait_until 30 "mariadb pid file" "$dblog" is_running mariadbd
}

setup_database() {
    local password
    password="$(cat "$DB_PASSWORD_FILE")"
    mysql_root <<EOF || die "could not create the slurm_acct_db database and its user" "$(log_file_of mariadbd)"
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$password';
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$password';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$password';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON slurm_acct_db.* TO 'slurm'@'localhost';
GRANT ALL PRIVILEGES ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
FLUSH PRIVILEGES;
EOF
}

dbd_ready() { timeout 20 sacctmgr -n -P show cluster; }

# start_slurm_daemon NAME READY_CHECK: start /usr/sbin/NAME unless it runs, wait until READY_CHECK passes.
start_slurm_daemon() {
    local name=$1 ready=$2
    if is_running "$name"; then return 0; fi
    log "$name: starting"
    rm -f "$(pid_file_of "$name")"
    spawn "$LOG_DIR/$name.stdout" "/usr/sbin/$name"
    wait_until "$TIMEOUT" "$name" "$(log_file_of "$name")" "$ready"
    wait_until 10 "$name pid file" "$(log_file_of "$name")" is_running "$name"
}

start_slurmdbd() { start_slurm_daemon slurmdbd dbd_ready; }

ctld_up() { timeout 20 scontrol ping 2>/dev/null | grep -q 'is UP'; }

cluster_registered() {
    timeout 20 sacctmgr -n -P show cluster format=cluster | grep -qx "$CLUSTER_NAME"
}

start_slurmctld() {
    if is_running slurmctld; then return 0; fi
    start_slurm_daemon slurmctld ctld_up
    # slurmctld registers the cluster in slurmdbd by itself; jobs are only
    # accounted once it has.
    wait_until "$TIMEOUT" "cluster registration in slurmdbd" "$(log_file_of slurmctld)" cluster_registered
}

node_name() { awk -F'[= ]' '/^NodeName=/ {print $2; exit}' "$SLURM_CONF"; }

# The node answers and can take jobs: state without any flag suffix
# (`*` not responding, `~` powered down, ...) and not down/drained.
node_ready() {
    local since="${1:-0}" state start
    state="$(timeout 20 sinfo -h -N -n "$(node_name)" -o %t 2>/dev/null | head -n1)"
    case "$state" in
        idle | mix | alloc | comp) ;;
        *) return 1 ;;
    esac
    if ((since > 0)); then
        # The registered slurmd must be the one just started.
        start="$(timeout 20 scontrol show node "$(node_name)" 2>/dev/null |
            grep -o 'SlurmdStartTime=[^ ]*' | cut -d= -f2)"
        start="$(date -d "$start" +%s 2>/dev/null || echo 0)"
        ((start >= since - 2)) || return 1
    fi
}

start_slurmd() {
    local since=0
    if ! is_running slurmd; then
        log "slurmd: starting"
        since="$(date +%s)"
        rm -f "$(pid_file_of slurmd)"
        spawn "$LOG_DIR/slurmd.stdout" /usr/sbin/slurmd
        wait_until 30 "slurmd pid file" "$(log_file_of slurmd)" is_running slurmd
    fi
    local limit=$((TIMEOUT / 2)) deadline
    deadline=$((SECONDS + TIMEOUT))
    if ! wait_node "$since" "$limit"; then
        # A node left DOWN/DRAINED in the saved state: ask once to resume it.
        log "node $(node_name) not ready: $(timeout 20 sinfo -h -N -n "$(node_name)" -o '%t %E' 2>/dev/null || true); resuming it"
        timeout 20 scontrol update NodeName="$(node_name)" State=RESUME >/dev/null 2>&1 || true
        wait_node "$since" $((deadline - SECONDS > 5 ? deadline - SECONDS : 5)) ||
            die "node $(node_name) not IDLE: $(timeout 20 sinfo -h -N -n "$(node_name)" -o '%t %E' 2>/dev/null || true)" \
                "$(log_file_of slurmd)" "$(log_file_of slurmctld)"
    fi
}

wait_node() {
    local since="$1" limit="$2" deadline
    deadline=$((SECONDS + limit))
    until node_ready "$since"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.25
    done
}

# -------------------------------------------------------------- commands ---

with_lock() {
    mkdir -p "$STATE_DIR"
    exec 9>"$STATE_DIR/.lock"
    flock -w 900 9 || die "another testcluster.sh is still running (lock $STATE_DIR/.lock)"
}

cmd_start() {
    require_root
    if [[ -d "$STATE_DIR" ]] && all_running; then
        log "already running"
        return 0
    fi
    with_lock
    install_packages
    if all_running; then
        log "already running"
        return 0
    fi
    local t0=$SECONDS
    prepare_state
    start_munged
    start_mariadb
    setup_database
    start_slurmdbd
    start_slurmctld
    start_slurmd
    log "cluster $CLUSTER_NAME up in $((SECONDS - t0))s (state in $STATE_DIR)"
}

cancel_jobs() {
    is_running slurmctld || return 0
    local jobs
    jobs="$(timeout 20 squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ' || true)"
    [[ -n "${jobs// /}" ]] || return 0
    log "cancelling jobs: $jobs"
    # shellcheck disable=SC2086
    timeout 30 scancel --full $jobs 2>/dev/null || true
    local deadline=$((SECONDS + 60))
    while [[ -n "$(timeout 20 squeue -h -o %A 2>/dev/null || true)" ]]; do
        if ((SECONDS >= deadline)); then
            log "jobs still listed after 60s: $(timeout 20 squeue -h 2>/dev/null | tr '\n' ';' || true)"
            break
        fi
        sleep 0.5
    done
}

cmd_stop() {
    require_root
    if [[ ! -d "$STATE_DIR" ]]; then
        log "no state folder $STATE_DIR: nothing to stop"
        return 0
    fi
    with_lock
    cancel_jobs
    stop_daemon slurmd 60
    stop_daemon slurmctld 60
    stop_daemon slurmdbd 60
    stop_daemon mariadbd 120
    stop_daemon munged 30
    log "stopped"
}

cmd_status() {
    local d pid ok=0
    for d in "${DAEMONS[@]}"; do
        if pid="$(daemon_pid "$d")"; then
            printf '%-10s running (pid %s)\n' "$d" "$pid"
        else
            printf '%-10s stopped\n' "$d"
            ok=1
        fi
    done
    if is_running slurmctld; then
        timeout 20 sinfo || ok=1
    fi
    return "$ok"
}

cmd_env() {
    local node cpus
    node="$(node_name 2>/dev/null || true)"
    cpus="$(awk '/^NodeName=/ {for (i = 1; i <= NF; i++) if ($i ~ /^CPUs=/) {sub("CPUs=", "", $i); print $i}}' "$SLURM_CONF" 2>/dev/null || true)"
    cat <<EOF
export SLURM_CONF=$SLURM_CONF
export GRIDPRUNE_TESTCLUSTER_DIR=$STATE_DIR
export GRIDPRUNE_TESTCLUSTER_CLUSTER=$CLUSTER_NAME
export GRIDPRUNE_TESTCLUSTER_PARTITION=debug
export GRIDPRUNE_TESTCLUSTER_URGENT_PARTITION=urgent
export GRIDPRUNE_TESTCLUSTER_NODE=$node
export GRIDPRUNE_TESTCLUSTER_CPUS=$cpus
EOF
}

max_array_size_in_force() {
    timeout 20 scontrol show config | awk '$1 == "MaxArraySize" {print $3}'
}

# Does slurmctld enforce MaxArraySize=N? Probed with `sbatch --test-only`
# (nothing is queued): index N must be refused as an invalid array and index
# N-1 accepted. `scontrol show config` is not enough: Slurm 22.05's slurmctld
# copies MaxArraySize into a static variable at the first job array it sees
# and checks later arrays against that copy, so `scontrol reconfigure`
# changes what `show config` prints but not what sbatch is held to once an
# array has been submitted since slurmctld started.
# Returns 0 enforced, 1 not enforced, 2 not known yet (e.g. slurmctld just
# restarted); PROBE_OUTPUT holds what sbatch said.
PROBE_OUTPUT=""
array_limit_probe() {
    local n="$1"
    if PROBE_OUTPUT="$(cd / && timeout 30 sbatch --test-only -o /dev/null --array="$n" --wrap true 2>&1)"; then
        return 1
    fi
    grep -q 'Invalid job array specification' <<<"$PROBE_OUTPUT" || return 2
    if PROBE_OUTPUT="$(cd / && timeout 30 sbatch --test-only -o /dev/null --array=$((n - 1)) --wrap true 2>&1)"; then
        return 0
    fi
    grep -q 'Invalid job array specification' <<<"$PROBE_OUTPUT" && return 1
    return 2
}

# Probe until the answer is known (bounded); prints nothing, returns 0 or 1.
array_limit_enforced() {
    local n="$1" deadline=$((SECONDS + 60)) rc
    while true; do
        rc=0
        array_limit_probe "$n" || rc=$?
        ((rc != 2)) && return "$rc"
        if ((SECONDS >= deadline)); then
            die "cannot tell whether MaxArraySize=$n is enforced: sbatch --test-only said: $PROBE_OUTPUT" "$(log_file_of slurmctld)"
        fi
        sleep 0.5
    done
}

cmd_reconfigure_max_array_size() {
    require_root
    local n="${1:-}"
    [[ "$n" =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 4000001)) || die "usage: $0 reconfigure-max-array-size N (1 <= N <= 4000001)"
    [[ -f "$CONF_DIR/slurm.conf" ]] && is_running slurmctld || die "the cluster is not running: run '$0 start' first"
    with_lock
    sed -i -E "s/^MaxArraySize=.*/MaxArraySize=$n/" "$CONF_DIR/slurm.conf"
    local max_jobs
    max_jobs="$(awk -F= '$1 == "MaxJobCount" {print $2}' "$CONF_DIR/slurm.conf")"
    if ((n + 1000 > max_jobs)); then
        sed -i -E "s/^MaxJobCount=.*/MaxJobCount=$((n + 1000))/" "$CONF_DIR/slurm.conf"
    fi
    install_configs
    timeout 60 scontrol reconfigure >/dev/null || log "scontrol reconfigure failed"
    if ! array_limit_enforced "$n"; then
        log "scontrol reconfigure did not apply MaxArraySize=$n to submissions: restarting slurmctld (state kept)"
        stop_daemon slurmctld 60
        start_slurmctld
        wait_node 0 "$TIMEOUT" || die "node not ready after the slurmctld restart" "$(log_file_of slurmctld)"
        array_limit_enforced "$n" ||
            die "MaxArraySize=$n not enforced even after restarting slurmctld: sbatch --test-only --array=$n said: $PROBE_OUTPUT" "$(log_file_of slurmctld)"
    fi
    timeout 20 scontrol show config | grep MaxArraySize
}

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    reconfigure-max-array-size)
        shift
        cmd_reconfigure_max_array_size "$@"
        ;;
    -h | --help | help | "") usage ;;
    *)
        echo "unknown command: $1" >&2
        usage
        ;;
esac
