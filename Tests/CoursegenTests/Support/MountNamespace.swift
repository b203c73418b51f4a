import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A private mount namespace kept open by a sleeping process, so a test can mount small or
/// read-only file systems (tmpfs) without touching the machine's: commands run inside it with
/// `nsenter`, and its files are read through `/proc/PID/root`. Needs root (or CAP_SYS_ADMIN).
final class MountNamespace: Sendable {
    private let holder: Process

    /// Whether this machine lets the tests make one (root, util-linux's unshare and nsenter).
    static let isAvailable: Bool = {
        guard getuid() == 0 else { return false }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        probe.arguments = ["--mount", "--propagation", "private", "/bin/true"]
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/nsenter")
    }()

    init() throws {
        holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        holder.arguments = ["--mount", "--propagation", "private", "/bin/sleep", "3600"]
        try holder.run()
        // Wait until the sleeper is inside its own namespace.
        let mine = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt")
        while (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(holder.processIdentifier)/ns/mnt"))
            .map({ $0 == mine }) ?? true
        {
            usleep(5_000)
        }
    }

    deinit {
        // SIGKILL: the children Foundation starts may have SIGTERM blocked; the namespace and its
        // mounts go with the last process in it. Not `waitUntilExit()`, which spins off the main
        // thread; Foundation reaps the process.
        kill(holder.processIdentifier, SIGKILL)
        while holder.isRunning { usleep(1_000) }
    }

    /// Runs `script` with bash inside the namespace; returns its exit status and output.
    @discardableResult
    func run(_ script: String, environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: launcher[0])
        process.arguments = launcher.dropFirst() + ["/bin/bash", "-c", script]
        process.environment = ["PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": NSTemporaryDirectory()]
            .merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The command that runs another inside the namespace (nsenter execs it: its process is the
    /// command's own, so signals reach it).
    var launcher: [String] { ["/usr/bin/nsenter", "--target", "\(holder.processIdentifier)", "--mount", "--"] }

    /// `path` as seen inside the namespace, readable from outside.
    func path(_ path: String) -> String { "/proc/\(holder.processIdentifier)/root\(path)" }
}
