import Foundation
import Glibc
import Testing

@testable import Watcher

/// `Sources/CInotify/shim.h` calls libinotifytools internals that its shared library exports but its header does
/// not declare (see the comment there). A libinotifytools without the two tables would not even load (the loader
/// names the missing symbol, not the version); without the functions it loads, binds them lazily, and fails the
/// first time the watcher forgets a watch. This names the version installed, and also catches a symbol that
/// now comes from another library. What they do is checked by "a stopped watcher releases its thread, watches and
/// control folder" in the inotify tests.
@Suite("libinotifytools internals used by the shim")
struct InotifyLibrarySymbolTests {
    /// The symbols shim.h declares itself.
    static let internals = [
        "tree_wd", "tree_filename", "watch_from_wd", "watch_from_filename", "destroy_watch", "rbdelete",
    ]

    @Test("every internal the shim declares is exported by the loaded libinotifytools", arguments: internals)
    func exported(symbol: String) throws {
        // The library the Watcher module linked, already loaded: NOLOAD only finds it.
        let library = try #require(
            dlopen("libinotifytools.so.0", RTLD_NOW | RTLD_NOLOAD),
            "libinotifytools.so.0 is not loaded in this process \(Self.installedVersion())"
        )
        defer { dlclose(library) }
        #expect(
            dlsym(library, symbol) != nil,
            """
            libinotifytools \(Self.installedVersion()) does not export `\(symbol)`, which \
            Sources/CInotify/shim.h uses to forget a watch the kernel dropped. Read the comment in shim.h and \
            adapt cinotify_forget_watch to this version.
            """
        )
    }

    /// The installed libinotifytools, as the package manager and the loaded file tell it.
    static func installedVersion() -> String {
        var parts: [String] = []
        if let package = packageVersion() { parts.append("package libinotifytools0 \(package)") }
        if let file = loadedFile() { parts.append("file \(file)") }
        return parts.isEmpty ? "(version unknown)" : "(" + parts.joined(separator: ", ") + ")"
    }

    /// The libinotifytools file mapped into this process, from /proc/self/maps.
    static func loadedFile() -> String? {
        guard let maps = Disk.readProcFile("/proc/self/maps") else { return nil }
        return maps.split(separator: "\n").lazy.compactMap { line -> String? in
            guard let slash = line.firstIndex(of: "/") else { return nil }
            let path = String(line[slash...])
            return path.contains("libinotifytools") ? path : nil
        }.first
    }

    /// `dpkg-query -W -f '${Version}' libinotifytools0`, or nil where there is no dpkg.
    private static func packageVersion() -> String? {
        let query = Process()
        query.executableURL = URL(fileURLWithPath: "/usr/bin/dpkg-query")
        query.arguments = ["-W", "-f", "${Version}", "libinotifytools0"]
        let output = Pipe()
        query.standardOutput = output
        query.standardError = FileHandle.nullDevice
        guard (try? query.run()) != nil else { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        query.waitUntilExit()
        let version = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return query.terminationStatus == 0 && !version.isEmpty ? version : nil
    }

    @Test("failures name the loaded library file")
    func versionIsNamed() {
        #expect(Self.installedVersion().contains("libinotifytools.so.0."), "\(Self.installedVersion())")
    }
}
