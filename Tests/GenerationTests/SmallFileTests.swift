import Foundation
import SystemPackage
import TestSupport
import Testing

@testable import Generation
@testable import Outlines
import Platform

#if canImport(Glibc)
    import Glibc
#endif

/// One reader for the small files users name: outlines, templates, key files.
@Suite("Reading a small file a user names")
struct SmallFileTests {
    @Test("a regular file is read whole; a missing one, a folder, a FIFO or one over the limit is refused at once")
    func cases() throws {
        let temp = try TemporaryFolder()
        let path = try temp.write("file.txt", "twelve bytes")
        #expect(try SmallFile.read(path, limit: 12) == Array("twelve bytes".utf8))
        #expect(throws: SmallFile.Failure.tooLarge(size: 12)) { try SmallFile.read(path, limit: 11) }
        #expect(throws: SmallFile.Failure.cannotOpen(.noSuchFileOrDirectory)) {
            try SmallFile.read("\(temp.path)/missing", limit: 10)
        }
        #expect(throws: SmallFile.Failure.notRegular(isDirectory: true)) { try SmallFile.read(temp.path, limit: 10) }
        // A FIFO with no writer would block an open or a read forever; it is refused at once.
        let fifo = "\(temp.path)/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: SmallFile.Failure.notRegular(isDirectory: false)) { try SmallFile.read(fifo, limit: 10) }
        let empty = try temp.write("empty", "")
        #expect(try SmallFile.read(empty, limit: 10) == [])
    }

    @Test("a template or an outline that is a FIFO is refused with a message, not waited on")
    func fifoTemplateAndOutline() throws {
        let temp = try TemporaryFolder()
        let template = "\(temp.path)/style.mustache"
        #expect(mkfifo(template, 0o600) == 0)
        let error = #expect(throws: PromptTemplateError.self) { try CoursePrompts.load(template, role: .chapter) }
        #expect(error?.message.contains("not a regular file") == true)
        let outline = "\(temp.path)/course.md"
        #expect(mkfifo(outline, 0o600) == 0)
        let outlineError = #expect(throws: OutlineError.self) { try OutlineParser.parse(fileAt: outline) }
        #expect(outlineError?.message.contains("not a regular file") == true)
    }
}
