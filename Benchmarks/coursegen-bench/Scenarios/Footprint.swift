import Foundation
import Platform

#if canImport(Glibc)
    import Glibc
#endif

extension Scenario {
    /// Scenario 9: the binary `scripts/install.sh` puts in place (scripts/benchmark.sh stages an
    /// install with `--destdir` and passes it), its stripped size and start-up time, and what each
    /// dependency adds, from the release build's symbol table.
    static let footprint = Scenario(id: "9", title: "Footprint of the installed binary") { context in
        let installed = context.installedBinary ?? context.coursegen
        let folder = try context.makeFolder("footprint")
        let stripped = "\(folder)/coursegen.stripped"
        _ = try runToEnd("/usr/bin/strip", ["--strip-all", "-o", stripped, installed])
        let outline = "\(folder)/small.md"
        try Data(BenchOutline.markdown(title: "Start-up", chapters: 3).utf8).write(to: URL(fileURLWithPath: outline))

        let runs = 21
        let help = try median((0..<runs).map { _ in try timedSpawn(installed, ["--help"]) })
        let check = try median((0..<runs).map { _ in try timedSpawn(installed, ["check", outline]) })

        // What each dependency adds: the release build's symbols (the installed copy may be stripped).
        let symbols = SymbolSizes.parse(
            nmOutput: try runToEnd("/usr/bin/nm", ["--size-sort", "-S", "--defined-only", context.coursegen])
        )
        let modules = SymbolSizes.breakdown(symbols) { SymbolSizes.module(of: $0) }
        let dependencies = SymbolSizes.breakdown(symbols) {
            SymbolSizes.dependency(ofModule: SymbolSizes.module(of: $0))
        }
        let attributed = symbols.reduce(0) { $0 + $1.size }
        let strippedSize = try fileSize(stripped)
        context.report.add(
            section: "What each dependency adds to the binary",
            dependencyTable(dependencies, modules: modules, attributed: attributed, stripped: strippedSize)
        )
        let foundation = dependencies.filter {
            ["Foundation (full)", "FoundationInternationalization + ICU"].contains($0.group)
        }.reduce(0) { $0 + $1.bytes }

        return [
            Figure(
                "9",
                "size of the installed binary",
                Double(try fileSize(installed)) / 1e6,
                .megabytes,
                target: .below(85),
                detail: context.installedBinary == nil
                    ? "the --coursegen binary (no staged install was given)"
                    : "as `scripts/install.sh --destdir` staged it"
            ),
            Figure("9", "the same, stripped", Double(strippedSize) / 1e6, .megabytes),
            Figure(
                "9",
                "of which the full Foundation and ICU (in symbols)",
                Double(foundation) / 1e6,
                .megabytes,
                detail: "Foundation, CoreFoundation, FoundationInternationalization and ICU's code and data; "
                    + "the table under this one lists every dependency"
            ),
            Figure("9", "start-up: coursegen --help (median of \(runs))", help.milliseconds, .milliseconds),
            Figure(
                "9",
                "start-up: coursegen check on a 3-chapter outline (median of \(runs))",
                check.milliseconds,
                .milliseconds
            ),
        ]
    }

    /// Markdown: dependencies by size, with their largest modules.
    static func dependencyTable(
        _ dependencies: [(group: String, bytes: Int)],
        modules: [(group: String, bytes: Int)],
        attributed: Int,
        stripped: Int
    ) -> String {
        var lines = [
            "Symbol sizes (`nm --size-sort -S`) of the release build, by the module a symbol's name",
            String(
                format: "belongs to, grouped by package: %.1f MB attributed of the %.1f MB stripped binary (the rest",
                Double(attributed) / 1e6,
                Double(stripped) / 1e6
            ),
            "is headers, relocations, unwind tables and strings no symbol names).",
            "",
            "| dependency | MB | largest modules |",
            "| --- | --- | --- |",
        ]
        for dependency in dependencies where dependency.bytes >= 50_000 {
            let members = modules.filter { SymbolSizes.dependency(ofModule: $0.group) == dependency.group }.prefix(4)
            let memberText = members.map { "\($0.group) \(megabytes($0.bytes))" }.joined(separator: ", ")
            lines.append("| \(dependency.group) | \(megabytes(dependency.bytes)) | \(memberText) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Bytes as megabytes with one decimal ("38.9").
func megabytes(_ bytes: Int) -> String {
    String(format: "%.1f", Double(bytes) / 1e6)
}

/// Runs `executable arguments...` to its end and returns its standard output.
/// - Throws: `BenchError` when it exits with a status other than 0.
func runToEnd(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw BenchError("\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self)
}

/// Spawns `executable arguments...` with its output discarded and returns how long it took to
/// exit, from `posix_spawn` to `waitpid` (no run loop in between).
/// - Throws: `BenchError` when it cannot be started or exits with a status other than 0.
func timedSpawn(_ executable: String, _ arguments: [String]) throws -> Duration {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { (text: String) in strdup(text) } + [nil]
    defer { argv.forEach { free($0) } }
    let environment: [UnsafeMutablePointer<CChar>?] =
        ["PATH=/usr/bin:/bin", "HOME=\(NSTemporaryDirectory())", "GEMINI_API_KEY=unused"].map { (text: String) in
            strdup(text)
        } + [nil]
    defer { environment.forEach { free($0) } }
    var pid: pid_t = 0
    let start = ContinuousClock.now
    let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environment)
    guard spawned == 0 else { throw BenchError("cannot start \(executable): \(String(cString: strerror(spawned)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let elapsed = ContinuousClock.now - start
    // WIFEXITED and WEXITSTATUS, which Swift does not import.
    guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
        throw BenchError("\(executable) \(arguments.joined(separator: " ")) ended with wait status \(status)")
    }
    return elapsed
}

/// The size of the file at `path`, in bytes.
func fileSize(_ path: String) throws -> Int {
    guard let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int else {
        throw BenchError("cannot read the size of \(path)")
    }
    return size
}
