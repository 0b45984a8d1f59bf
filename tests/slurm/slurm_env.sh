#!/bin/sh
# slurm_env.sh -- a private, throw-away SLURM cluster on this host for tests (platform.md §5):
# munged, slurmctld and one slurmd (or two emulated nodes n1, n2) as root, without systemd,
# every file under one scratch folder, nothing under /etc/slurm or /run/munge.
#
#   . tests/slurm/slurm_env.sh          as a library (test_slurm.sh):
#   nb_slurm_start <dir> [nodes]        nodes = 1 (default: node `hostname -s`) or 2 (n1, n2);
#                                       exports SLURM_CONF
#   trap nb_slurm_stop EXIT             stops the daemons by PID, whatever happens
#
#   tests/slurm/slurm_env.sh start <dir> [1|2]   by hand; then export SLURM_CONF=<dir>/slurm.conf
#   tests/slurm/slurm_env.sh stop <dir>
#
# Both are idempotent: start reuses daemons already running from <dir>; stop ends only the
# daemons whose pid files are under <dir>, never a process found by name.  munged is private
# too (its own socket, key copy and pid file), and the ports are free ones from NB_SLURM_PORT
# (default: one derived from this shell's PID), so several clusters can run on one machine.
# NB_SLURM_GPUS=N gives every node N emulated GPUs (gres without devices) for --gpus-per-task.
# Needs root and the packages slurm-wlm and munge.

# nb_slurm_port_free <port>...: none of them is listening (IPv4 or IPv6)
nb_slurm_port_free() {
  for p in "$@"; do
    h=$(printf ':%04X ' "$p")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$4 == "0A" {print $2 " "}' | grep -q "$h" && return 1
  done
  return 0
}

# nb_slurm_conf <dir> <nodes> <port>: write <dir>/slurm.conf (platform.md §5's verified file)
nb_slurm_conf() {
  d=$1; nodes=$2; port=$3
  cpus=$(nproc); host=$(hostname -s)
  mem=$(awk '/^MemTotal:/ {printf "%d", $2 / 1024 * 0.8}' /proc/meminfo)   # MB, below slurmd's own figure
  gpus=${NB_SLURM_GPUS:-0}; gres=""
  mkdir -p "$d/state" "$d/spool" "$d/log" "$d/tmp"
  rm -f "$d/gres.conf"
  if [ "$gpus" -gt 0 ]; then
    gres=" Gres=gpu:$gpus"
    # no real devices: every GPU is /dev/null (slurmd wants a file per GPU; task/none binds
    # nothing, so jobs only see CUDA_VISIBLE_DEVICES)
    { echo "AutoDetect=off"
      i=0; while [ $i -lt "$gpus" ]; do echo "Name=gpu File=/dev/null"; i=$((i + 1)); done
    } > "$d/gres.conf"
  fi
  {
    echo "# written by tests/slurm/slurm_env.sh: a test cluster on $host"
    echo "ClusterName=nbtest"
    echo "SlurmctldHost=$host(127.0.0.1)"
    echo "SlurmUser=root"
    echo "SlurmdUser=root"
    echo "AuthType=auth/munge"
    echo "CredType=cred/munge"
    echo "AuthInfo=socket=$d/munge/munge.socket"
    echo "MpiDefault=pmix"
    echo "ProctrackType=proctrack/linuxproc"
    echo "TaskPlugin=task/none"
    echo "JobAcctGatherType=jobacct_gather/none"
    echo "AccountingStorageType=accounting_storage/none"
    echo "JobCompType=jobcomp/filetxt"
    echo "JobCompLoc=$d/log/jobcomp.txt"
    echo "SelectType=select/cons_tres"
    echo "SelectTypeParameters=CR_Core_Memory"
    echo "DefMemPerCPU=500"
    echo "SchedulerType=sched/backfill"
    echo "ReturnToService=2"
    echo "MailProg=/bin/true"
    [ "$gpus" -gt 0 ] && echo "GresTypes=gpu"
    # job ids of concurrent test clusters differ (pmix and Open MPI name temporary files by them)
    echo "FirstJobId=$(( ($$ % 900) * 1000 + 1000 ))"
    # scancel: SIGTERM, SIGKILL after KillWait; a job that ignores SIGTERM shows up within 5 s
    echo "KillWait=5"
    # sbatch --wait polls after 2, 8, 32 s unless MinJobAge/2 <= 2: then every 2 s (a finished
    # job's record stays 5 s; the jobcomp file keeps every job's end state)
    echo "MinJobAge=5"
    echo "SlurmctldPort=$port"
    echo "SlurmdPort=$((port + 1))"
    echo "StateSaveLocation=$d/state"
    echo "SlurmctldPidFile=$d/slurmctld.pid"
    echo "SlurmctldLogFile=$d/log/slurmctld.log"
    # per-node TmpFS, else pmix: "Cannot create directory /tmp/spmix_appdir_...: File exists"
    echo "TmpFS=$d/tmp/%n"
    if [ "$nodes" = 2 ]; then
      mkdir -p "$d/spool/n1" "$d/spool/n2" "$d/tmp/n1" "$d/tmp/n2"   # slurmd does not
      echo "SlurmdSpoolDir=$d/spool/%n"
      echo "SlurmdPidFile=$d/slurmd.%n.pid"
      echo "SlurmdLogFile=$d/log/slurmd.%n.log"
      for n in 1 2; do
        echo "NodeName=n$n NodeHostname=$host NodeAddr=127.0.0.1 Port=$((port + 1 + n)) CPUs=$cpus RealMemory=$((mem / 2))$gres State=UNKNOWN"
      done
      echo "PartitionName=debug Nodes=n[1-2] Default=YES MaxTime=INFINITE State=UP"
    else
      mkdir -p "$d/tmp/$host"
      echo "SlurmdSpoolDir=$d/spool"
      echo "SlurmdPidFile=$d/slurmd.pid"
      echo "SlurmdLogFile=$d/log/slurmd.log"
      echo "NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem$gres State=UNKNOWN"
      echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
    fi
  } > "$d/slurm.conf"
}

# nb_slurm_alive <pid file>: the process it names runs (a zombie does not)
nb_slurm_alive() {
  p=$(cat "$1" 2>/dev/null)
  [ -n "$p" ] && nb_slurm_pid_alive "$p"
}
nb_slurm_pid_alive() {
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
  [ -n "$st" ] && [ "$st" != Z ]
}

# nb_slurm_start <dir> [nodes]: start what is not running yet; wait until every node is idle
nb_slurm_start() {
  NB_SLURM_DIR=$(mkdir -p "$1" && cd "$1" && pwd) || return 1
  nodes=${2:-1}
  d=$NB_SLURM_DIR
  export SLURM_CONF="$d/slurm.conf"
  if ! nb_slurm_alive "$d/slurmctld.pid"; then
    rm -rf "$d/state" "$d/spool" "$d/tmp"     # no jobs or node states from an earlier run
    port=${NB_SLURM_PORT:-$(( 20000 + ($$ % 2000) * 4 ))}
    i=0
    until nb_slurm_port_free $port $((port + 1)) $((port + 2)) $((port + 3)); do
      i=$((i + 1)); port=$((port + 4))
      [ $i -gt 100 ] && { echo "slurm_env: no free ports" >&2; return 1; }
    done
    nb_slurm_conf "$d" "$nodes" "$port"
  fi
  # a private munged: its own socket, key copy, pid, log and seed files
  if ! nb_slurm_alive "$d/munge/munged.pid"; then
    install -d -o munge -g munge -m 0755 "$d/munge" &&
      install -o munge -g munge -m 0400 /etc/munge/munge.key "$d/munge/munge.key" || return 1
    runuser -u munge -- /usr/sbin/munged --socket="$d/munge/munge.socket" \
      --key-file="$d/munge/munge.key" --pid-file="$d/munge/munged.pid" \
      --log-file="$d/munge/munged.log" --seed-file="$d/munge/munged.seed" ||
      { echo "slurm_env: munged did not start (see $d/munge/munged.log)" >&2; return 1; }
  fi
  munge -S "$d/munge/munge.socket" -n | unmunge -S "$d/munge/munge.socket" > /dev/null ||
    { echo "slurm_env: munge does not work" >&2; return 1; }
  nb_slurm_alive "$d/slurmctld.pid" || /usr/sbin/slurmctld ||
    { echo "slurm_env: slurmctld did not start (see $d/log/slurmctld.log)" >&2; return 1; }
  if grep -q '^NodeName=n1 ' "$SLURM_CONF"; then
    for n in n1 n2; do
      nb_slurm_alive "$d/slurmd.$n.pid" || /usr/sbin/slurmd -N $n ||
        { echo "slurm_env: slurmd -N $n did not start (see $d/log/slurmd.$n.log)" >&2; return 1; }
    done
  else
    nb_slurm_alive "$d/slurmd.pid" || /usr/sbin/slurmd ||
      { echo "slurm_env: slurmd did not start (see $d/log/slurmd.log)" >&2; return 1; }
  fi
  i=0   # every node idle (or busy, when reused), for at most 30 s
  while :; do
    st=$(sinfo -h -N -o %T 2>/dev/null)
    [ -n "$st" ] && [ -z "$(echo "$st" | grep -v -E '^(idle|mixed|allocated)$')" ] && break
    i=$((i + 1))
    [ $i -gt 150 ] && { echo "slurm_env: nodes not idle after 30 s:" >&2; sinfo -N >&2; return 1; }
    sleep 0.2
  done
  return 0
}

# nb_slurm_stop [dir]: cancel the cluster's jobs (job steps outlive slurmd), then SIGTERM the
# daemons started from dir (default: the last one started) and wait until each has exited
# (SIGKILL after 10 s)
nb_slurm_stop() {
  d=${1:-${NB_SLURM_DIR:-}}
  [ -n "$d" ] && [ -d "$d" ] || return 0
  if nb_slurm_alive "$d/slurmctld.pid"; then
    jobs=$(SLURM_CONF="$d/slurm.conf" squeue -h -o %i 2>/dev/null)
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086
      SLURM_CONF="$d/slurm.conf" scancel $jobs 2>/dev/null
      i=0
      while [ -n "$(SLURM_CONF="$d/slurm.conf" squeue -h -o %i 2>/dev/null)" ] && [ $i -lt 75 ]; do
        i=$((i + 1)); sleep 0.2
      done
    fi
  fi
  for pf in "$d/slurmd.n1.pid" "$d/slurmd.n2.pid" "$d/slurmd.pid" "$d/slurmctld.pid" \
            "$d/munge/munged.pid"; do
    pid=$(cat "$pf" 2>/dev/null)
    if [ -n "$pid" ] && nb_slurm_pid_alive "$pid"; then
      kill -TERM "$pid" 2>/dev/null
      i=0
      while nb_slurm_pid_alive "$pid"; do
        i=$((i + 1))
        [ $i = 50 ] && kill -KILL "$pid" 2>/dev/null
        sleep 0.2
      done
    fi
    rm -f "$pf"
  done
  return 0
}

# as a command: slurm_env.sh start|stop <dir> [nodes]
case ${0##*/} in
  slurm_env.sh)
    case ${1:-} in
      start) [ -n "${2:-}" ] || { echo "usage: $0 start <dir> [1|2]" >&2; exit 2; }
             trap 'nb_slurm_stop "$2"; exit 1' INT TERM
             nb_slurm_start "$2" "${3:-1}" || { nb_slurm_stop "$2"; exit 1; }
             echo "export SLURM_CONF=$SLURM_CONF" ;;
      stop)  [ -n "${2:-}" ] || { echo "usage: $0 stop <dir>" >&2; exit 2; }
             nb_slurm_stop "$2" ;;
      *)     echo "usage: $0 start|stop <dir> [1|2]" >&2; exit 2 ;;
    esac ;;
esac
