#!/usr/bin/env bash
# The baseline for `cargo bench --bench check`: a Galera check in the style of the common
# bash + mysql CLI plugins (check_galera_cluster and its relatives): one `mysql` process per
# status variable, text comparisons in the shell, the flow-control lifetime average compared
# with awk. Written for the benchmark only; it is not a recommended check.
#
# Usage: check_galera_shell.sh DEFAULTS_FILE HOST PORT [MIN_SIZE]
# Credentials come from DEFAULTS_FILE ([client] user/password), never from argv.
set -u
defaults=$1 host=$2 port=$3 min_size=${4:-2}

status() {
    mysql --defaults-extra-file="$defaults" -h "$host" -P "$port" -B -N \
        -e "SHOW GLOBAL STATUS LIKE '$1'" 2>/dev/null | cut -f 2
}

size=$(status wsrep_cluster_size)
cluster_status=$(status wsrep_cluster_status)
fc_paused=$(status wsrep_flow_control_paused)
ready=$(status wsrep_ready)
connected=$(status wsrep_connected)
state=$(status wsrep_local_state_comment)

if [ -z "$size" ]; then
    echo "CRITICAL: cannot read wsrep status from $host:$port"
    exit 2
fi
if [ "$cluster_status" != "Primary" ] || [ "$ready" != "ON" ] || [ "$connected" != "ON" ]; then
    echo "CRITICAL: node is $cluster_status, ready $ready, connected $connected"
    exit 2
fi
if [ "$size" -lt "$min_size" ]; then
    echo "CRITICAL: cluster size $size"
    exit 2
fi
if awk -v v="$fc_paused" 'BEGIN { exit !(v > 0.1) }'; then
    echo "WARNING: flow control paused $fc_paused"
    exit 1
fi
if [ "$state" != "Synced" ]; then
    echo "WARNING: node is $state"
    exit 1
fi
echo "OK: cluster size $size, $state | cluster_size=$size;;$min_size:;0 fc_paused=$fc_paused;0.1;0.9;0;1"
exit 0
