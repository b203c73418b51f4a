#!/usr/bin/env bash
# End-to-end test of coursegen under a real systemd (issue 5).
#
# Boots systemd as PID 1 of a throwaway container made from this machine's own root filesystem,
# installs coursegen into it with scripts/install.sh and checks the service there.
#
#   scripts/systemd-test.sh [--binary PATH] [--probe PATH] [--keep]
#
#   --binary PATH  the coursegen executable to install (default: a perl stand-in speaking the
#                  sd_notify protocol as the daemon will, see write_stand_in_daemon)
#   --probe PATH   a Swift executable run once under the unit's exact sandbox (default:
#                  .build/debug/coursegen when built), to catch hardening the runtime cannot bear
#   --keep         keep the work folder (boot log, the container's journal on failure) in /tmp
#
# Exit status: 0 passed, 1 failed, 77 skipped (systemd cannot boot here; the reason is printed).
# Needs root, unshare/nsenter/setpriv/findmnt (util-linux), perl, overlayfs and cgroup2. Boot
# takes about half a second here, the whole run a few seconds.
#
# How the container works (boot_systemd, container_init):
# - `unshare --pid --fork --mount --propagation private --mount-proc --cgroup --net --uts --ipc`
#   starts this script again as PID 1 of new namespaces (`__container-init`).
# - Root: an overlay whose lower layer is the host's `/` and whose upper layer is a tmpfs, so the
#   installer, systemd-sysusers and systemd-tmpfiles may write anywhere (/usr/local, /etc, /srv,
#   /var) and everything vanishes at power-off. Host submounts (/proc, /sys, /dev, /tmp if it is
#   one) are not part of an overlay's lower layer, so the container gets its own:
#   /proc (its PID namespace, /proc/sys and sysrq-trigger read-only, so no sysctl reaches the host
#   kernel), /sys read-only with a cgroup2 mount that only shows the container's cgroup namespace,
#   a tmpfs /dev with the usual nodes and a private devpts (its /dev/console is a file in the work
#   folder, so nothing reaches the host's console), tmpfs /run and /tmp. A private /tmp is
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
#   network configuration. Services under test talk to fakes on 127.0.0.1 inside the container.
# - systemd boots `coursegen-test.target` (sysinit + sockets only: journald, tmpfiles, sysusers),
#   not the host's default target, so no getty, postgres, timers or networking start.
# - Readiness is an event: systemd in a container sends READY=1 to $NOTIFY_SOCKET when start-up
#   is complete; the socket is bound here (a small perl listener) and bind-mounted into the
#   container at /run/host/notify, as systemd-nspawn does.
# - / is made shared (within the container only: its namespace was created private), as
#   systemd-nspawn does; otherwise services' credentials (LoadCredential=) never appear.
# - /run/host/share in the container is $WORK/share here: a way to pass files both ways.
# - Power-off: `systemctl poweroff` inside; systemd-shutdown's final reboot(2) ends the PID
#   namespace; then the cgroup is removed. A watchdog SIGKILLs the container's PID 1 (which ends
#   every process in its PID namespace) if power-off takes too long.
#
# To add a check: write a `check_*` function that uses `in_container CMD...`, `unit_property`,
# `expect_equal` and `fail`, and call it from `main` between boot_systemd and poweroff_systemd.
# The container's PID 1 is $NS_PID (as seen here); in_container runs a command in all its
# namespaces: `in_container systemctl status coursegen`, `in_container journalctl -u coursegen`.

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
    say "FAIL: $*"
    # The container's journal dies with it: keep a copy for the post-mortem.
    if [[ -n $NS_PID && -n $WORK ]]; then
        in_container journalctl -b --no-pager -o short-monotonic >"$WORK/journal.txt" 2>&1 || true
        say "the container's journal is in $WORK/journal.txt"
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

# Says why systemd cannot boot here (and exits 77), or returns when it probably can.
preflight() {
    [[ $(id -u) == 0 ]] || skip "must run as root (unshare of PID and mount namespaces, mounts)"
    local tool
    for tool in unshare nsenter setpriv findmnt perl /lib/systemd/systemd; do
        command -v "$tool" >/dev/null || skip "$tool is not available"
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
        set +e
        sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CGROUP" \
            unshare --pid --fork --kill-child --mount --propagation private --mount-proc \
            --cgroup --net --uts --ipc -- "$SELF" __container-init "$WORK"
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
# Checks

# Fails the test with $1 unless "$2" equals "$3".
expect_equal() {
    [[ $2 == "$3" ]] || fail "$1: expected '$3', got '$2'"
}

# The value of one property of a unit (systemctl show -p NAME --value).
unit_property() {
    in_container systemctl show -p "$2" --value "$1"
}

# The journal entries of unit $1, one JSON object a line (for jq). --all matters: without it
# journalctl prints every field longer than 4096 bytes as null.
unit_journal_json() {
    in_container journalctl --all -u "$1" -o json --no-pager
}

# Writes a stand-in for `coursegen watch` to $1: a small perl daemon speaking the sd_notify
# protocol the way the daemon will (READY=1 once it has read its credential, its config and the
# outlines in the inbox and written to its state folder and the output; WATCHDOG=1 at half
# WATCHDOG_USEC; RELOADING=1 with MONOTONIC_USEC then READY=1 on SIGHUP; STOPPING=1 on SIGTERM).
# It proves the unit's sandbox leaves the daemon every access it needs.
write_stand_in_daemon() {
    cat >"$1" <<'PERL'
#!/usr/bin/perl
use strict;
use warnings;
use Socket;
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);

$| = 1;
my $socket_path = $ENV{NOTIFY_SOCKET} or die "NOTIFY_SOCKET is not set\n";
$socket_path =~ s/^@/\0/;
socket(my $socket, AF_UNIX, SOCK_DGRAM, 0) or die "socket: $!\n";
sub notify { send($socket, join("\n", @_) . "\n", 0, pack_sockaddr_un($socket_path)) or die "notify: $!\n" }

my $key_file = "$ENV{CREDENTIALS_DIRECTORY}/gemini-api-key";
open(my $key, '<', $key_file) or die "cannot read the credential $key_file: $!\n";
my %options = @ARGV[1 .. $#ARGV];
my $config = $options{'--config'} or die "no --config given\n";
open(my $yaml, '<', $config) or die "cannot read $config: $!\n";
opendir(my $inbox, '/srv/coursegen/inbox') or die "cannot list the inbox: $!\n";
my $outlines = 0;
for my $name (grep { !/^\./ } readdir($inbox)) {
    open(my $outline, '<', "/srv/coursegen/inbox/$name") or die "cannot read the outline $name: $!\n";
    $outlines++;
}
open(my $state, '>', "$ENV{STATE_DIRECTORY}/stand-in") or die "cannot write in the state folder: $!\n";
open(my $chapter, '>', '/srv/coursegen/output/stand-in.md') or die "cannot write in the output: $!\n";
print $chapter "# A chapter\n";
close($chapter);
print "stand-in: credential, config, inbox, state and output are usable\n";

my $reloads = 0;
$SIG{HUP} = sub {
    my $now = int(clock_gettime(CLOCK_MONOTONIC) * 1_000_000);
    notify("RELOADING=1", "MONOTONIC_USEC=$now", "STATUS=Reloading");
    $reloads++;
    notify("READY=1", "STATUS=Watching /srv/coursegen/inbox (stand-in, reloaded $reloads times)");
};
$SIG{TERM} = sub { notify("STOPPING=1", "STATUS=Stopping"); exit 0 };
notify("READY=1", "STATUS=Watching /srv/coursegen/inbox (stand-in): $outlines outlines readable");
my $ping = ($ENV{WATCHDOG_USEC} // 0) / 2_000_000;
while (1) {
    if ($ping > 0) { select(undef, undef, undef, $ping); notify("WATCHDOG=1") } else { sleep }
}
PERL
    chmod 0755 "$1"
}

# Installs with scripts/install.sh as an admin would (sysusers, tmpfiles, daemon-reload) and
# adds the API key.
check_install() {
    local binary=$1
    in_container "$REPO/scripts/install.sh" --binary "$binary" >"$WORK/install.log" 2>&1 ||
        fail "install.sh failed: $(cat "$WORK/install.log")"
    in_container getent passwd coursegen >/dev/null || fail "install.sh did not create the coursegen user"
    expect_equal "inbox mode and owner" "$(in_container stat -c '%a %U:%G' /srv/coursegen/inbox)" \
        "2775 coursegen:coursegen"
    expect_equal "output mode and owner" "$(in_container stat -c '%a %U:%G' /srv/coursegen/output)" \
        "2750 coursegen:coursegen"
    expect_equal "config mode and owner" "$(in_container stat -c '%a %U:%G' /etc/coursegen/config.yaml)" \
        "640 root:coursegen"
    in_container sh -c 'umask 077 && echo test-key-not-a-secret >/etc/coursegen/gemini-api-key'
    in_container systemd-analyze verify /usr/local/lib/systemd/system/coursegen.service ||
        fail "systemd-analyze verify rejects the installed system unit"
    say "installed: user, group, folders and units in place; the unit verifies"
}

# An author (a member of the group, not root) drops an outline the service can read, even with a
# private umask.
check_author_can_drop_outline() {
    in_container useradd --create-home --groups coursegen author
    in_container setpriv --reuid author --regid author --init-groups \
        sh -c 'umask 077 && printf "# A course\n" >/srv/coursegen/inbox/a-course.md' ||
        fail "a member of the coursegen group cannot write to the inbox"
    in_container setpriv --reuid coursegen --regid coursegen --init-groups \
        cat /srv/coursegen/inbox/a-course.md >/dev/null ||
        fail "the coursegen user cannot read an outline an author wrote with umask 077"
    say "an author in the coursegen group drops outlines the service can read"
}

check_service_lifecycle() {
    in_container systemctl start coursegen.service ||
        fail "coursegen.service did not start: $(in_container journalctl -u coursegen --no-pager -n 30)"
    expect_equal "state after start" "$(unit_property coursegen ActiveState)" active
    expect_equal "status text" "$(unit_property coursegen StatusText)" \
        "Watching /srv/coursegen/inbox (stand-in): 1 outlines readable"
    expect_equal "watchdog" "$(unit_property coursegen WatchdogUSec)" 30s
    expect_equal "output file mode and group" \
        "$(in_container stat -c '%a %U:%G' /srv/coursegen/output/stand-in.md)" "640 coursegen:coursegen"
    in_container setpriv --reuid author --regid author --init-groups cat /srv/coursegen/output/stand-in.md \
        >/dev/null || fail "an author cannot read what the service wrote to the output"

    in_container systemctl reload coursegen.service || fail "systemctl reload failed"
    # kill -HUP returns before the daemon handles it; READY=1 with the new status ends the reload.
    local status deadline=$((SECONDS + 10))
    until status=$(unit_property coursegen StatusText) && [[ $status == *"reloaded 1 times"* ]]; do
        ((SECONDS < deadline)) || fail "the reload did not reach the service (status: $status)"
        sleep 0.1
    done
    expect_equal "state after reload" "$(unit_property coursegen ActiveState)" active

    in_container systemctl stop coursegen.service
    expect_equal "result of stop" "$(unit_property coursegen Result)" success
    expect_equal "state after stop" "$(unit_property coursegen ActiveState)" inactive
    say "start (READY=1, STATUS=), reload (SIGHUP, RELOADING=1) and stop work;" \
        "the sandboxed service reads an author's outline and writes group-readable output"
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
    in_container "$REPO/scripts/install.sh" uninstall >>"$WORK/install.log" 2>&1 ||
        fail "install.sh uninstall failed: $(cat "$WORK/install.log")"
    in_container test ! -e /usr/local/bin/coursegen || fail "uninstall left the binary"
    in_container test ! -e /usr/local/lib/systemd/system/coursegen.service || fail "uninstall left the unit"
    in_container test -e /etc/coursegen/config.yaml || fail "uninstall removed the config"
    in_container test -e /etc/coursegen/gemini-api-key || fail "uninstall removed the API key"
    in_container test -e /srv/coursegen/inbox/a-course.md || fail "uninstall removed the inbox"
    expect_equal "unit after uninstall" "$(unit_property coursegen LoadState)" not-found
    say "uninstall removes the program and units and keeps config, key and data"
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

# Runs a Swift executable under exactly the installed unit's sandbox (user, namespaces, seccomp
# filter, MemoryDenyWriteExecute, ProcSubset...) as a oneshot, to catch a hardening option the
# Swift runtime cannot live with before the real daemon meets it.
check_swift_runtime_in_sandbox() {
    local probe=/usr/local/lib/coursegen-probe
    in_container install -m 0755 "$1" "$probe"
    in_container sh -c "sed -e 's|^ExecStart=.*|ExecStart=$probe --help|' -e 's|^Type=.*|Type=oneshot|' \
        -e '/^WatchdogSec=/d' -e '/^ExecReload=/d' -e '/^Restart/d' \
        /usr/local/lib/systemd/system/coursegen.service >/run/systemd/system/coursegen-probe.service"
    in_container systemctl daemon-reload
    if ! in_container systemctl start coursegen-probe.service; then
        fail "$probe does not run under the unit's sandbox: $(in_container journalctl -u coursegen-probe --no-pager -n 30)"
    fi
    expect_equal "probe result" "$(unit_property coursegen-probe Result)" success
    in_container rm /run/systemd/system/coursegen-probe.service "$probe"
    in_container systemctl daemon-reload
    say "the Swift runtime ($1) runs under the unit's sandbox"
}

# ---------------------------------------------------------------------------------------------

KEEP=0
BINARY=
PROBE=

main() {
    while (($#)); do
        case $1 in
        --binary | --probe)
            (($# >= 2)) || fail "$1 needs a path"
            [[ -x $2 ]] || fail "$1 $2: no executable there"
            if [[ $1 == --binary ]]; then BINARY=$(readlink -f "$2"); else PROBE=$(readlink -f "$2"); fi
            shift 2
            ;;
        --keep)
            KEEP=1
            shift
            ;;
        *) fail "unknown argument '$1' (expected --binary PATH, --probe PATH or --keep)" ;;
        esac
    done
    if [[ -z $PROBE && -x $REPO/.build/debug/coursegen ]]; then PROBE=$REPO/.build/debug/coursegen; fi
    preflight
    trap cleanup EXIT
    trap 'exit 1' INT TERM
    trap 'say "FAIL: line $LINENO: \"$BASH_COMMAND\" exited with status $?"' ERR
    boot_systemd
    # Copies in $WORK/share: the container has its own /tmp, where the originals may be.
    if [[ -z $BINARY ]]; then
        write_stand_in_daemon "$WORK/share/coursegen"
        say "installing a stand-in daemon (pass --binary to install the real one)"
    else
        cp "$BINARY" "$WORK/share/coursegen"
    fi
    BINARY=$WORK/share/coursegen
    if [[ -n $PROBE ]]; then
        cp "$PROBE" "$WORK/share/probe"
        PROBE=$WORK/share/probe
    fi
    check_install "$(container_path "$BINARY")"
    check_author_can_drop_outline
    check_service_lifecycle
    check_security_exposure
    if [[ -n $PROBE ]]; then
        check_swift_runtime_in_sandbox "$(container_path "$PROBE")"
    else
        say "no Swift binary to probe the sandbox with (build first, or pass --probe PATH)"
    fi
    check_uninstall
    poweroff_systemd
    say "PASSED"
}

if [[ ${1:-} == __container-init ]]; then
    container_init "$2"
else
    main "$@"
fi
