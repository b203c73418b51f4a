import TestSupport
import Testing

@testable import Generation
@testable import Outlines

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Folder claims")
struct FolderClaimsTests {
    @Test(
        "outlines that map to one folder are rivals: the same stem, any outline extension, in the same folder",
        arguments: [
            ("course.md", ["course.md", "course.yaml", "course.v2.md", "course.json", "notes.md", "course.txt"],
             ["course.json", "course.yaml"]),
            ("course.v2.md", ["course.md", "course.v2.md", "course.v2.yml"], ["course.v2.yml"]),
            ("solo.md", ["solo.md", "other.md"], []),
        ] as [(String, [String], [String])]
    )
    func rivals(file: String, names: [String], expected: [String]) {
        #expect(Outline.rivals(of: file, among: names) == expected)
    }

    @Test("the first claim keeps a folder; with none recorded the first path in byte order wins; a removed owner frees it")
    func claims() throws {
        let temp = try TemporaryFolder()
        let claims = FolderClaims(stateDirectory: "\(temp.path)/state")
        let markdown = try temp.write("inbox/course.md", "x")
        let yaml = try temp.write("inbox/course.yaml", "x")
        let folder = "\(temp.path)/out/course"
        #expect(try claims.claim(folder, for: yaml, rivals: [markdown]) == .refused(owner: markdown))
        #expect(try claims.claim(folder, for: markdown, rivals: [yaml]) == .granted)
        #expect(try claims.owner(of: folder) == markdown)
        // Once claimed, byte order no longer matters: the owner keeps it.
        try claims.release(folder, from: markdown)
        #expect(try claims.claim(folder, for: yaml, rivals: []) == .granted)
        #expect(try claims.claim(folder, for: markdown, rivals: [yaml]) == .refused(owner: yaml))
        // An owner that no longer exists has no claim.
        unlink(yaml)
        #expect(try claims.claim(folder, for: markdown, rivals: []) == .granted)
    }
}
