import FakeGemini
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("coursegen generate names files in the outline's own script, the real binary")
struct UnicodeNamesTests {
    let key = FakeGeminiServer.defaultAPIKey

    /// A Japanese course. `データ型` is written decomposed (テ + U+3099), as some editors save it;
    /// two titles give the same words (練習), one gives none (🚀).
    static let outline = """
        ---
        language: ja
        ---
        # Rust入門

        Rust を初めて学ぶ人のための講座。

        ## はじめに
        - インストール

        ## 基本の\u{30C6}\u{3099}ータ型
        - 整数と文字列

        ## 所有権
        - ムーブとコピー

        ## 練習!
        - 問題

        ## 練習?
        - 答え

        ## 🚀
        - 次の一歩

        """

    static let chapterFiles = [
        "01-はじめに.md", "02-基本の\u{30C7}ータ型.md", "03-所有権.md", "04-練習.md", "05-練習.md", "06-chapter.md",
    ]

    @Test("a Japanese outline publishes NN-title.md names in NFC, and SUMMARY.md links each as it is")
    func japaneseOutline() async throws {
        let temp = try TemporaryFolder()
        let server = try await FakeGeminiServer.start { _ in .success() }
        try temp.write("course.md", Self.outline)
        let arguments = ["generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL]
        let first = try await Binary.run(arguments, environment: ["GEMINI_API_KEY": key], directory: temp.path)
        let second = try await Binary.run(arguments, environment: ["GEMINI_API_KEY": key], directory: temp.path)
        let check = try await Binary.run(["check", "course.md"], directory: temp.path)
        try await server.shutdown()

        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardOutput.contains("course: 6 chapters in \(temp.path)/out/course (6 generated)"))
        #expect(second.status == 0)
        #expect(second.standardOutput.contains("(6 unchanged)"), "the names are stable: \(second.standardOutput)")

        let folder = "\(temp.path)/out/course"
        let expected = (Self.chapterFiles + ["STATUS.md", "SUMMARY.md", "book.toml"]).map { Array($0.utf8) }
        #expect(Self.rawNames(in: folder) == expected.sorted { $0.lexicographicallyPrecedes($1) })

        let summary = try #require(FileManager.default.contents(atPath: "\(folder)/SUMMARY.md"))
        let titles = ["はじめに", "基本の\u{30C7}ータ型", "所有権", "練習!", "練習?", "🚀"]
        let expectedSummary =
            "# Summary\n\n" + zip(titles, Self.chapterFiles).map { "- [\($0)](\($1))\n" }.joined()
        #expect(Array(summary) == Array(expectedSummary.utf8), "\(String(decoding: summary, as: UTF8.self))")
        // mdBook takes a bare destination as the path itself (only `%20` is decoded): each must
        // name a file in the folder, byte for byte.
        for line in String(decoding: summary, as: UTF8.self).split(separator: "\n") where line.hasPrefix("- [") {
            let destination = try #require(line.split(separator: "(").last?.dropLast())
            #expect(!destination.contains("%") && !destination.contains(" "))
            #expect(FileManager.default.fileExists(atPath: "\(folder)/\(destination)"), "\(line)")
        }

        let chapter = try #require(temp.read("out/course/01-はじめに.md"))
        #expect(chapter.hasPrefix("# はじめに\n\n"))
        #expect(check.status == 0)
        #expect(check.standardOutput.contains("1. はじめに  -> 01-はじめに.md"), "\(check.standardOutput)")
        #expect(check.standardOutput.contains("6. 🚀  -> 06-chapter.md"))
    }

    /// The names in `folder` as the file system holds them, byte for byte (no String
    /// normalisation on the way), sorted.
    static func rawNames(in folder: String) -> [[UInt8]] {
        guard let directory = opendir(folder) else { return [] }
        defer { closedir(directory) }
        var names: [[UInt8]] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name != Array(".".utf8) && name != Array("..".utf8) { names.append(name) }
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }
}
