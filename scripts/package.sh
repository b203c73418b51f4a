#!/usr/bin/env bash
# Builds the Debian package of coursegen, coursegen_VERSION_amd64.deb, and checks it with lintian.
#
#   scripts/package.sh [--binary FILE] [--output DIR] [--no-lintian]
#
#   --binary FILE  package FILE (a release build, `swift build -c release --static-swift-stdlib`)
#                  instead of building one; it is stripped like install.sh strips
#   --output DIR   where the .deb goes (default .build-package, beside the staged tree)
#   --no-lintian   skip lintian (say so where the package is handed on)
#
# The last line of output is the path of the .deb. Needs dpkg-deb and dpkg-shlibdeps (dpkg-dev),
# binutils (strip), gzip and lintian; `apt-get install dpkg-dev binutils lintian`.
#
# What it does:
# - scripts/install.sh --prefix /usr --destdir STAGE builds the release binary exactly as an
#   installation from source does (Swift runtime linked in, stripped) and stages every file it
#   installs, so the package and the installer cannot drift apart;
# - the version is the binary's own (`coursegen --version`, from Sources/coursegen/Commands/Release.swift);
#   packaging/deb/changelog must have its newest entry for that version, and its trailer names the
#   maintainer;
# - Debian's additions: the manual page and the changelog compressed (gzip -9n), the copyright
#   file (machine-readable, Apache-2.0), the lintian overrides, the maintainer scripts from
#   packaging/deb, /etc/coursegen/config.yaml as the only conffile, md5sums; Depends: is what
#   dpkg-shlibdeps finds the binary links (libinotifytools0, libc6, libstdc++6, libgcc-s1, and
#   zlib1g, which a Swift package's link line names though the binary uses a copy of its own);
# - dpkg-deb builds it (files owned by root, each file's time the changelog entry's), then lintian
#   checks it: any error or warning fails the script, except the four the package's own lintian
#   overrides (packaging/deb/lintian-overrides) explain: libyaml and zlib built into the binary by
#   the Swift packages Yams and swift-nio-extras (SwiftPM links statically; Debian's copies
#   cannot be used without forking them), and the 0750 /etc/coursegen and 0640 config, which keep
#   the administrator's files from other users. lintian's informational notes are not shown
#   (`lintian -I` on the .deb shows them: spelling in the dependencies' strings, and no BIND_NOW
#   or FORTIFY, which the Swift toolchain's defaults do not give).
set -euo pipefail

readonly REPO=$(dirname "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")")
readonly PACKAGE=coursegen
readonly ARCHITECTURE=amd64
# The project has no public page yet: replace this when it has one.
readonly HOMEPAGE=https://coursegen.invalid/

say() { printf 'package.sh: %s\n' "$*" >&2; }
die() {
    printf 'package.sh: error: %s\n' "$*" >&2
    exit 1
}

BINARY=
OUTPUT=$REPO/.build-package
LINTIAN=1
while (($#)); do
    case $1 in
    --binary | --output)
        (($# >= 2)) && [[ -n $2 ]] || die "$1 needs a value"
        if [[ $1 == --binary ]]; then BINARY=$(readlink -f "$2"); else OUTPUT=$(readlink -m "$2"); fi
        shift 2
        ;;
    --no-lintian)
        LINTIAN=0
        shift
        ;;
    -h | --help)
        sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
tools=(dpkg-deb dpkg-shlibdeps dpkg-parsechangelog strip gzip)
((LINTIAN)) && tools+=(lintian)
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install dpkg-dev binutils gzip lintian)"
done

# Modes and owners in the package are the staged tree's: nothing may depend on the caller's umask.
umask 022
readonly WORK=$OUTPUT/work
readonly STAGE=$WORK/root
rm -rf "$WORK"
mkdir -p "$WORK"

install_arguments=(--prefix /usr --destdir "$STAGE")
[[ -z $BINARY ]] || install_arguments+=(--binary "$BINARY")
"$REPO/scripts/install.sh" "${install_arguments[@]}" >&2

readonly BINARY_IN_PACKAGE=$STAGE/usr/bin/$PACKAGE
VERSION=$("$BINARY_IN_PACKAGE" --version)
[[ $VERSION =~ ^[0-9][A-Za-z0-9.+~]*$ ]] ||
    die "'$BINARY_IN_PACKAGE --version' printed '$VERSION', not a version of a native Debian package"
readonly VERSION
readonly CHANGELOG=$REPO/packaging/deb/changelog
changelog_version=$(dpkg-parsechangelog -l "$CHANGELOG" -S Version)
[[ $changelog_version == "$VERSION" ]] ||
    die "the binary is version $VERSION but packaging/deb/changelog's newest entry is $changelog_version:" \
        "add an entry for $VERSION (README: Cutting a release)"
MAINTAINER=$(dpkg-parsechangelog -l "$CHANGELOG" -S Maintainer)
# Every file's time is the release's (the changelog entry's), so two builds of one commit differ
# only where the compiler's output does (dpkg-deb takes the archive's times from it too).
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$CHANGELOG" -S Timestamp)
export SOURCE_DATE_EPOCH
say "packaging $PACKAGE $VERSION"

# Debian's documentation layout: compressed manual page and changelog (a native package's is
# changelog.gz), and the copyright file. -n leaves the time and name out of the gzip header.
readonly DOC=$STAGE/usr/share/doc/$PACKAGE
gzip -9n "$STAGE/usr/share/man/man1/$PACKAGE.1"
gzip -9n <"$CHANGELOG" >"$DOC/changelog.gz"
install -m 0644 "$REPO/packaging/deb/copyright" "$DOC/copyright"
install -D -m 0644 "$REPO/packaging/deb/lintian-overrides" "$STAGE/usr/share/lintian/overrides/$PACKAGE"

# The control area.
readonly CONTROL=$STAGE/DEBIAN
install -d -m 0755 "$CONTROL"
install -m 0755 "$REPO/packaging/deb/postinst" "$REPO/packaging/deb/prerm" "$REPO/packaging/deb/postrm" "$CONTROL/"
# install.sh stages the example as the config only where none exists; dpkg then keeps an
# administrator's edits across upgrades and removes the file on purge.
[[ -f $STAGE/etc/coursegen/config.yaml ]] || die "install.sh did not stage /etc/coursegen/config.yaml"
echo /etc/coursegen/config.yaml >"$CONTROL/conffiles"

# dpkg-shlibdeps wants a debian/control naming the package; it looks the libraries up in dpkg's
# database, so what it prints is what this machine's Debian release provides.
mkdir -p "$WORK/shlibdeps/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: %s\n' "$PACKAGE" "$PACKAGE" "$ARCHITECTURE" \
    >"$WORK/shlibdeps/debian/control"
depends=$(cd "$WORK/shlibdeps" && dpkg-shlibdeps -O "$BINARY_IN_PACKAGE" | sed -n 's/^shlibs:Depends=//p')
[[ $depends == *libinotifytools0* ]] ||
    die "dpkg-shlibdeps found no libinotifytools0 in the binary's libraries ('$depends')"

installed_size=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
cat >"$CONTROL/control" <<EOF
Package: $PACKAGE
Version: $VERSION
Architecture: $ARCHITECTURE
Maintainer: $MAINTAINER
Installed-Size: $installed_size
Depends: $depends
Recommends: systemd
Suggests: libnotify-bin
Section: utils
Priority: optional
Homepage: $HOMEPAGE
Description: writes course chapters from outlines with an LLM, as a service
 coursegen watches a folder of course outlines and has an LLM (Gemini, or any
 OpenAI-compatible server) write each chapter, regenerating only what changed.
EOF

(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
    xargs -0 md5sum) >"$CONTROL/md5sums"
chmod 0644 "$CONTROL/control" "$CONTROL/conffiles" "$CONTROL/md5sums"
find "$STAGE" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$OUTPUT"
readonly DEB=$OUTPUT/${PACKAGE}_${VERSION}_${ARCHITECTURE}.deb
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >&2
say "built $DEB ($(du -m "$DEB" | cut -f1) MB)"

if ((LINTIAN)); then
    # --show-overrides lists the overridden findings (O:, with their reasons) among the rest; it
    # also makes lintian's exit status count them, so the verdict is read from the report: any
    # line E: (error) or W: (warning) fails. Exit status 1 is lintian failing to run.
    status=0
    report=$(lintian --show-overrides "$DEB" 2>&1) || status=$?
    printf '%s\n' "$report" >&2
    ((status == 0 || status == 2)) || die "lintian could not check $DEB (exit status $status)"
    ! grep -q '^[EW]: ' <<<"$report" ||
        die "lintian found errors or warnings (above) that packaging/deb/lintian-overrides does not explain"
    say "lintian: no error or warning beyond the overrides explained in packaging/deb/lintian-overrides"
else
    say "SKIPPED: lintian (--no-lintian)"
fi
echo "$DEB"
