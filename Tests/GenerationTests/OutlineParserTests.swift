import Foundation
import TestSupport
import Testing

@testable import Generation
@testable import Outlines

@Suite("Outline parser: files, formats and the examples")
struct OutlineParserTests {
    @Test(
        "the format follows the extension, ignoring case and folders",
        arguments: [
            ("course.md", OutlineFormat.markdown), ("Course.MARKDOWN", .markdown), ("a/b.c/course.Md", .markdown),
            ("course.yaml", .yaml), ("course.YML", .yaml), ("course.json", .json), ("x.tar.JSON", .json),
        ]
    )
    func formatFromExtension(name: String, format: OutlineFormat) {
        #expect(OutlineFormat(fileName: name) == format)
    }

    @Test(
        "names without an outline extension have no format",
        arguments: ["course", "course.txt", "course.md~", ".course.md.swp", ".md", "notes.md/", "md"]
    )
    func noFormat(name: String) {
        #expect(OutlineFormat(fileName: name) == nil)
    }

    @Test("the Markdown example parses to its fields, chapters and chapter lines")
    func markdownExample() throws {
        let outline = try parse(OutlineExamples.practicalRust)
        #expect(outline == OutlineExamples.practicalRustOutline)
        #expect(outline.chapters.map(\.line) == [12, 18, 23, 28, 33, 38, 42])
    }

    @Test("the YAML example parses to its fields, chapters and chapter lines")
    func yamlExample() throws {
        let outline = try parse(OutlineExamples.kitchenSafety, .yaml)
        #expect(outline == OutlineExamples.kitchenSafetyOutline)
        #expect(outline.chapters.map(\.line) == [10, 14, 19, 25, 29])
    }

    @Test("a file on disk is read, and its format comes from its name")
    func readsFile() throws {
        let folder = try TemporaryFolder()
        let markdown = try folder.write("practical-rust.md", Array(OutlineExamples.practicalRust.utf8))
        let yaml = try folder.write("kitchen-safety.YML", Array(OutlineExamples.kitchenSafety.utf8))
        #expect(try OutlineParser.parse(fileAt: markdown) == OutlineExamples.practicalRustOutline)
        #expect(try OutlineParser.parse(fileAt: yaml) == OutlineExamples.kitchenSafetyOutline)
    }

    @Test("messages name the file by its display name when one is given, else by its path")
    func displayName() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write("broken.md", Array("# Title\n\nno chapters\n".utf8))
        let named = #expect(throws: OutlineError.self) {
            try OutlineParser.parse(fileAt: path, displayName: "inbox/broken.md")
        }
        #expect(named?.file == "inbox/broken.md")
        #expect(named?.description.hasPrefix("inbox/broken.md:1: ") == true)
        let unnamed = #expect(throws: OutlineError.self) { try OutlineParser.parse(fileAt: path) }
        #expect(unnamed?.file == path)
    }

    @Test("a missing file is reported with the advice to check the path")
    func missingFile() throws {
        let folder = try TemporaryFolder()
        let error = #expect(throws: OutlineError.self) {
            try OutlineParser.parse(fileAt: folder.path + "/nowhere.md")
        }
        #expect(error?.line == nil)
        #expect(error?.message.contains("no such file") == true)
        #expect(error?.message.contains("check the path") == true)
    }

    @Test("a directory is refused as a directory, even when named like an outline")
    func directory() throws {
        let folder = try TemporaryFolder()
        try FileManager.default.createDirectory(atPath: folder.path + "/course.md", withIntermediateDirectories: false)
        let error = #expect(throws: OutlineError.self) {
            try OutlineParser.parse(fileAt: folder.path + "/course.md")
        }
        #expect(error?.message.contains("is a directory") == true)
    }

    @Test("a FIFO is refused without blocking on it")
    func fifo() throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/course.md"
        #expect(mkfifo(path, 0o600) == 0)
        let error = #expect(throws: OutlineError.self) { try OutlineParser.parse(fileAt: path) }
        #expect(error?.message.contains("not a regular file") == true)
    }

    @Test("a path through a regular file is reported, not crashed on")
    func notADirectory() throws {
        let folder = try TemporaryFolder()
        let file = try folder.write("plain.md", Array("x".utf8))
        let error = #expect(throws: OutlineError.self) { try OutlineParser.parse(fileAt: file + "/course.md") }
        #expect(error?.message.contains("cannot open the outline") == true)
    }

    @Test(
        "an unreadable file says permission denied and how to fix it",
        .enabled(if: geteuid() != 0, "root reads anything")
    )
    func permissionDenied() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write("course.md", Array(OutlineExamples.practicalRust.utf8))
        #expect(chmod(path, 0) == 0)
        let error = #expect(throws: OutlineError.self) { try OutlineParser.parse(fileAt: path) }
        #expect(error?.message.contains("permission denied") == true)
        #expect(error?.message.contains("readable") == true)
    }

    @Test("open failures turn errno into a reason and advice")
    func errnoMessages() {
        let denied = OutlineFile.failure(.permissionDenied, doing: "open", file: "course.md")
        #expect(denied.file == "course.md")
        #expect(denied.message.contains("permission denied"))
        #expect(denied.message.contains("readable by the user coursegen runs as"))
        let loop = OutlineFile.failure(.tooManySymbolicLinkLevels, doing: "open", file: "course.md")
        #expect(loop.message.contains("symbolic link"))
    }

    @Test("a file name without an outline extension is refused before reading")
    func unknownExtension() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write("course.txt", Array(OutlineExamples.practicalRust.utf8))
        let error = #expect(throws: OutlineError.self) { try OutlineParser.parse(fileAt: path) }
        #expect(error?.message.contains(".md") == true)
        #expect(error?.message.contains(".json") == true)
    }

    @Test("a file over 1 MiB is refused with its size and the limit")
    func fileTooLarge() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write("huge.md", Array(OutlineExamples.practicalRust.utf8))
        #expect(truncate(path, off_t(OutlineParser.maximumFileSize + 1)) == 0)
        let error = #expect(throws: OutlineError.self) { try OutlineParser.parse(fileAt: path) }
        #expect(error?.message.contains("\(OutlineParser.maximumFileSize + 1) bytes") == true)
        #expect(error?.message.contains("limit of \(OutlineParser.maximumFileSize) bytes") == true)
    }

    @Test("a file of exactly 1 MiB is still read")
    func fileAtLimit() throws {
        let folder = try TemporaryFolder()
        var bytes = Array(OutlineExamples.practicalRust.utf8)
        bytes += Array(repeating: UInt8(ascii: "\n"), count: OutlineParser.maximumFileSize - bytes.count)
        let path = try folder.write("big.md", bytes)
        #expect(try OutlineParser.parse(fileAt: path) == OutlineExamples.practicalRustOutline)
    }

    @Test("a 5 MB outline is refused by its size, before any of it is parsed", arguments: OutlineFormat.allCases)
    func fiveMegabytes(format: OutlineFormat) throws {
        // Nested keys that would take Yams minutes, and an unclosed fence and comment: only the
        // size may be reported.
        let unit = "- {{{{{{{{a: b}: c}: d}: e}: f}: g}: h}: i}\n```\n<!--\n"
        let text = String(repeating: unit, count: 5_000_000 / unit.utf8.count + 1)
        let folder = try TemporaryFolder()
        let path = try folder.write("huge.\(format == .markdown ? "md" : format.rawValue)", Array(text.utf8))
        let error = #expect(throws: OutlineError.self) { try OutlineParser.parse(fileAt: path) }
        #expect(error?.line == nil)
        #expect(error?.message.contains("the outline is \(text.utf8.count) bytes") == true)
        #expect(error?.message.contains("split the course into several outlines") == true)
        let inMemory = parseError(Array(text.utf8), format)
        #expect(inMemory?.message == error?.message)
    }

    @Test("bytes over the limit are refused by the in-memory entry point too")
    func bytesTooLarge() {
        let bytes = [UInt8](repeating: UInt8(ascii: " "), count: OutlineParser.maximumFileSize + 1)
        let error = parseError(bytes, .json)
        #expect(error?.message.contains("1 MiB") == true)
    }
}
