import Foundation
import TestSupport
import Testing

/// scripts/install.sh, always staged into a temporary `--destdir` (so nothing is activated and
/// nothing outside the temporary folder changes) with a stand-in binary (`--binary`).
@Suite("install.sh")
struct InstallTests {
    static let repository = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let systemdAnalyzeAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")

    /// A temporary folder with a stand-in binary, removed when the value is released.
    final class Staging {
        let folder: URL
        let root: URL
        let binary: URL

        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "coursegen-install-\(UUID().uuidString)"
            )
            root = folder.appendingPathComponent("root")
            binary = folder.appendingPathComponent("coursegen")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
            try "#!/bin/sh\necho stand-in\n".write(to: binary, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: binary.path)
        }

        deinit { try? FileManager.default.removeItem(at: folder) }

        func path(_ relative: String) -> String { root.path + relative }

        func contents(_ relative: String) throws -> String {
            try String(contentsOfFile: path(relative), encoding: .utf8)
        }

        func permissions(_ relative: String) throws -> Int {
            try (FileManager.default.attributesOfItem(atPath: path(relative))[.posixPermissions] as? NSNumber)?.intValue
                ?? -1
        }

        func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path(relative)) }
    }

    struct Run: Sendable {
        var status: Int32
        var output: String
    }

    /// Runs `command` (a path and its arguments) and collects its combined output.
    /// The command runs on a thread of its own: an install takes seconds, and waiting for it on
    /// the shared pool (as many threads as cores) would stall every other test meanwhile.
    static func run(_ command: [String], environment: [String: String] = [:]) async throws -> Run {
        try await onOwnThread { try runBlocking(command, environment: environment) }
    }

    private static func runBlocking(_ command: [String], environment: [String: String]) throws -> Run {
        let process = try SpawnedProcess(
            command[0],
            Array(command.dropFirst()),
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
            combiningOutput: true
        )
        let status = process.waitUntilExit()
        return Run(status: status, output: process.standardOutput)
    }

    static func installer(_ arguments: [String]) async throws -> Run {
        try await run(["/bin/bash", repository.appendingPathComponent("scripts/install.sh").path] + arguments)
    }

    @Test("install stages the binary, both units, sysusers and tmpfiles entries, the config and the docs")
    func stagesEverything() async throws {
        let staging = try Staging()
        let result = try await Self.installer(["--destdir", staging.root.path, "--binary", staging.binary.path])
        #expect(result.status == 0, "\(result.output)")

        #expect(try staging.contents("/usr/local/bin/coursegen") == "#!/bin/sh\necho stand-in\n")
        #expect(try staging.permissions("/usr/local/bin/coursegen") == 0o755)
        let unit = try staging.contents("/usr/local/lib/systemd/system/coursegen.service")
        #expect(unit.contains("\nExecStart=/usr/local/bin/coursegen watch --config /etc/coursegen/config.yaml\n"))
        #expect(unit.contains("\nType=notify\n"))
        #expect(unit.contains("\nLoadCredential=gemini-api-key:/etc/coursegen/gemini-api-key\n"))
        #expect(
            !unit.split(separator: "\n").contains { $0.hasPrefix("Environment=") },
            "the key must never be passed through the environment"
        )
        #expect(
            try staging.contents("/usr/local/lib/systemd/user/coursegen.service").contains(
                "\nExecStart=/usr/local/bin/coursegen watch --inbox %h/Courses/Outlines --output %h/Courses/Generated"
            )
        )
        #expect(try staging.permissions("/usr/local/lib/systemd/system/coursegen.service") == 0o644)
        #expect(try staging.contents("/usr/local/lib/sysusers.d/coursegen.conf").contains("\nu coursegen "))
        #expect(
            try staging.contents("/usr/local/lib/tmpfiles.d/coursegen.conf").contains(
                "\nd /srv/coursegen/inbox  2775 coursegen coursegen -\n"
            )
        )
        let example = try String(
            contentsOf: Self.repository.appendingPathComponent("systemd/config.example.yaml"),
            encoding: .utf8
        )
        #expect(try staging.contents("/etc/coursegen/config.yaml") == example)
        #expect(try staging.permissions("/etc/coursegen/config.yaml") == 0o640)
        #expect(try staging.permissions("/etc/coursegen") == 0o750)
        #expect(try staging.contents("/usr/local/share/doc/coursegen/config.example.yaml") == example)
        for template in ["system", "chapter"] {
            let builtIn = try String(
                contentsOf: Self.repository.appendingPathComponent("Sources/Generation/Prompt/Templates/\(template).mustache"),
                encoding: .utf8
            )
            #expect(try staging.contents("/usr/local/share/doc/coursegen/templates/\(template).mustache") == builtIn)
        }
        for (source, installed) in [
            ("docs/coursegen.1", "/usr/local/share/man/man1/coursegen.1"),
            ("README.md", "/usr/local/share/doc/coursegen/README.md"),
            ("systemd/README.md", "/usr/local/share/doc/coursegen/README.systemd.md"),
        ] {
            let committed = try String(contentsOf: Self.repository.appendingPathComponent(source), encoding: .utf8)
            #expect(try staging.contents(installed) == committed, "\(installed)")
            #expect(try staging.permissions(installed) == 0o644, "\(installed)")
        }
        #expect(result.output.contains("systemctl daemon-reload"), "says what to run on the target")
    }

    @Test("a second install never overwrites an edited /etc/coursegen/config.yaml")
    func keepsConfig() async throws {
        let staging = try Staging()
        let arguments = ["--destdir", staging.root.path, "--binary", staging.binary.path]
        #expect(try await Self.installer(arguments).status == 0)
        try "inbox: /data/inbox\noutput: /data/output\n".write(
            toFile: staging.path("/etc/coursegen/config.yaml"),
            atomically: true,
            encoding: .utf8
        )

        let second = try await Self.installer(arguments)
        #expect(second.status == 0, "\(second.output)")
        #expect(second.output.contains("kept the existing"))
        #expect(try staging.contents("/etc/coursegen/config.yaml") == "inbox: /data/inbox\noutput: /data/output\n")
    }

    @Test("a prefix systemd does not search gets its units and entries under /etc, ExecStart under the prefix")
    func otherPrefix() async throws {
        let staging = try Staging()
        let result = try await Self.installer(
            ["--prefix", "/opt/coursegen", "--destdir", staging.root.path, "--binary", staging.binary.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(staging.exists("/opt/coursegen/bin/coursegen"))
        #expect(
            try staging.contents("/etc/systemd/system/coursegen.service").contains(
                "\nExecStart=/opt/coursegen/bin/coursegen watch --config /etc/coursegen/config.yaml\n"
            )
        )
        #expect(
            try staging.contents("/etc/systemd/user/coursegen.service").contains(
                "\nExecStart=/opt/coursegen/bin/coursegen watch "
            )
        )
        #expect(staging.exists("/etc/sysusers.d/coursegen.conf"))
        #expect(staging.exists("/etc/tmpfiles.d/coursegen.conf"))
        #expect(!staging.exists("/opt/coursegen/lib"))
    }

    @Test("uninstall removes what install put in place and keeps config, API key and data")
    func uninstall() async throws {
        let staging = try Staging()
        #expect(try await Self.installer(["--destdir", staging.root.path, "--binary", staging.binary.path]).status == 0)
        try "test-key\n".write(toFile: staging.path("/etc/coursegen/gemini-api-key"), atomically: true, encoding: .utf8)

        let result = try await Self.installer(["uninstall", "--destdir", staging.root.path])
        #expect(result.status == 0, "\(result.output)")
        for removed in [
            "/usr/local/bin/coursegen", "/usr/local/lib/systemd/system/coursegen.service",
            "/usr/local/lib/systemd/user/coursegen.service", "/usr/local/lib/sysusers.d/coursegen.conf",
            "/usr/local/lib/tmpfiles.d/coursegen.conf", "/usr/local/share/doc/coursegen",
            "/usr/local/share/man/man1/coursegen.1",
        ] {
            #expect(!staging.exists(removed), "\(removed) is still there")
        }
        #expect(staging.exists("/etc/coursegen/config.yaml"))
        #expect(staging.exists("/etc/coursegen/gemini-api-key"))
    }

    @Test("mistakes are refused with a message naming them, before anything is installed")
    func mistakes() async throws {
        let staging = try Staging()
        let cases: [([String], String)] = [
            (
                ["--prefix", "usr/local", "--destdir", staging.root.path, "--binary", staging.binary.path],
                "absolute path"
            ),
            (["--destdir", staging.root.path, "--frobnicate"], "unknown argument '--frobnicate'"),
            (
                ["--destdir", staging.root.path, "--binary", staging.folder.appendingPathComponent("missing").path],
                "no executable at"
            ),
            (["--destdir", staging.root.path, "--prefix"], "--prefix needs a value"),
        ]
        for (arguments, message) in cases {
            let result = try await Self.installer(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.output.contains(message), "\(arguments): \(result.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: staging.root.path))
    }

    @Test("the installed units pass systemd-analyze verify", .enabled(if: systemdAnalyzeAvailable))
    func unitsVerify() async throws {
        let staging = try Staging()
        #expect(try await Self.installer(["--destdir", staging.root.path, "--binary", staging.binary.path]).status == 0)
        // The units name /usr/local/bin/coursegen, which exists only under the destdir here:
        // verify copies that point at the staged binary instead. Documentation=man:coursegen(1)
        // is looked up with man: in the staged manual pages.
        let runtime = staging.folder.appendingPathComponent("runtime")
        try FileManager.default.createDirectory(at: runtime, withIntermediateDirectories: false)
        for (unit, scope) in [("system", "--system"), ("user", "--user")] {
            let folder = staging.folder.appendingPathComponent(unit)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
            let copy = folder.appendingPathComponent("coursegen.service")
            try staging.contents("/usr/local/lib/systemd/\(unit)/coursegen.service")
                .replacingOccurrences(of: "/usr/local/bin/coursegen", with: staging.path("/usr/local/bin/coursegen"))
                .write(to: copy, atomically: true, encoding: .utf8)
            let result = try await Self.run(
                ["/usr/bin/systemd-analyze", scope, "verify", copy.path],
                environment: ["XDG_RUNTIME_DIR": runtime.path, "MANPATH": staging.path("/usr/local/share/man")]
            )
            #expect(result.status == 0, "\(unit) unit: \(result.output)")
            #expect(result.output.isEmpty, "\(unit) unit: \(result.output)")
        }
    }
}
