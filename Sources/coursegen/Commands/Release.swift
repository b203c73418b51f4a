/// The release this binary is: the one place coursegen's version is written. `coursegen
/// --version` prints it, the daemon's "watching" line logs it (`VERSION=` in the journal), and
/// scripts/package.sh names the Debian package after it (it asks the binary it packages). A
/// release changes it here and adds a matching entry to packaging/changelog (README: "Cutting a
/// release"); package.sh refuses a changelog whose newest entry is another version.
enum Release {
    static let version = "0.1.0"
}
