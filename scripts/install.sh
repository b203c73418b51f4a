#!/usr/bin/env bash
# Installs coursegen as a systemd service, or removes it again.
#
#   scripts/install.sh [install] [--prefix DIR] [--destdir DIR] [--no-build] [--binary FILE] [--no-strip]
#   scripts/install.sh uninstall [--prefix DIR] [--destdir DIR]
#
#   --prefix DIR   where the binary and the systemd files go (default /usr/local): DIR/bin/coursegen,
#                  and for /usr or /usr/local DIR/lib/systemd/{system,user}, DIR/lib/sysusers.d,
#                  DIR/lib/tmpfiles.d; for any other prefix, which systemd does not search, the
#                  matching folders under /etc. The configuration is always /etc/coursegen.
#   --destdir DIR  stage every file under DIR (for packagers): nothing is activated, and the units
#                  still name the final paths.
#   --no-build     install the binary already built at .build-release/release/coursegen
#   --binary FILE  install FILE as the binary (implies --no-build)
#   --no-strip     install the binary with its symbols and debug information (164 MB instead of
#                  83 MB): crash backtraces in the journal then name functions, not only addresses
#
# install builds `swift build -c release --product coursegen --static-swift-stdlib` (in
# .build-release, the scratch path scripts/benchmark.sh and scripts/package.sh share), installs
# the binary, the system and user units (ExecStart= pointing at the installed binary), the
# sysusers.d and tmpfiles.d entries, the manual page (PREFIX/share/man/man1/coursegen.1), the
# READMEs, the example config and the built-in prompt templates under PREFIX/share/doc/coursegen,
# the example config again as /etc/coursegen/config.yaml only when that file is absent (it is
# never overwritten) and then, unless staging into a destdir, runs systemd-sysusers,
# systemd-tmpfiles --create and systemctl daemon-reload, skipping with a message whatever is
# unavailable.
#
# uninstall stops and disables the system service and removes what install put in place, but
# keeps the configuration and API key (/etc/coursegen), the state (/var/lib/coursegen), the inbox
# and output (/srv/coursegen) and the coursegen user and group.

set -euo pipefail

readonly REPO=$(dirname "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")")
readonly UNIT_BINARY=/usr/local/bin/coursegen # the path the units in systemd/ name
readonly CONFIG_DIR=/etc/coursegen

say() { printf 'install.sh: %s\n' "$*"; }
die() {
    printf 'install.sh: error: %s\n' "$*" >&2
    exit 1
}

ACTION=install
PREFIX=/usr/local
DESTDIR=
BUILD=1
STRIP=1
BINARY=

parse_arguments() {
    if (($#)) && [[ $1 == install || $1 == uninstall ]]; then
        ACTION=$1
        shift
    fi
    while (($#)); do
        case $1 in
        --prefix | --destdir | --binary)
            (($# >= 2)) && [[ -n $2 ]] || die "$1 needs a value"
            case $1 in
            --prefix) PREFIX=${2%/} ;;
            --destdir) DESTDIR=${2%/} ;;
            --binary)
                BINARY=$2
                BUILD=0
                ;;
            esac
            shift 2
            ;;
        --no-build)
            BUILD=0
            shift
            ;;
        --no-strip)
            STRIP=0
            shift
            ;;
        -h | --help)
            sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
            exit 0
            ;;
        *) die "unknown argument '$1' (see --help)" ;;
        esac
    done
    [[ $PREFIX == /* ]] || die "--prefix must be an absolute path, not '$PREFIX'"
    if [[ -n $DESTDIR ]]; then
        [[ $DESTDIR == /* ]] || DESTDIR=$(pwd)/$DESTDIR
    fi
    [[ -z $BINARY || $ACTION == install ]] || die "--binary only applies to install"

    BIN_DIR=$PREFIX/bin
    case $PREFIX in
    /usr | /usr/local) LIB=$PREFIX/lib ;;
    *) LIB=/etc ;;
    esac
    if [[ $LIB == /etc ]]; then
        UNIT_DIR=/etc/systemd/system
        USER_UNIT_DIR=/etc/systemd/user
    else
        UNIT_DIR=$LIB/systemd/system
        USER_UNIT_DIR=$LIB/systemd/user
    fi
    SYSUSERS_FILE=$LIB/sysusers.d/coursegen.conf
    TMPFILES_FILE=$LIB/tmpfiles.d/coursegen.conf
    DOC_DIR=$PREFIX/share/doc/coursegen
    MAN_PAGE=$PREFIX/share/man/man1/coursegen.1
}

# The files install puts in place and uninstall removes, as final paths (without DESTDIR).
installed_files() {
    printf '%s\n' "$BIN_DIR/coursegen" "$UNIT_DIR/coursegen.service" "$USER_UNIT_DIR/coursegen.service" \
        "$SYSUSERS_FILE" "$TMPFILES_FILE" "$MAN_PAGE" "$DOC_DIR/README.md" "$DOC_DIR/README.systemd.md" \
        "$DOC_DIR/config.example.yaml" "$DOC_DIR/templates/system.mustache" "$DOC_DIR/templates/chapter.mustache"
}

systemd_is_running() { [[ -z $DESTDIR && -d /run/systemd/system ]]; }

install_all() {
    local binary=$BINARY
    if ((BUILD)); then
        command -v swift >/dev/null || die "swift is not on PATH: build first and pass --no-build, or add the toolchain to PATH"
        say "building coursegen (release)"
        # The Swift runtime linked in, so the installed binary does not depend on the toolchain. A
        # scratch path of its own, so it can build while the debug build (.build) does.
        local flags=(--package-path "$REPO" --scratch-path "$REPO/.build-release" -c release --static-swift-stdlib)
        swift build "${flags[@]}" --product coursegen
        binary=$(swift build "${flags[@]}" --show-bin-path)/coursegen
    elif [[ -z $binary ]]; then
        binary=$REPO/.build-release/release/coursegen
    fi
    [[ -f $binary && -x $binary ]] || die "no executable at $binary (build it, or pass --binary FILE)"

    install -D -m 0755 "$binary" "$DESTDIR$BIN_DIR/coursegen"
    # Stripped, the binary is half the size (symbols and debug information are most of it). Only
    # an ELF file is stripped (tests install a stand-in script).
    if ((STRIP)) && [[ $(head -c 4 "$binary" | od -An -c | tr -d ' ') == 177ELF ]]; then
        if command -v strip >/dev/null; then
            strip --strip-all "$DESTDIR$BIN_DIR/coursegen"
            say "stripped $DESTDIR$BIN_DIR/coursegen ($(du -m "$DESTDIR$BIN_DIR/coursegen" | cut -f1) MB; --no-strip keeps the symbols)"
        else
            say "strip (binutils) not found: installed the binary unstripped"
        fi
    fi
    install_unit "$REPO/systemd/coursegen.service" "$DESTDIR$UNIT_DIR/coursegen.service"
    install_unit "$REPO/systemd/user/coursegen.service" "$DESTDIR$USER_UNIT_DIR/coursegen.service"
    install -D -m 0644 "$REPO/systemd/coursegen.sysusers" "$DESTDIR$SYSUSERS_FILE"
    install -D -m 0644 "$REPO/systemd/coursegen.tmpfiles" "$DESTDIR$TMPFILES_FILE"
    # docs/coursegen.1 is generated from the command-line definitions (scripts/man-page.sh).
    install -D -m 0644 "$REPO/docs/coursegen.1" "$DESTDIR$MAN_PAGE"
    install -D -m 0644 "$REPO/README.md" "$DESTDIR$DOC_DIR/README.md"
    install -D -m 0644 "$REPO/systemd/README.md" "$DESTDIR$DOC_DIR/README.systemd.md"
    install -D -m 0644 "$REPO/systemd/config.example.yaml" "$DESTDIR$DOC_DIR/config.example.yaml"
    # The built-in prompt templates, to copy and edit (settings system-template, chapter-template).
    local template
    for template in system chapter; do
        install -D -m 0644 "$REPO/Sources/Generation/Prompt/Templates/$template.mustache" \
            "$DESTDIR$DOC_DIR/templates/$template.mustache"
    done
    local file
    while read -r file; do say "installed $DESTDIR$file"; done < <(installed_files)

    install -d -m 0750 "$DESTDIR$CONFIG_DIR"
    if [[ -e $DESTDIR$CONFIG_DIR/config.yaml ]]; then
        say "kept the existing $DESTDIR$CONFIG_DIR/config.yaml (the new example is $DESTDIR$DOC_DIR/config.example.yaml)"
    else
        install -m 0640 "$REPO/systemd/config.example.yaml" "$DESTDIR$CONFIG_DIR/config.yaml"
        say "installed $DESTDIR$CONFIG_DIR/config.yaml"
    fi

    if [[ -n $DESTDIR ]]; then
        say "staged into $DESTDIR; on the target run: systemd-sysusers $SYSUSERS_FILE;" \
            "systemd-tmpfiles --create $TMPFILES_FILE; systemctl daemon-reload"
        return
    fi
    activate
    say "next: put the Gemini API key in $CONFIG_DIR/gemini-api-key (root only):"
    say "  install -m 0600 /dev/stdin $CONFIG_DIR/gemini-api-key   # paste the key, then Ctrl-D"
    say "then: systemctl enable --now coursegen; authors join the group: usermod -aG coursegen NAME"
    say "or, per user: systemctl --user enable --now coursegen (key in ~/.config/coursegen/gemini-api-key)"
}

# Copies a unit, pointing ExecStart= at the installed binary.
install_unit() {
    local source=$1 target=$2
    install -d -m 0755 "$(dirname "$target")"
    sed "s|$UNIT_BINARY|$BIN_DIR/coursegen|g" "$source" >"$target.tmp"
    chmod 0644 "$target.tmp"
    mv -f "$target.tmp" "$target"
}

# Creates the user, group and folders, and makes systemd see the new units.
activate() {
    if command -v systemd-sysusers >/dev/null; then
        systemd-sysusers "$SYSUSERS_FILE"
        say "created the coursegen user and group (systemd-sysusers)"
    else
        say "systemd-sysusers is not available: create a system user and group 'coursegen' yourself" \
            "(home /var/lib/coursegen, no login shell), then run systemd-tmpfiles"
    fi
    if command -v systemd-tmpfiles >/dev/null && getent group coursegen >/dev/null; then
        systemd-tmpfiles --create "$TMPFILES_FILE"
        say "created /srv/coursegen/inbox and /srv/coursegen/output (systemd-tmpfiles)"
    else
        say "skipped systemd-tmpfiles (missing, or no coursegen group yet): create the folders listed in $TMPFILES_FILE"
    fi
    if systemd_is_running; then
        systemctl daemon-reload
        say "reloaded systemd (systemctl daemon-reload)"
        if systemctl --quiet is-active coursegen.service; then
            say "coursegen is running the previous binary: systemctl restart coursegen"
        fi
    else
        say "systemd is not running here (no /run/systemd/system): skipped systemctl daemon-reload"
    fi
}

uninstall_all() {
    if systemd_is_running; then
        if systemctl --quiet is-enabled coursegen.service 2>/dev/null ||
            systemctl --quiet is-active coursegen.service 2>/dev/null; then
            systemctl disable --now coursegen.service
            say "stopped and disabled coursegen.service"
        fi
    fi
    local file
    while read -r file; do
        if [[ -e $DESTDIR$file || -L $DESTDIR$file ]]; then
            rm -f "$DESTDIR$file"
            say "removed $DESTDIR$file"
        fi
    done < <(installed_files)
    rmdir "$DESTDIR$DOC_DIR/templates" 2>/dev/null || true
    rmdir "$DESTDIR$DOC_DIR" 2>/dev/null || true
    if systemd_is_running; then
        systemctl daemon-reload
        say "reloaded systemd (systemctl daemon-reload)"
    fi
    say "kept $CONFIG_DIR (config and API key), /var/lib/coursegen (state), /srv/coursegen (inbox and output)" \
        "and the coursegen user and group; remove them by hand if they are no longer wanted"
    say "users who enabled the user service should run: systemctl --user disable --now coursegen"
}

parse_arguments "$@"
case $ACTION in
install) install_all ;;
uninstall) uninstall_all ;;
esac
