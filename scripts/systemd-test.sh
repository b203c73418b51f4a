#!/usr/bin/env bash
# End-to-end test of the coursegen daemon under a real systemd (issue 5).
#
# Boots systemd as PID 1 of a throwaway container made from this machine's own root filesystem,
# installs the real coursegen there with scripts/install.sh, runs it as coursegen.service against
# the fake Gemini API (fake-gemini as a transient unit on the container's own 127.0.0.1, failing
# every prompt's first attempt with 503 and answering after a latency) and checks:
#   - install: user, group, folders and their modes, the credential file; the unit verifies;
#   - `systemctl enable --now`: Type=notify start-up, the idle status text, the watchdog;
#   - an author (a member of group coursegen, not root, umask 077) drops a 6-chapter outline: the
#     status shows "Generating practical-rust: k/6 chapters...", every chapter file and
#     SUMMARY.md appear, then "Watching /srv/coursegen/inbox: 1 course up to date"; the author
#     reads the course's STATUS.md (up to date, no API key in it);
#   - the journal: structured fields, PRIORITY 6 per generated chapter and 4 per retry,
#     `journalctl OUTLINE=` and `-p warning` filter as they should;
#   - `systemctl reload`: same main process, still active, the daemon logs the reload;
#   - `kill -9` of the main process while an 8-chapter outline is mid-generation: systemd
#     restarts it, and after the restart no chapter stored before the kill is requested again;
#   - `systemctl stop` while a third outline generates: no request after SIGTERM, exit status 0,
#     Result=success, within TimeoutStopSec, and no partial or temporary file in the output;
#   - the API key appears nowhere in the container's journal;
#   - `systemd-analyze security` exposure <= 2.5; uninstall keeps config, key and data.
#
# With --package DEB it installs the Debian package instead (issue 24), in a container where the
# Swift toolchain is hidden (a read-only tmpfs over /opt/swift), and checks:
#   - `dpkg -i`: user, group, folders and modes as above; the service neither enabled nor started;
#     `coursegen --version` prints the package's version; `man coursegen` shows the manual page;
#     the binary needs no library of the toolchain;
#   - then every service check above, against the packaged binary and units;
#   - `dpkg -i` of the same package over itself with an edited /etc/coursegen/config.yaml: the
#     edit is kept (a conffile), the running service is restarted onto the new binary; a stopped
#     one stays stopped;
#   - `dpkg -r`: the service is stopped, the program and units are gone, config, key, state and
#     courses stay; `dpkg -P`: /etc/coursegen, the drop-ins and the enable link are gone, the
#     state, the courses and the coursegen user stay.
#
#   scripts/systemd-test.sh [--binary PATH | --package DEB] [--fake PATH] [--keep]
#
#   --binary PATH  the coursegen executable to install (default: .build/debug/coursegen; a debug
#                  build links the Swift runtime from the toolchain, which stays readable under
#                  ProtectSystem=strict)
#   --package DEB  install this Debian package (scripts/package.sh) instead of install.sh's files
#   --fake PATH    the fake Gemini server (default: .build/debug/fake-gemini; with --package it
#                  gets its own copy of the toolchain's libraries it needs, the daemon none)
#   --keep         keep the work folder (boot log, the container's journal) in /tmp
#
# Run it after `swift build --build-tests`. Exit status: 0 passed; 1 failed (the reason and the
# tail of the container's journal are printed, the whole journal is kept in the work folder);
# 77 skipped (systemd cannot boot here; the reason is printed). Needs root,
# unshare/nsenter/setpriv/findmnt (util-linux), perl, jq, curl, overlayfs and cgroup2. Takes
# about 25 s, 5 of them the unit's RestartSec= after the kill.
#
# How the container works (boot_systemd, container_init):
# - `unshare --pid --fork --mount --propagation private --mount-proc --cgroup --net --uts --ipc`
#   starts this script again as PID 1 of new namespaces (`__container-init WORK [HIDDEN...]`).
# - Root: an overlay whose lower layer is the host's `/` and whose upper layer is a tmpfs, so the
#   installer, systemd-sysusers and systemd-tmpfiles may write anywhere (/usr/local, /etc, /srv,
#   /var) and everything vanishes at power-off. Host submounts (/proc, /sys, /dev, /tmp if it is
#   one) are not part of an overlay's lower layer, so the container gets its own:
#   /proc (its PID namespace, /proc/sys and sysrq-trigger read-only, so no sysctl reaches the host
#   kernel), /sys read-only with a cgroup2 mount that only shows the container's cgroup namespace,
#   a tmpfs /dev with the usual nodes and a private devpts (its /dev/console is a file in the work
#   folder, so nothing reaches the host's console), tmpfs /run and /tmp, and an empty read-only
#   tmpfs over each HIDDEN folder (/opt/swift with --package). A private /tmp is
#   not optional: Debian's tmpfiles.d/tmp.conf says `D /tmp`, which systemd-tmpfiles-setup.service
#   would otherwise apply to the host's /tmp (everyone's temporary files) at boot.
# - cgroups: the container lives in its own cgroup2 child of this script's cgroup (created here,
#   removed at the end) and in a cgroup namespace, so systemd's cgroup tree stays inside it.
#   On hybrid hosts (v1 controllers plus cgroup2 at /sys/fs/cgroup/unified) the container sees
#   plain cgroup2 and never touches the v1 hierarchies.
# - `container=coursegen-test` in systemd's environment makes it run in container mode (units with
#   ConditionVirtualization=!container are skipped, no udev, no clock, no kernel modules), and
#   the capability bounding set drops what a container has no business with (modules, clock,
#   raw I/O, syslog, MAC admin).
# - A new network namespace: only loopback, which systemd brings up; nothing reaches the host's
#   network configuration, and the fake's port cannot clash with anything on the host.
# - systemd boots `coursegen-test.target` (sysinit + sockets only: journald, tmpfiles, sysusers),
#   not the host's default target, so no getty, postgres, timers or networking start.
# - Readiness is an event: systemd in a container sends READY=1 to $NOTIFY_SOCKET when start-up
#   is complete; the socket is bound here (a small perl listener) and bind-mounted into the
#   container at /run/host/notify, as systemd-nspawn does.
# - / is made shared (within the container only: its namespace was created private), as
#   systemd-nspawn does; otherwise services' credentials (LoadCredential=) never appear.
# - /run/host/share in the container is $WORK/share here: a way to pass files both ways (the
#   binaries are copied there, since the container has its own /tmp).
# - Power-off: `systemctl poweroff` inside; systemd-shutdown's final reboot(2) ends the PID
#   namespace; then the cgroup is removed. A watchdog SIGKILLs the container's PID 1 (which ends
#   every process in its PID namespace) if power-off takes too long.
#
# To add a check: write a `check_*` function that uses `in_container CMD...`, `unit_property`,
# `wait_until`, `expect_equal` and `fail`, and call it from `main` between boot_systemd and
# poweroff_systemd. The container's PID 1 is $NS_PID (as seen here); in_container runs a command
# in all its namespaces: `in_container systemctl status coursegen`, `in_container journalctl -u
# coursegen`. Waits poll at 0.1 s (a few milliseconds of work each) with a generous deadline.

set -Eeuo pipefail

readonly SELF=$(readlink -f "${BASH_SOURCE[0]}")
readonly REPO=$(dirname "$(dirname "$SELF")")
readonly BOOT_TIMEOUT_SECONDS=120
readonly POWEROFF_TIMEOUT_SECONDS=60
readonly CONTAINER_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

WORK=
CGROUP=
CONTAINER_JOB=
NS_PID=
LISTENER_PID=
LISTENER_FD=

say() { printf 'systemd-test: %s\n' "$*" >&2; }
fail() {
    trap - ERR
    say "FAIL: $*"
    # Inside $(...) the calling shell reports the failure again and keeps the journal.
    [[ $BASHPID == "$$" ]] || exit 1
    # The container's journal dies with it: keep a copy for the post-mortem.
    if [[ -n $NS_PID && -n $WORK ]]; then
        in_container journalctl -b --all --no-pager -o short-monotonic >"$WORK/journal.txt" 2>&1 || true
        say "the container's journal, last 80 lines (all of it: $WORK/journal.txt):"
        tail -n 80 "$WORK/journal.txt" >&2
    fi
    exit 1
}
skip() {
    say "SKIPPED: $*"
    exit 77
}

# ---------------------------------------------------------------------------------------------
# Container machinery

# Runs as PID 1 of the new namespaces: builds the container's root and execs systemd.
container_init() {
    local work=$1
    shift
    local scratch=$work/scratch
    local root=$scratch/root
    set -eu

    mkdir -p "$scratch"
    mount -t tmpfs -o mode=0755 coursegen-scratch "$scratch"
    mkdir "$scratch/upper" "$scratch/overlay-work" "$root"
    mount -t overlay -o "lowerdir=/,upperdir=$scratch/upper,workdir=$scratch/overlay-work" \
        coursegen-root "$root"

    mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
    local path
    for path in "$root/proc/sys" "$root/proc/sysrq-trigger"; do
        [[ -e $path ]] || continue
        mount --bind "$path" "$path"
        mount -o remount,bind,ro "$path"
    done
    mount --bind /sys "$root/sys"
    mount -o remount,bind,ro,nosuid,nodev,noexec "$root/sys"
    mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$root/sys/fs/cgroup"

    mount -t tmpfs -o mode=0755,nosuid,size=16m coursegen-dev "$root/dev"
    local node
    for node in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
        IFS=: read -r name major minor <<<"$node"
        mknod -m 0666 "$root/dev/$name" c "$major" "$minor"
    done
    mkdir "$root/dev/pts" "$root/dev/shm"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts "$root/dev/pts"
    ln -s pts/ptmx "$root/dev/ptmx"
    mount -t tmpfs -o mode=1777,nosuid,nodev coursegen-shm "$root/dev/shm"
    ln -s /proc/self/fd "$root/dev/fd"
    ln -s /proc/self/fd/0 "$root/dev/stdin"
    ln -s /proc/self/fd/1 "$root/dev/stdout"
    ln -s /proc/self/fd/2 "$root/dev/stderr"
    touch "$root/dev/console"
    mount --bind "$work/console.log" "$root/dev/console"

    mount -t tmpfs -o mode=0755,nosuid,nodev coursegen-run "$root/run"
    mount -t tmpfs -o mode=1777,nosuid,nodev coursegen-tmp "$root/tmp"
    local hidden
    for hidden; do
        mount -t tmpfs -o ro,mode=0755,nosuid,nodev coursegen-hidden "$root$hidden"
    done
    mkdir -p "$root/run/host/share" "$root/run/host/oldroot" "$root/run/systemd/system"
    touch "$root/run/host/notify"
    mount --bind "$work/notify" "$root/run/host/notify"
    mount --bind "$work/share" "$root/run/host/share"
    cat >"$root/run/systemd/system/coursegen-test.target" <<'EOF'
[Unit]
Description=coursegen systemd test (sysinit and sockets only)
Requires=sysinit.target sockets.target
After=sysinit.target sockets.target
AllowIsolate=yes
EOF

    cd "$root"
    pivot_root . run/host/oldroot
    umount -l /run/host/oldroot
    rmdir /run/host/oldroot
    cd /
    # systemd shares / itself only outside containers, and services' credential mounts must
    # propagate back from their helper's namespace. Shared within this namespace only: it was
    # created private, so nothing reaches the host.
    mount --make-rshared /

    exec setpriv \
        --bounding-set=-sys_module,-sys_time,-sys_rawio,-syslog,-mac_admin,-mac_override,-wake_alarm,-block_suspend \
        env -i container=coursegen-test NOTIFY_SOCKET=/run/host/notify PATH="$CONTAINER_PATH" \
        /lib/systemd/systemd --system --unit=coursegen-test.target --show-status=yes
}

# Says why systemd cannot boot here (and exits 77), or returns when it probably can. A missing
# tool the test itself needs is a failure, not a reason to skip.
preflight() {
    [[ $(id -u) == 0 ]] || skip "must run as root (unshare of PID and mount namespaces, mounts)"
    local tool
    for tool in unshare nsenter setpriv findmnt /lib/systemd/systemd; do
        command -v "$tool" >/dev/null || skip "$tool is not available"
    done
    for tool in perl jq curl; do
        command -v "$tool" >/dev/null || fail "$tool is not installed; the test needs it (apt-get install $tool)"
    done
    grep -qw overlay /proc/filesystems || skip "the kernel has no overlay filesystem"
    findmnt -n -t cgroup2 >/dev/null || skip "no cgroup2 hierarchy is mounted"
    unshare --pid --fork --mount --cgroup --net --uts --ipc true 2>/dev/null ||
        skip "cannot create PID, mount, cgroup, network, UTS and IPC namespaces here"
}

# Boots systemd in the container and returns once it reports start-up complete.
# Sets NS_PID (the container's PID 1 as seen here).
boot_systemd() {
    WORK=$(mktemp -d /tmp/coursegen-systemd-test.XXXXXX)
    mkdir "$WORK/share"
    : >"$WORK/console.log"

    local cgroup_root our_cgroup
    cgroup_root=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
    our_cgroup=$(sed -n 's/^0:://p' /proc/self/cgroup)
    CGROUP=$cgroup_root${our_cgroup%/}/coursegen-test-$$
    mkdir "$CGROUP" || skip "cannot create the container's cgroup $CGROUP"

    # The listener prints each datagram systemd sends as "message ...", and "exited STATUS" when
    # the container has ended (the job below reports that on the same socket), for the whole run.
    mkfifo "$WORK/listener"
    perl -MSocket -e '
        socket(my $s, AF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";
        bind($s, pack_sockaddr_un($ARGV[0])) or die "bind $ARGV[0]: $!";
        $| = 1; print "listening\n";
        while (defined(recv($s, my $m, 65536, 0))) {
            if ($m =~ /^X_CONTAINER_EXITED=(\d+)$/m) { print "exited $1\n"; exit 0 }
            $m =~ s/\n+$//; $m =~ s/\n/ /g; print "message $m\n";
        }' "$WORK/notify" >"$WORK/listener" &
    LISTENER_PID=$!
    exec {LISTENER_FD}<"$WORK/listener"
    local line
    read -r -t 10 line <&"$LISTENER_FD" && [[ $line == listening ]] ||
        fail "the notify listener did not start"

    local started=$SECONDS
    # Only unshare moves into the container's cgroup (its cgroup namespace is rooted there); this
    # job stays outside and reports the container's end to the listener.
    (
        # Whatever happens, the listener must hear the container's end.
        trap - ERR
        set +e
        sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CGROUP" \
            unshare --pid --fork --kill-child --mount --propagation private --mount-proc \
            --cgroup --net --uts --ipc -- "$SELF" __container-init "$WORK" "${HIDDEN[@]}"
        status=$?
        notify_send "$WORK/notify" "X_CONTAINER_EXITED=$status"
        exit "$status"
    ) >"$WORK/boot.log" 2>&1 </dev/null &
    CONTAINER_JOB=$!

    while line=$(next_notification $((started + BOOT_TIMEOUT_SECONDS - SECONDS))); do
        case $line in
        "message "*READY=1*) break ;;
        "exited "*) fail "the container ended (status ${line#exited }) before start-up completed; $(boot_logs)" ;;
        esac
    done
    [[ $line == "message "*READY=1* ]] ||
        fail "systemd did not report start-up within ${BOOT_TIMEOUT_SECONDS}s; $(boot_logs)"
    local unshare_pid
    unshare_pid=$(child_of "$CONTAINER_JOB")
    NS_PID=$(child_of "$unshare_pid")
    [[ -n $NS_PID ]] || fail "cannot find the container's PID 1"
    say "systemd booted in $((SECONDS - started))s as PID $NS_PID"

    local state
    state=$(in_container systemctl is-system-running || true)
    if [[ $state != running ]]; then
        say "system state is '$state'; failed units:"
        in_container systemctl --no-pager --failed >&2 || true
    fi
}

# Prints the listener's next line (and shows systemd's messages); fails after $1 seconds.
next_notification() {
    local line
    (($1 > 0)) && read -r -t "$1" line <&"$LISTENER_FD" || return 1
    [[ $line != "message "* ]] || say "systemd: ${line#message }"
    echo "$line"
}

# Prints the first child of process $1.
child_of() {
    local children
    children=$(cat "/proc/$1/task/$1/children" 2>/dev/null) || return 0
    echo "${children%% *}"
}

# Sends one datagram ($2) to the AF_UNIX datagram socket at path $1.
notify_send() {
    perl -MSocket -e '
        socket(my $s, AF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";
        send($s, $ARGV[1], 0, pack_sockaddr_un($ARGV[0])) or die "send $ARGV[0]: $!"' "$1" "$2"
}

boot_logs() {
    printf 'boot log:\n%s\nconsole:\n%s\n' "$(tail -n 20 "$WORK/boot.log")" \
        "$(tail -n 40 "$WORK/console.log")"
}

# Runs a command inside the running container (all its namespaces, its root, a clean PATH).
in_container() {
    nsenter -t "$NS_PID" -m -p -n -u -i -C -r -w -- env PATH="$CONTAINER_PATH" "$@"
}

# Powers the container off and waits for it to end; SIGKILLs its PID 1 (which ends every
# process in its PID namespace) after a timeout.
poweroff_systemd() {
    [[ -n $CONTAINER_JOB ]] || return 0
    if [[ -z $NS_PID ]]; then
        NS_PID=$(child_of "$(child_of "$CONTAINER_JOB")")
    fi
    if [[ -n $NS_PID ]]; then
        in_container systemctl poweroff --no-block >/dev/null 2>&1 || true
    fi
    local started=$SECONDS line
    while line=$(next_notification $((started + POWEROFF_TIMEOUT_SECONDS - SECONDS))); do
        [[ $line != "exited "* ]] || break
    done
    if [[ $line != "exited "* && -n $NS_PID ]]; then
        say "power-off took more than ${POWEROFF_TIMEOUT_SECONDS}s: killing the container"
        kill -KILL "$NS_PID" 2>/dev/null || true
    fi
    local status=0
    wait "$CONTAINER_JOB" 2>/dev/null || status=$?
    # reboot(2) with POWER_OFF in a PID namespace ends its PID 1 with SIGINT (exit status 130).
    if [[ $status == 130 ]]; then
        say "systemd powered off in $((SECONDS - started))s"
    else
        say "the container ended with status $status (130 is a clean power-off)"
    fi
    CONTAINER_JOB=
    NS_PID=
}

# Leaves nothing behind: no container, no cgroup, no work folder (unless --keep).
cleanup() {
    local status=$?
    poweroff_systemd
    if [[ -n $LISTENER_PID ]]; then
        kill "$LISTENER_PID" 2>/dev/null || true
        wait "$LISTENER_PID" 2>/dev/null || true
    fi
    if [[ -n $CGROUP && -d $CGROUP ]]; then
        find "$CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null ||
            say "could not remove cgroup $CGROUP: $(find "$CGROUP" -name cgroup.procs -exec cat {} +)"
    fi
    if [[ -n $WORK ]]; then
        if [[ $KEEP == 1 || $status != 0 ]]; then
            say "work folder kept: $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    exit "$status"
}

# ---------------------------------------------------------------------------------------------
# Helpers for checks

readonly INBOX=/srv/coursegen/inbox
readonly OUTPUT=/srv/coursegen/output
readonly STORE=/var/lib/coursegen/store
readonly PORT_FILE=/run/fake-gemini.port
# Every prompt's first FAIL_FIRST attempts answer 503, so each chapter retries (warning entries)
# deterministically; LATENCY_MS holds outlines mid-generation long enough to act on them.
readonly FAIL_FIRST=1
readonly LATENCY_MS=400
readonly CONCURRENCY=3

readonly RUST_TITLES=("Getting Started" "Ownership and Borrowing" "Structs and Enums" "Error Handling"
    "Collections and Iterators" "Concurrency")
readonly GO_TITLES=("The Go Toolchain" "Types and Interfaces" "Goroutines" "Channels and Select"
    "Files and System Calls" "Networking" "Testing and Benchmarks" "Profiling")
readonly SHELL_TITLES=("Navigating Files" "Pipes and Redirection" "Writing Scripts")

KEY=
PORT=
STATUS=

# Fails the test with $1 unless "$2" equals "$3".
expect_equal() {
    [[ $2 == "$3" ]] || fail "$1: expected '$3', got '$2'"
}

# The value of one property of a unit (systemctl show -p NAME --value).
unit_property() {
    in_container systemctl show -p "$2" --value "$1"
}

# The journal entries of unit $1 (and further journalctl arguments), one JSON object a line.
# --all matters: without it journalctl prints every field longer than 4096 bytes as null.
unit_journal_json() {
    in_container journalctl --all -u "$@" -o json --no-pager
}

# Runs "$@" every 0.1 s until it succeeds; fails the test saying it was waiting for $1 after $2
# seconds (a safety net: every wait ends on an event well before).
wait_until() {
    local what=$1 seconds=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        ((SECONDS < deadline)) || fail "timed out after ${seconds}s waiting for $what (status: '$STATUS')"
        sleep 0.1
    done
}

# Reads coursegen's StatusText into $STATUS and prints it when it changed: the progress display.
observe_status() {
    local status
    status=$(unit_property coursegen StatusText) || return 1
    if [[ $status != "$STATUS" ]]; then
        STATUS=$status
        say "  status: $status"
    fi
}

# True when the status text matches the glob $1.
status_matches() {
    observe_status && [[ $STATUS == $1 ]]
}

# True when outline $1 is published whole: SUMMARY.md is there and lists no draft (the status is shown meanwhile).
published() {
    # Chapters are published as they arrive: complete once SUMMARY.md lists no draft.
    observe_status && in_container test -e "$OUTPUT/$1/SUMMARY.md" &&
        ! in_container grep -q '\]()$' "$OUTPUT/$1/SUMMARY.md"
}

# True when the status shows outline $1 generating with at least $2 chapters ready.
generating_with_ready() {
    observe_status && [[ $STATUS =~ Generating\ $1:\ ([0-9]+)/[0-9]+\ chapters ]] &&
        ((BASH_REMATCH[1] >= $2))
}

# The file name the publisher gives a simple title: NN-lower-case-words.md.
chapter_file() {
    local slug=${2,,}
    slug=$(sed -E 's/[^a-z0-9]+/-/g; s/^-+//; s/-+$//' <<<"$slug")
    printf '%02d-%s.md' "$1" "$slug"
}

# A Markdown outline for course $1 with chapters $2...
outline_markdown() {
    local course=$1 title
    shift
    printf '# %s\n\nA course written by the systemd end-to-end test.\n' "$course"
    for title; do
        printf '\n## %s\n- The essentials of %s\n- One worked example\n' "$title" "${title,,}"
    done
}

# The author (a member of group coursegen, not root) saves outline file $1 (course $2, chapters
# $3...) into the inbox with a private umask, as an editor would.
drop_outline() {
    local file=$1
    shift
    outline_markdown "$@" | in_container setpriv --reuid author --regid author --init-groups \
        sh -c "umask 077 && cat >$INBOX/$file" || fail "the author cannot write $INBOX/$file"
}

# The fake's counters (GET /_fake/stats) as JSON.
fake_stats() {
    in_container curl --silent --show-error --fail --max-time 10 "http://127.0.0.1:$PORT/_fake/stats"
}

# Checks outline $1's published folder against chapter titles $2...: the files NN-slug.md in
# order, each "# TITLE", the fake's answer for exactly that chapter and its last line (so no
# partial file), SUMMARY.md listing them, and nothing else but book.toml.
check_published() {
    local name=$1
    shift
    local folder=$OUTPUT/$name position=0 title file text
    local expected=(STATUS.md SUMMARY.md book.toml) summary=$'# Summary\n'
    for title; do
        position=$((position + 1))
        file=$(chapter_file "$position" "$title")
        expected+=("$file")
        summary+=$'\n'"- [$title]($file)"
        text=$(in_container cat "$folder/$file") || fail "$folder/$file is missing"
        expect_equal "first line of $folder/$file" "$(head -n 1 <<<"$text")" "# $title"
        expect_equal "last line of $folder/$file (a partial file?)" "$(tail -n 1 <<<"$text")" \
            "End of the fake chapter."
        [[ $text == *"Chapter to write: $title"* ]] || fail "$folder/$file is not the answer for '$title'"
    done
    expect_equal "$folder/SUMMARY.md" "$(in_container cat "$folder/SUMMARY.md")" "$summary"
    expect_equal "files in $folder" "$(in_container ls -A "$folder" | sort | paste -sd ' ')" \
        "$(printf '%s\n' "${expected[@]}" | sort | paste -sd ' ')"
}

# ---------------------------------------------------------------------------------------------
# Checks

# Installs with scripts/install.sh as an admin would (sysusers, tmpfiles, daemon-reload).
check_install() {
    in_container "$(container_path "$WORK/share/repo/scripts/install.sh")" --no-build \
        --binary "$(container_path "$WORK/share/coursegen")" \
        >"$WORK/install.log" 2>&1 || fail "install.sh failed: $(cat "$WORK/install.log")"
    check_installed install.sh
}

# What an installation leaves ($1 made it): user, group, folders and modes, a unit that verifies,
# and an author (a member of group coursegen) for the checks that follow.
check_installed() {
    in_container getent passwd coursegen >/dev/null || fail "$1 did not create the coursegen user"
    expect_equal "inbox mode and owner" "$(in_container stat -c '%a %U:%G' $INBOX)" "2775 coursegen:coursegen"
    expect_equal "output mode and owner" "$(in_container stat -c '%a %U:%G' $OUTPUT)" "2750 coursegen:coursegen"
    expect_equal "config mode and owner" "$(in_container stat -c '%a %U:%G' /etc/coursegen/config.yaml)" \
        "640 root:coursegen"
    in_container systemd-analyze verify "$UNIT_FILE" ||
        fail "systemd-analyze verify rejects the installed system unit"
    in_container useradd --create-home --groups coursegen author
    say "installed by $1: user, group, folders and units in place; the unit verifies"
}

# Installs the Debian package with dpkg -i where no Swift toolchain is visible: the service is
# set up but neither enabled nor started (it needs an API key first), and the version and the
# manual page are there.
check_package_install() {
    in_container test ! -e /opt/swift/usr/bin/swift || fail "the Swift toolchain is visible in the container"
    # A Docker image's policy-rc.d forbids every service action (deb-systemd-invoke asks it); a
    # server has none. The container's copy goes, the host's stays.
    in_container rm -f /usr/sbin/policy-rc.d
    in_container dpkg -i "$(container_path "$DEB")" >"$WORK/dpkg.log" 2>&1 ||
        fail "dpkg -i failed: $(cat "$WORK/dpkg.log")"
    expect_equal "package state" "$(in_container dpkg-query -W -f '${Status} ${Version}' coursegen)" \
        "install ok installed $DEB_VERSION"
    check_installed "dpkg -i"
    expect_equal "coursegen.service after dpkg -i" \
        "$(in_container systemctl is-enabled coursegen.service || true)/$(unit_property coursegen ActiveState)" \
        disabled/inactive
    expect_equal "coursegen --version" "$(in_container "$PROGRAM" --version)" "$DEB_VERSION"
    local libraries
    libraries=$(in_container ldd "$PROGRAM") || fail "ldd $PROGRAM failed: $libraries"
    if grep -Eq 'not found|swift|Foundation|dispatch' <<<"$libraries"; then
        fail "the packaged binary needs libraries of the Swift toolchain:"$'\n'"$libraries"
    fi
    check_manual_page
    say "dpkg -i: installed without a Swift toolchain, not enabled, not started; --version $DEB_VERSION"
}

# `man coursegen` finds the packaged page and renders it: its name line, and the subcommands
# and options the command line defines.
check_manual_page() {
    in_container sh -c 'command -v man' >/dev/null || fail "man is not installed (apt-get install man-db)"
    expect_equal "man -w coursegen" "$(in_container man -w coursegen)" /usr/share/man/man1/coursegen.1.gz
    local page
    page=$(in_container env LC_ALL=C MANWIDTH=100 man -P cat coursegen 2>&1) ||
        fail "man coursegen failed: $page"
    page=${page//?$'\b'/} # overstrike (X backspace X), should man keep any formatting
    [[ $page == *"Turns course outlines into ordered chapter files"* ]] ||
        fail "man coursegen has no NAME line:"$'\n'"$(head -n 20 <<<"$page")"
    # Each subcommand and --version starts a line of the rendered page (its tag).
    local tag
    for tag in --version generate watch check status gc settings; do
        grep -Eq -- "^ +$tag( |\$)" <<<"$page" || fail "man coursegen shows no entry '$tag':"$'\n'"$(head -n 40 <<<"$page")"
    done
    say "man coursegen: $(grep -c '' <<<"$page") lines, NAME, the subcommands and --version"
}

# Starts fake-gemini as a transient unit accepting only a fresh random key, which it reads from
# the service's credential file: on its command line the key would reach the journal (systemd
# logs command lines). Sets KEY and PORT.
start_fake_gemini() {
    KEY=coursegen-test-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    printf '%s\n' "$KEY" | in_container sh -c 'umask 077 && cat >/etc/coursegen/gemini-api-key'
    expect_equal "API key file mode and owner" \
        "$(in_container stat -c '%a %U:%G' /etc/coursegen/gemini-api-key)" "600 root:root"
    local runtime=()
    if [[ -d $WORK/share/fake-runtime ]]; then
        runtime=(--setenv=LD_LIBRARY_PATH="$(container_path "$WORK/share/fake-runtime")")
    fi
    in_container systemd-run --quiet --unit=fake-gemini --description="fake Gemini API for the coursegen test" \
        "${runtime[@]}" --property=Type=exec "$(container_path "$WORK/share/fake-gemini")" --port 0 --port-file "$PORT_FILE" \
        --key-file /etc/coursegen/gemini-api-key --latency-ms "$LATENCY_MS" --fail-first "$FAIL_FIRST" ||
        fail "systemd-run could not start fake-gemini"
    wait_until "fake-gemini to listen (its port file $PORT_FILE)" 30 fake_is_listening
    PORT=$(in_container cat "$PORT_FILE")
    say "fake-gemini listens on 127.0.0.1:$PORT: latency $LATENCY_MS ms, the first $FAIL_FIRST" \
        "attempt(s) of every prompt answer 503"
}

fake_is_listening() {
    in_container test -s "$PORT_FILE" && return 0
    case $(unit_property fake-gemini ActiveState) in
    active | activating) return 1 ;;
    *) fail "fake-gemini is not running: $(in_container journalctl -u fake-gemini --no-pager -n 20)" ;;
    esac
}

# A drop-in pointing the service at the fake, then `systemctl enable --now`: returns once the
# daemon sent READY=1 (Type=notify), after its start-up scan.
check_service_start() {
    in_container mkdir -p /etc/systemd/system/coursegen.service.d
    in_container sh -c 'cat >/etc/systemd/system/coursegen.service.d/50-test.conf' <<DROPIN
# The systemd end-to-end test: the fake Gemini API on the container's loopback.
[Service]
Environment=COURSEGEN_BASE_URL=http://127.0.0.1:$PORT
Environment=COURSEGEN_CONCURRENCY=$CONCURRENCY
DROPIN
    in_container systemctl daemon-reload
    in_container systemctl enable --now coursegen.service >"$WORK/enable.log" 2>&1 ||
        fail "systemctl enable --now coursegen failed: $(cat "$WORK/enable.log")"
    expect_equal "enabled" "$(in_container systemctl is-enabled coursegen.service)" enabled
    expect_equal "state after start" "$(unit_property coursegen ActiveState)/$(unit_property coursegen SubState)" \
        active/running
    observe_status
    expect_equal "status text right after start" "$STATUS" "Watching $INBOX: 0 courses up to date"
    expect_equal "watchdog" "$(unit_property coursegen WatchdogUSec)" 30s
    [[ $(unit_property coursegen Environment) != *"$KEY"* ]] || fail "the API key is in the unit's environment"
    expect_equal "VERSION= of the daemon's start line" \
        "$(unit_journal_json coursegen _PID="$(unit_property coursegen MainPID)" MESSAGE=watching | jq -r .VERSION)" \
        "$(in_container "$PROGRAM" --version)"
    say "coursegen.service is enabled and running (Type=notify, main PID $(unit_property coursegen MainPID))"
}

# An author drops a 6-chapter outline; every chapter is generated (after one 503 each) and
# published, and the status tells the story.
check_first_outline() {
    drop_outline practical-rust.md "Practical Rust" "${RUST_TITLES[@]}"
    in_container setpriv --reuid coursegen --regid coursegen --init-groups test -r $INBOX/practical-rust.md ||
        fail "the coursegen user cannot read an outline an author wrote with umask 077"
    wait_until "the status to show practical-rust generating" 60 status_matches "Generating practical-rust: */6 chapters*"
    wait_until "$OUTPUT/practical-rust/SUMMARY.md" 120 published practical-rust
    wait_until "the status to show the course up to date" 30 status_matches "Watching $INBOX: 1 course up to date"
    check_published practical-rust "${RUST_TITLES[@]}"
    expect_equal "published chapter's mode and owner" \
        "$(in_container stat -c '%a %U:%G' "$OUTPUT/practical-rust/$(chapter_file 1 "${RUST_TITLES[0]}")")" \
        "640 coursegen:coursegen"
    in_container setpriv --reuid author --regid author --init-groups cat $OUTPUT/practical-rust/SUMMARY.md \
        >/dev/null || fail "the author cannot read what the service published"
    say "an author's outline became 6 chapters and SUMMARY.md, readable by the author"
    check_status_page practical-rust
}

# The author reads the course's status page without the journal; it says the course is up to
# date and never carries the API key.
check_status_page() {
    local course=$1 page
    wait_until "$OUTPUT/$course/STATUS.md to say up to date" 30 \
        in_container grep -q 'Phase: `up-to-date`' "$OUTPUT/$course/STATUS.md"
    page=$(in_container setpriv --reuid author --regid author --init-groups cat "$OUTPUT/$course/STATUS.md") ||
        fail "the author cannot read the status page of the course they dropped"
    [[ $page == *"**Up to date**"* ]] || fail "the status page does not say the course is up to date: $page"
    [[ $page != *"$KEY"* ]] || fail "the status page holds the API key"
    expect_equal "status page's mode and owner" \
        "$(in_container stat -c '%a %U:%G' "$OUTPUT/$course/STATUS.md")" "640 coursegen:coursegen"
    say "the author reads $course's status page: up to date, and no API key in it"
}

# The journal's fields and priorities for the first outline (jq, one problem a line). Every
# chapter's first attempt fails with a 503, so the circuit breaker opens after the first few and
# probes: a probe the API fails is the breaker's try, not the chapter's (no retry entry, its
# attempt not counted). So each chapter's ATTEMPT is one more than its own retry entries, and
# there are between one and six of those.
readonly JOURNAL_CHECKS='
def text: if . == null then "" else tostring end;
def number: text | test("^[0-9]+$");
def chapter_fields: ["OUTLINE", "CHAPTER", "CHAPTER_TITLE", "ATTEMPT", "HTTP_STATUS", "DURATION_MS",
    "CODE_FILE", "CODE_LINE"];
map(select(.OUTLINE == $outline)) as $entries
| ($entries | map(select(.MESSAGE == "chapter generated"))) as $generated
| ($entries | map(select(.MESSAGE == "chapter attempt failed, retrying"))) as $retries
| ($entries | map(select(.MESSAGE == "outline published"))) as $published
| [range(1; ($titles | length) + 1) | tostring] as $positions
| (if ($generated | length) != ($titles | length) then
        "\($generated | length) \"chapter generated\" entries, expected \($titles | length)" else empty end),
  (if ($generated | map(.CHAPTER | text) | sort_by(tonumber? // 0)) != $positions then
        "\"chapter generated\" entries for chapters \($generated | map(.CHAPTER)), expected \($positions)" else empty end),
  ($generated[] | . as $entry | (chapter_fields + ["TOKENS_IN", "TOKENS_OUT"])[]
        | select($entry[.] == null) | "\"chapter generated\" for chapter \($entry.CHAPTER | text) has no \(.)="),
  ($generated[] | select(.PRIORITY != "6")
        | "\"chapter generated\" for chapter \(.CHAPTER | text) has PRIORITY=\(.PRIORITY | text), expected 6"),
  ($generated[] | . as $entry | ($retries | map(select(.CHAPTER == $entry.CHAPTER)) | length) as $failed
        | select(.HTTP_STATUS != "200" or .ATTEMPT != ($failed + 1 | tostring))
        | "\"chapter generated\" for chapter \(.CHAPTER | text): HTTP_STATUS=\(.HTTP_STATUS | text) ATTEMPT=\(.ATTEMPT | text), expected 200 and \($failed + 1) (after \($failed) retry entries)"),
  ($generated[] | select((.CHAPTER | number) and .CHAPTER_TITLE != $titles[(.CHAPTER | tonumber) - 1])
        | "chapter \(.CHAPTER) has CHAPTER_TITLE=\(.CHAPTER_TITLE | text), expected \($titles[(.CHAPTER | tonumber) - 1])"),
  ($generated[] | select([.DURATION_MS, .TOKENS_IN, .TOKENS_OUT, .CODE_LINE] | all(number) | not)
        | "\"chapter generated\" for chapter \(.CHAPTER | text): DURATION_MS, TOKENS_IN, TOKENS_OUT, CODE_LINE must be numbers"),
  ($generated[] | select(.TOKENS_OUT | text | . == "0")
        | "\"chapter generated\" for chapter \(.CHAPTER | text) reports TOKENS_OUT=0"),
  ($entries[] | select(.CODE_FILE | text | test("\\.swift$") | not)
        | "\"\(.MESSAGE | text)\" has CODE_FILE=\(.CODE_FILE | text), expected a Swift file"),
  (if ($retries | length) < 1 or ($retries | length) > ($titles | length) * $failFirst then
        "\($retries | length) \"chapter attempt failed, retrying\" entries, expected 1 to \(($titles | length) * $failFirst)" else empty end),
  ($retries[] | . as $entry | chapter_fields[] | select($entry[.] == null)
        | "\"chapter attempt failed, retrying\" for chapter \($entry.CHAPTER | text) has no \(.)="),
  ($retries[] | select(.PRIORITY != "4" or .HTTP_STATUS != "503")
        | "a retry of chapter \(.CHAPTER | text) has PRIORITY=\(.PRIORITY | text) HTTP_STATUS=\(.HTTP_STATUS | text), expected 4 and 503"),
  (if ($published | length) != 1 or ($published[0].PRIORITY != "6") then
        "expected one \"outline published\" entry at PRIORITY 6, got \($published | map(.PRIORITY))" else empty end)
'

check_journal() {
    local json=$WORK/journal-coursegen.json problems titles count filtered
    unit_journal_json coursegen >"$json"
    titles=$(printf '%s\n' "${RUST_TITLES[@]}" | jq -R . | jq -sc .)
    problems=$(jq -rs --arg outline practical-rust --argjson titles "$titles" --argjson failFirst "$FAIL_FIRST" \
        "$JOURNAL_CHECKS" "$json") || fail "jq could not read the journal: $problems"
    [[ -z $problems ]] || fail "journal entries of coursegen.service:"$'\n'"$problems"

    count=$(jq -s 'map(select(.OUTLINE == "practical-rust")) | length' "$json")
    filtered=$(unit_journal_json coursegen OUTLINE=practical-rust | jq -s \
        'if all(.OUTLINE == "practical-rust") then length else "entries of other outlines" end')
    expect_equal "entries of 'journalctl -u coursegen OUTLINE=practical-rust'" "$filtered" "$count"
    count=$(jq -s 'map(select((.PRIORITY | tonumber) <= 4)) | length' "$json")
    filtered=$(unit_journal_json coursegen -p warning | jq -s \
        'if all((.PRIORITY | tonumber) <= 4) then length else "entries above warning" end')
    expect_equal "entries of 'journalctl -u coursegen -p warning'" "$filtered" "$count"
    ((count >= $(jq -s 'map(select(.MESSAGE == "chapter attempt failed, retrying")) | length' "$json"))) ||
        fail "'journalctl -p warning' lacks the retries"
    say "journal: one info entry per chapter, one warning per retry, with OUTLINE, CHAPTER," \
        "CHAPTER_TITLE, ATTEMPT, HTTP_STATUS, DURATION_MS, TOKENS_IN/OUT, CODE_FILE/LINE;" \
        "OUTLINE= and -p warning filter"
}

# The number of journal entries with MESSAGE=$1 among those journalctl arguments $2... select.
count_entries() {
    local message=$1
    shift
    in_container journalctl "$@" MESSAGE="$message" -o cat --no-pager | grep -c '' || true
}

check_reload() {
    local pid reloads
    pid=$(unit_property coursegen MainPID)
    reloads=$(count_entries "configuration reloaded" -u coursegen)
    in_container systemctl reload coursegen.service || fail "systemctl reload coursegen failed"
    wait_until "the daemon to log the reload" 30 reloaded_since "$reloads"
    expect_equal "state after reload" "$(unit_property coursegen ActiveState)" active
    expect_equal "main PID after reload" "$(unit_property coursegen MainPID)" "$pid"
    [[ -n $(in_container journalctl -u coursegen JOB_TYPE=reload JOB_RESULT=done -o cat --no-pager) ]] ||
        fail "systemd logged no finished reload job for coursegen"
    wait_until "the status after the reload" 30 status_matches "Watching $INBOX: 1 course up to date"
    say "reload: SIGHUP handled in the same process (PID $pid), still active, logged"
}

reloaded_since() {
    (($(count_entries "configuration reloaded" -u coursegen) > $1))
}

# Chapters as "COURSE / TITLE" from prompts, as jq functions over the fake's stats and the store.
readonly CHAPTER_OF_PROMPT='
def chapter: (capture("Course: (?<c>[^\n]*)").c) + " / " + (capture("Chapter to write: (?<t>[^\n]*)").t);
def by_chapter: .byPrompt | to_entries | map({key: (.key | chapter), value}) | from_entries;
'

# kill -9 mid-generation: systemd restarts the daemon, which finishes the outline without asking
# again for any chapter whose answer was stored before the kill.
check_kill_and_restart() {
    local old_pid new_pid restarts stored total needed problems course="Systems Programming in Go"
    old_pid=$(unit_property coursegen MainPID)
    restarts=$(unit_property coursegen NRestarts)
    drop_outline systems-go.md "$course" "${GO_TITLES[@]}"
    wait_until "systems-go to have 2 chapters ready" 60 generating_with_ready systems-go 2
    in_container kill -KILL "$old_pid"
    wait_until "systemd to see the main process die" 30 main_pid_is_not "$old_pid"
    # Every request the dead process sent is counted once the fake has read its connections to
    # their end; only this script's own curl connection stays open.
    wait_until "the dead process's connections to close" 30 fake_connections_at_most 1
    fake_stats >"$WORK/stats-at-kill.json"
    in_container find "$STORE" -name '*.json' -exec cat {} + | jq -s "$CHAPTER_OF_PROMPT"'map(.text | chapter)' \
        >"$WORK/stored-at-kill.json"
    # The snapshot must show the dead process's work only.
    expect_equal "restart state during the snapshot" \
        "$(unit_property coursegen SubState)/$(unit_property coursegen NRestarts)" "auto-restart/$restarts"
    # Chapters are published as they arrive: at the kill SUMMARY.md must still list a draft,
    # `- [Title]()`, a chapter not written yet.
    in_container test ! -e "$OUTPUT/systems-go/SUMMARY.md" ||
        in_container grep -q '\]()$' "$OUTPUT/systems-go/SUMMARY.md" ||
        fail "systems-go was complete before the kill: the fake's latency no longer holds it mid-generation"
    stored=$(jq --arg course "$course" 'map(select(startswith($course + " / "))) | length' "$WORK/stored-at-kill.json")

    wait_until "systemd to restart coursegen" 60 restarted_after "$old_pid"
    new_pid=$(unit_property coursegen MainPID)
    expect_equal "NRestarts after the kill" "$(unit_property coursegen NRestarts)" "$((restarts + 1))"
    wait_until "$OUTPUT/systems-go/SUMMARY.md" 120 published systems-go
    wait_until "the status to show both courses up to date" 30 status_matches "Watching $INBOX: 2 courses up to date"
    check_published systems-go "${GO_TITLES[@]}"
    fake_stats >"$WORK/stats-after-restart.json"

    # Per chapter: stored at the kill -> no request since; otherwise at most one request more than
    # it would have needed anyway (the one in flight at the kill). The total follows.
    problems=$(jq -rn --arg course "$course" --argjson chapters "${#GO_TITLES[@]}" --argjson failFirst "$FAIL_FIRST" \
        --argjson concurrency "$CONCURRENCY" \
        --slurpfile stored "$WORK/stored-at-kill.json" --slurpfile before "$WORK/stats-at-kill.json" \
        --slurpfile after "$WORK/stats-after-restart.json" "$CHAPTER_OF_PROMPT"'
        ($before[0] | by_chapter) as $b | ($after[0] | by_chapter) as $a
        | [$a | keys[] | select(startswith($course + " / "))] as $mine
        | ([$mine[] | $a[.]] | add) as $total
        | def stored: . as $chapter | any($stored[0][]; . == $chapter);
          ($mine[] | select(stored) | select($a[.] != $b[.])
            | "\(.): stored before the kill, yet requested \($a[.] - $b[.]) more time(s) after it"),
          ($mine[] | select(stored | not) | select($a[.] > ([$failFirst + 1, ($b[.] // 0) + 1] | max))
            | "\(.): \($a[.]) requests, \($b[.] // 0) before the kill: more than one repeated"),
          (if ($mine | length) != $chapters then "requests for \($mine | length) chapters, expected \($chapters)" else empty end),
          (if $total > $chapters * ($failFirst + 1) + $concurrency then
              "\($total) requests for \($chapters) chapters: more than \($chapters * ($failFirst + 1)) plus \($concurrency) in flight at the kill"
           else empty end)') || fail "jq could not compare the fake's counters: $problems"
    [[ -z $problems ]] || fail "requests after the kill -9:"$'\n'"$problems"
    total=$(jq --arg course "$course" "$CHAPTER_OF_PROMPT"'by_chapter | to_entries
        | map(select(.key | startswith($course + " / ")) | .value) | add' "$WORK/stats-after-restart.json")

    needed=$(unit_journal_json coursegen _PID="$new_pid" OUTLINE=systems-go MESSAGE="generating chapters" |
        jq -rs 'map(.CHAPTERS) | join(",")')
    expect_equal "chapters the restarted daemon generates for systems-go" "$needed" "$((${#GO_TITLES[@]} - stored))"
    say "kill -9 of PID $old_pid with $stored of ${#GO_TITLES[@]} chapters stored: restarted as PID $new_pid" \
        "(NRestarts $((restarts + 1))), which requested only the other $needed; $total requests in all" \
        "(${#GO_TITLES[@]} chapters x $((FAIL_FIRST + 1)) attempts = $((${#GO_TITLES[@]} * (FAIL_FIRST + 1))) without the kill)"
}

main_pid_is_not() {
    [[ $(unit_property coursegen MainPID) != "$1" ]]
}

restarted_after() {
    local pid
    pid=$(unit_property coursegen MainPID)
    [[ $pid != 0 && $pid != "$1" && $(unit_property coursegen ActiveState) == active ]]
}

fake_connections_at_most() {
    (($(fake_stats | jq .openConnections) <= $1))
}

# systemctl stop while an outline generates: no request is sent after SIGTERM (one already on its
# way may arrive); the answers in flight are stored and published; the status page says the
# course stopped (or is up to date, if every answer was in); a clean exit within TimeoutStopSec;
# and the next start writes the rest, asking only for chapters never answered.
check_stop() {
    local started elapsed timeout pid before after
    drop_outline shell-basics.md "Shell Basics" "${SHELL_TITLES[@]}"
    wait_until "the status to show shell-basics generating" 60 status_matches "Generating shell-basics: */3 chapters*"
    timeout=$(unit_property coursegen TimeoutStopUSec)
    pid=$(unit_property coursegen MainPID)
    started=$EPOCHREALTIME
    in_container systemctl stop --no-block coursegen.service || fail "systemctl stop coursegen failed"
    before=$(fake_stats | jq .requests)
    wait_until "coursegen to stop" 40 unit_is inactive
    after=$(fake_stats | jq .requests)
    elapsed=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    expect_equal "result of stop" "$(unit_property coursegen Result)" success
    expect_equal "exit status after stop" "$(unit_property coursegen ExecMainStatus)" 0
    expect_equal "TimeoutStopSec" "$timeout" 30s
    awk -v e="$elapsed" 'BEGIN { exit !(e < 30) }' || fail "systemctl stop took ${elapsed}s, above TimeoutStopSec=30s"
    ((after - before <= 1)) || fail "$((after - before)) requests reached the API after SIGTERM (at most one already on its way may)"
    # By _PID: journald may not attribute a message to the unit once its sender has exited.
    (($(count_entries stopped _PID="$pid") == 1)) || fail "the daemon did not log 'stopped'"
    in_container grep -Eq 'Phase: `(stopped|up-to-date)`' "$OUTPUT/shell-basics/STATUS.md" ||
        fail "the status page does not say the course stopped: $(in_container cat "$OUTPUT/shell-basics/STATUS.md")"
    in_container systemctl start coursegen.service || fail "systemctl start coursegen failed"
    wait_until "shell-basics to be published whole after the restart" 90 published shell-basics
    check_published shell-basics "${SHELL_TITLES[@]}"
    say "stop during generation: $((after - before)) requests after SIGTERM, exit 0, Result=success, ${elapsed}s" \
        "(TimeoutStopSec=$timeout); the restart wrote the rest"
}

unit_is() {
    [[ $(unit_property coursegen ActiveState) == "$1" ]]
}

# Nothing in the output but published files (chapters, SUMMARY.md, STATUS.md, book.toml): no temporary or partial file anywhere.
check_output_is_clean() {
    local stray
    stray=$(in_container find $OUTPUT -mindepth 1 -type f ! -regex "$OUTPUT/[a-z-]+/\([0-9][0-9]-[a-z-]+\.md\|SUMMARY\.md\|STATUS\.md\|book\.toml\)")
    [[ -z $stray ]] || fail "files in the output that are not published chapters:"$'\n'"$stray"
    check_published practical-rust "${RUST_TITLES[@]}"
    check_published systems-go "${GO_TITLES[@]}"
    check_published shell-basics "${SHELL_TITLES[@]}"
    say "the output holds only complete chapter files, SUMMARY.md and book.toml"
}

check_key_absent() {
    local hits
    hits=$(in_container journalctl -b --all -o export --no-pager | grep -caF "$KEY" || true)
    expect_equal "journal entries holding the API key" "$hits" 0
    say "the API key appears nowhere in the container's journal"
}

check_security_exposure() {
    local line exposure
    line=$(in_container systemd-analyze security coursegen.service | tail -n 1)
    exposure=$(sed -n 's/.*coursegen.service: \([0-9.]*\) .*/\1/p' <<<"$line")
    [[ -n $exposure ]] || fail "cannot read the exposure from: $line"
    say "systemd-analyze security: $line"
    awk -v e="$exposure" 'BEGIN { exit !(e <= 2.5) }' || fail "exposure $exposure is above 2.5"
}

check_uninstall() {
    in_container "$(container_path "$WORK/share/repo/scripts/install.sh")" uninstall >>"$WORK/install.log" 2>&1 ||
        fail "install.sh uninstall failed: $(cat "$WORK/install.log")"
    in_container test ! -e "$PROGRAM" || fail "uninstall left the binary"
    in_container test ! -e "$UNIT_FILE" || fail "uninstall left the unit"
    in_container test -e /etc/coursegen/config.yaml || fail "uninstall removed the config"
    in_container test -e /etc/coursegen/gemini-api-key || fail "uninstall removed the API key"
    in_container test -e $INBOX/practical-rust.md || fail "uninstall removed the inbox"
    in_container test -e $OUTPUT/practical-rust/SUMMARY.md || fail "uninstall removed the output"
    in_container test -d "$STORE" || fail "uninstall removed the state"
    say "uninstall removes the program and units and keeps config, key, state and data"
}

# dpkg -i of the same package over itself, as an upgrade: an edited /etc/coursegen/config.yaml
# stays as the administrator left it (dpkg's conffile handling); a running service is restarted
# onto the new files, a stopped one stays stopped.
check_package_upgrade() {
    local edit pid
    edit="# edited by the systemd test $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    in_container sh -c "echo '$edit' >>/etc/coursegen/config.yaml"
    expect_equal "coursegen before the upgrade" "$(unit_property coursegen ActiveState)" active
    pid=$(unit_property coursegen MainPID)
    in_container dpkg -i "$(container_path "$DEB")" >>"$WORK/dpkg.log" 2>&1 ||
        fail "dpkg -i over the installed package failed: $(cat "$WORK/dpkg.log")"
    expect_equal "last line of /etc/coursegen/config.yaml after the upgrade" \
        "$(in_container tail -n 1 /etc/coursegen/config.yaml)" "$edit"
    expect_equal "config mode and owner after the upgrade" \
        "$(in_container stat -c '%a %U:%G' /etc/coursegen/config.yaml)" "640 root:coursegen"
    expect_equal "dpkg's copies beside the config" "$(in_container find /etc/coursegen -name '*.dpkg-*')" ""
    wait_until "coursegen to be active again after the upgrade" 30 unit_is active
    [[ $(unit_property coursegen MainPID) != "$pid" ]] || fail "the upgrade did not restart the running service"
    wait_until "the status after the upgrade" 30 status_matches "Watching $INBOX: 3 courses up to date"
    in_container systemctl stop coursegen.service
    in_container dpkg -i "$(container_path "$DEB")" >>"$WORK/dpkg.log" 2>&1 ||
        fail "dpkg -i over the installed package failed: $(cat "$WORK/dpkg.log")"
    expect_equal "a stopped coursegen after the upgrade" \
        "$(unit_property coursegen ActiveState)/$(in_container systemctl is-enabled coursegen.service)" inactive/enabled
    say "upgrade: the edited config kept, the running service restarted (PID $pid -> new), a stopped one left stopped"
}

# dpkg -r stops the service and removes the program, keeping config, key, state and courses;
# dpkg -P then removes the configuration, and still keeps the state, the courses and the user.
check_package_remove() {
    in_container systemctl start coursegen.service
    in_container dpkg -r coursegen >>"$WORK/dpkg.log" 2>&1 || fail "dpkg -r coursegen failed: $(cat "$WORK/dpkg.log")"
    expect_equal "coursegen.service after dpkg -r" "$(unit_property coursegen ActiveState)" inactive
    expect_equal "package state after dpkg -r" "$(in_container dpkg-query -W -f '${Status}' coursegen)" \
        "deinstall ok config-files"
    local path
    for path in "$PROGRAM" "$UNIT_FILE" /usr/share/man/man1/coursegen.1.gz; do
        in_container test ! -e "$path" || fail "dpkg -r left $path"
    done
    check_kept "dpkg -r" /etc/coursegen/config.yaml /etc/coursegen/gemini-api-key
    in_container dpkg -P coursegen >>"$WORK/dpkg.log" 2>&1 || fail "dpkg -P coursegen failed: $(cat "$WORK/dpkg.log")"
    for path in /etc/coursegen /etc/systemd/system/coursegen.service.d \
        /etc/systemd/system/multi-user.target.wants/coursegen.service; do
        in_container test ! -e "$path" -a ! -L "$path" || fail "dpkg -P left $path"
    done
    check_kept "dpkg -P"
    in_container getent passwd coursegen >/dev/null || fail "dpkg -P removed the coursegen user"
    say "dpkg -r stopped the service and kept config, key, state and courses;" \
        "dpkg -P removed /etc/coursegen, the drop-ins and the enable link and kept state, courses and user"
}

# Fails unless the state, the inbox, every published course and the files $2... are still there
# after $1.
check_kept() {
    local what=$1 path course
    shift
    for path in "$@" "$STORE" "$INBOX/practical-rust.md"; do
        in_container test -e "$path" || fail "$what removed $path"
    done
    (($(in_container find "$STORE" -type f | grep -c '') > 0)) || fail "$what emptied the state folder $STORE"
    for course in practical-rust systems-go shell-basics; do
        in_container test -e "$OUTPUT/$course/SUMMARY.md" || fail "$what removed the course $OUTPUT/$course"
    done
}

# The container's path for a file here: the same path (the host's root is the container's
# lower layer), except files in $WORK/share, which the container sees under /run/host/share.
container_path() {
    if [[ $1 == "$WORK/share/"* ]]; then
        echo "/run/host/share/${1#"$WORK/share/"}"
    else
        echo "$1"
    fi
}

# ---------------------------------------------------------------------------------------------

KEEP=0
BINARY=$REPO/.build/debug/coursegen
FAKE=$REPO/.build/debug/fake-gemini
DEB=
DEB_VERSION=
# Folders the container hides behind an empty tmpfs.
HIDDEN=()
# Where the installation puts the program and the system unit: install.sh's default prefix, or
# the package's /usr.
PROGRAM=/usr/local/bin/coursegen
UNIT_FILE=/usr/local/lib/systemd/system/coursegen.service

main() {
    while (($#)); do
        case $1 in
        --binary | --fake | --package)
            (($# >= 2)) || fail "$1 needs a path"
            case $1 in
            --binary) BINARY=$2 ;;
            --fake) FAKE=$2 ;;
            --package) DEB=$2 ;;
            esac
            shift 2
            ;;
        --keep)
            KEEP=1
            shift
            ;;
        *) fail "unknown argument '$1' (expected --binary PATH, --package DEB, --fake PATH or --keep)" ;;
        esac
    done
    preflight
    if [[ -n $DEB ]]; then
        [[ -f $DEB ]] || fail "no package at $DEB: build one with scripts/package.sh"
        DEB_VERSION=$(dpkg-deb -f "$DEB" Version) || fail "dpkg-deb cannot read $DEB"
        [[ -d /opt/swift ]] || fail "no /opt/swift here: the test hides the toolchain there, so it would prove nothing"
        HIDDEN=(/opt/swift)
        PROGRAM=/usr/bin/coursegen
        UNIT_FILE=/usr/lib/systemd/system/coursegen.service
    else
        [[ -x $BINARY ]] || fail "no coursegen executable at $BINARY: run 'swift build --build-tests' first, or pass --binary PATH"
    fi
    [[ -x $FAKE ]] || fail "no fake-gemini executable at $FAKE: run 'swift build --build-tests' first, or pass --fake PATH"
    trap cleanup EXIT
    trap 'exit 1' INT TERM
    trap 'fail "line $LINENO: \"$BASH_COMMAND\" exited with status $?"' ERR
    boot_systemd
    # Copies in $WORK/share: the container has its own /tmp, where the originals (the binaries,
    # or this whole checkout, as in a CI clone under /tmp) may be.
    cp "$FAKE" "$WORK/share/fake-gemini"
    if [[ -n $DEB ]]; then
        cp "$DEB" "$WORK/share/"
        DEB=$WORK/share/$(basename "$DEB")
        # The fake is a debug build linked to the toolchain's runtime, which the container hides:
        # it gets a copy of the libraries it needs, through LD_LIBRARY_PATH of its own unit only.
        mkdir "$WORK/share/fake-runtime"
        ldd "$FAKE" | awk '$3 ~ "^/opt/swift/" { print $3 }' | xargs -r cp -t "$WORK/share/fake-runtime"
        check_package_install
    else
        cp "$BINARY" "$WORK/share/coursegen"
        mkdir -p "$WORK/share/repo/Sources/Generation/Prompt" "$WORK/share/repo/docs"
        cp -R "$REPO/scripts" "$REPO/systemd" "$WORK/share/repo/"
        # install.sh also installs the built-in prompt templates, the manual page and the README.
        cp -R "$REPO/Sources/Generation/Prompt/Templates" "$WORK/share/repo/Sources/Generation/Prompt/"
        cp "$REPO/docs/coursegen.1" "$WORK/share/repo/docs/"
        cp "$REPO/README.md" "$WORK/share/repo/"
        check_install
    fi
    start_fake_gemini
    check_service_start
    check_first_outline
    check_journal
    check_reload
    check_kill_and_restart
    check_stop
    check_output_is_clean
    check_key_absent
    check_security_exposure
    if [[ -n $DEB ]]; then
        check_package_upgrade
        check_package_remove
    else
        check_uninstall
    fi
    poweroff_systemd
    say "PASSED in ${SECONDS}s"
}

if [[ ${1:-} == __container-init ]]; then
    shift
    container_init "$@"
else
    main "$@"
fi
