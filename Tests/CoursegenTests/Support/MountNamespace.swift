import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A private mount namespace kept open by a sleeping process, so a test can mount small or
/// read-only file systems (tmpfs) without touching the machine's: commands run inside it with
/// `nsenter`, and its files are read through `/proc/PID/root`. Needs root (or CAP_SYS_ADMIN).
final class MountNamespace: Sendable {
    private let holder: SpawnedProcess

    /// Whether this machine lets the tests make one (root, util-linux's unshare and nsenter).
    static let isAvailable: Bool = {
        guard getuid() == 0,
            let probe = try? SpawnedProcess("/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/true"])
        else { return false }
        return probe.waitUntilExit() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/nsenter")
    }()

    init() throws {
        holder = try SpawnedProcess("/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sleep", "3600"])
        // Wait until the sleeper is inside its own namespace.
        let mine = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt")
        while (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(holder.pid)/ns/mnt"))
            .map({ $0 == mine }) ?? true
        {
            usleep(5_000)
        }
    }

    deinit {
        // The namespace and its mounts go with the last process in it.
        holder.signal(SIGKILL)
        holder.waitUntilExit()
    }

    /// Runs `script` with bash inside the namespace; returns its exit status and output.
    @discardableResult
    func run(_ script: String, environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = try SpawnedProcess(
            launcher[0],
            launcher.dropFirst() + ["/bin/bash", "-c", script],
            environment: ["PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": NSTemporaryDirectory()]
                .merging(environment) { $1 },
            combiningOutput: true
        )
        let status = process.waitUntilExit()
        return (status, process.standardOutput)
    }

    /// The command that runs another inside the namespace (nsenter execs it: its process is the
    /// command's own, so signals reach it).
    var launcher: [String] { ["/usr/bin/nsenter", "--target", "\(holder.pid)", "--mount", "--"] }

    /// `path` as seen inside the namespace, readable from outside.
    func path(_ path: String) -> String { "/proc/\(holder.pid)/root\(path)" }
}
