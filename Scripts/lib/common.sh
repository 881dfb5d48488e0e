# shellcheck shell=bash
# shellcheck disable=SC2034  # variables here are used by the scripts that source this file
# Scripts/lib/common.sh — helpers shared by the scripts in Scripts/.
#
# Source it (do not execute it):   . "$(dirname "$0")/lib/common.sh"
# Provides: CE_ROOT (absolute repo root), logging (ce_info/ce_warn/ce_die),
# section headers (ce_section), root/sudo helper (ce_as_root), timing helpers
# (ce_now, ce_elapsed) and a small phase runner with a timing table
# (ce_phase / ce_phase_report).

# Absolute path of the repository root (this file lives in <root>/Scripts/lib).
CE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
CE_SCRIPTS="$CE_ROOT/Scripts"  # used by the scripts that source this file
export CE_ROOT

# Colours only when stderr is a terminal and NO_COLOR is unset.
if [[ -t 2 && -z "${NO_COLOR:-}" ]]; then
    _ce_bold=$'\e[1m' _ce_dim=$'\e[2m' _ce_red=$'\e[31m' _ce_green=$'\e[32m'
    _ce_yellow=$'\e[33m' _ce_blue=$'\e[34m' _ce_reset=$'\e[0m'
else
    _ce_bold='' _ce_dim='' _ce_red='' _ce_green='' _ce_yellow='' _ce_blue='' _ce_reset=''
fi

# Name shown in log prefixes: the calling script's file name.
CE_LOG_NAME="${CE_LOG_NAME:-$(basename "$0")}"

ce_info() { printf '%s[%s]%s %s\n' "$_ce_blue" "$CE_LOG_NAME" "$_ce_reset" "$*" >&2; }
ce_ok()   { printf '%s[%s]%s %s%s%s\n' "$_ce_blue" "$CE_LOG_NAME" "$_ce_reset" "$_ce_green" "$*" "$_ce_reset" >&2; }
ce_warn() { printf '%s[%s] warning:%s %s\n' "$_ce_yellow" "$CE_LOG_NAME" "$_ce_reset" "$*" >&2; }
ce_err()  { printf '%s[%s] error:%s %s\n' "$_ce_red" "$CE_LOG_NAME" "$_ce_reset" "$*" >&2; }
ce_die()  { ce_err "$*"; exit 1; }

# A visible section header (goes to stdout so it interleaves with tool output).
ce_section() {
    printf '\n%s==> %s%s\n' "$_ce_bold" "$*" "$_ce_reset"
}

# Run a command as root: directly when we are root, else through sudo.
ce_as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -- "$@"
    else
        ce_die "need root for: $* (not root and sudo is not installed)"
    fi
}

# Seconds since the epoch with sub-second precision (bash 5 EPOCHREALTIME).
ce_now() { printf '%s\n' "${EPOCHREALTIME/,/.}"; }

# ce_elapsed START -> seconds since START, one decimal.
ce_elapsed() {
    local start=$1 now
    now=$(ce_now)
    awk -v a="$start" -v b="$now" 'BEGIN { printf "%.1f", b - a }'
}

# Print the last N lines of a file, indented, to stderr (for error reports).
ce_tail() {
    local file=$1 n=${2:-30}
    if [[ -s $file ]]; then
        printf '%s--- last %s lines of %s ---%s\n' "$_ce_dim" "$n" "$file" "$_ce_reset" >&2
        tail -n "$n" "$file" | sed 's/^/    /' >&2
        printf '%s--- end of %s ---%s\n' "$_ce_dim" "$file" "$_ce_reset" >&2
    else
        ce_err "(log $file is empty or missing)"
    fi
}

# ---------------------------------------------------------------------------
# Phases: ce_phase NAME CMD... runs CMD under a section header, records its
# duration and status; ce_phase_report prints the table. ce_phase returns the
# command's status so callers decide whether to go on.
CE_PHASE_NAMES=()
CE_PHASE_TIMES=()
CE_PHASE_RESULTS=()

ce_phase() {
    local name=$1; shift
    local start rc=0 secs
    ce_section "$name"
    start=$(ce_now)
    "$@" || rc=$?
    secs=$(ce_elapsed "$start")
    CE_PHASE_NAMES+=("$name")
    CE_PHASE_TIMES+=("$secs")
    if [[ $rc -eq 0 ]]; then
        CE_PHASE_RESULTS+=("ok")
        ce_info "phase '$name' ok (${secs}s)"
    else
        CE_PHASE_RESULTS+=("FAILED($rc)")
        ce_err "phase '$name' failed with status $rc (${secs}s)"
    fi
    return "$rc"
}

ce_phase_report() {
    local i
    printf '\n%sPhase timings%s\n' "$_ce_bold" "$_ce_reset"
    for i in "${!CE_PHASE_NAMES[@]}"; do
        printf '  %-28s %8ss  %s\n' "${CE_PHASE_NAMES[$i]}" "${CE_PHASE_TIMES[$i]}" "${CE_PHASE_RESULTS[$i]}"
    done
}

# ---------------------------------------------------------------------------
# Long-running children. ce_run_child CMD... runs CMD (a command or a shell
# function) as a background job with stdin from /dev/null and waits for it,
# so an INT/TERM reaches the caller's trap at once; the trap calls
# ce_stop_child, which ends the job's whole process tree (swift test runs the
# test binary in its own process group, so a group kill would miss it).
# With CE_CHILD_TIMEOUT=SECS set, the tree is ended after SECS and the call
# returns 124.
CE_CHILD=""
CE_WATCHDOG=""

# ce_tree PID -> PID and all its descendants, one per line (from /proc).
ce_tree() {
    local root=$1 stat line rest pid ppid
    declare -A kids=()
    for stat in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$stat" || continue
        pid=${stat#/proc/}; pid=${pid%/stat}
        rest=${line##*) }            # fields after "pid (comm) "
        ppid=${rest#* }; ppid=${ppid%% *}
        kids[$ppid]+="$pid "
    done
    local queue=("$root") next
    while [[ ${#queue[@]} -gt 0 ]]; do
        next=${queue[0]}; queue=("${queue[@]:1}")
        printf '%s\n' "$next"
        # shellcheck disable=SC2206
        [[ -n ${kids[$next]:-} ]] && queue+=(${kids[$next]})
    done
}

# ce_kill_tree PID: TERM the tree, wait up to 10 s, then KILL what is left.
ce_kill_tree() {
    local root=$1 pids i
    mapfile -t pids < <(ce_tree "$root")
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for i in $(seq 100); do
        kill -0 "${pids[@]}" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
}

ce_run_child() {
    local rc=0 flag=""
    "$@" </dev/null &
    CE_CHILD=$!
    if [[ -n ${CE_CHILD_TIMEOUT:-} ]]; then
        flag=$(mktemp)
        rm -f "$flag"
        # In the subshell $$ is still our pid: only act while the child is ours.
        ( sleep "$CE_CHILD_TIMEOUT"
          [[ $(awk '{print $4}' /proc/"$CE_CHILD"/stat 2>/dev/null) == "$$" ]] || exit 0
          : >"$flag"; ce_kill_tree "$CE_CHILD" ) &
        CE_WATCHDOG=$!
    fi
    wait "$CE_CHILD" || rc=$?
    CE_CHILD=""
    if [[ -n $CE_WATCHDOG ]]; then
        ce_kill_tree "$CE_WATCHDOG" 2>/dev/null || true
        wait "$CE_WATCHDOG" 2>/dev/null || true
        CE_WATCHDOG=""
        if [[ -e $flag ]]; then
            rm -f "$flag"
            ce_err "timed out after ${CE_CHILD_TIMEOUT}s"
            rc=124
        fi
    fi
    return "$rc"
}

ce_stop_child() {
    if [[ -n $CE_WATCHDOG ]]; then
        ce_kill_tree "$CE_WATCHDOG" 2>/dev/null || true
        CE_WATCHDOG=""
    fi
    [[ -n $CE_CHILD ]] || return 0
    if kill -0 "$CE_CHILD" 2>/dev/null; then
        ce_warn "interrupted: stopping process tree of pid $CE_CHILD"
        ce_kill_tree "$CE_CHILD"
        wait "$CE_CHILD" 2>/dev/null || true
    fi
    CE_CHILD=""
}
