import Platform
import TestSupport
import Testing

@testable import Watcher

@Suite("What counts as an outline")
struct InboxFilterTests {
    let filter = InboxFilter(
        extensions: ["md", ".YAML", "yml", "json"],
        excludedRelativePaths: ["out", "team-a/state"]
    )

    @Test(
        "outline files in the inbox and its subfolders are candidates",
        arguments: ["course.md", "team-a/practical-rust.md", "a/b/c.yaml", "x.yml", "data.json", "UPPER.MD", "v1.2.md"]
    )
    func outlines(path: String) {
        #expect(filter.isOutlineCandidate(path))
    }

    @Test(
        "hidden files, temporaries, other extensions and excluded folders are not",
        arguments: [
            ".hidden.md", ".a.md.swp", ".a.md.swx", "4913", "a.md~", "#a.md#", ".#a.md", "a.md___jb_tmp___",
            "a.md___jb_old___", ".~lock.a.md#", ".a.md.Xy12Zq", "a.md.tmp", "a.md.part", "a.md.crdownload",
            "a.tmp", "notes.txt", "README", ".md", "sedAbC123", "out/x.md", "out/deep/x.md", "team-a/state/x.md",
            ".git/x.md", "team-a/.cache/x.md",
        ]
    )
    func notOutlines(path: String) {
        #expect(!filter.isOutlineCandidate(path))
    }

    @Test("hidden and excluded folders are not watched; others are")
    func folders() {
        #expect(filter.watchesFolder(""))
        #expect(filter.watchesFolder("team-a"))
        #expect(filter.watchesFolder("outline"))  // shares a prefix with "out" but is not below it
        #expect(!filter.watchesFolder("out"))
        #expect(!filter.watchesFolder("team-a/state"))
        #expect(!filter.watchesFolder(".git"))
        #expect(!filter.watchesFolder("team-a/.cache/deeper"))
    }

    @Test(
        "a path is within a folder by whole components, relative paths with \"\" for the root",
        arguments: [
            ("/srv/inbox/a", "/srv/inbox", "a"), ("/srv/inbox", "/srv/inbox", ""), ("/srv/inbox2/a", "/srv/inbox", nil),
            ("/srv", "/", "srv"), ("team/a.md", "", "team/a.md"), ("team/a.md", "team", "a.md"),
            ("teams/a.md", "team", nil), ("team", "team/a", nil),
        ] as [(String, String, String?)]
    )
    func within(path: String, folder: String, relative: String?) {
        #expect(path.isPath(within: folder) == (relative != nil))
        #expect(path.path(relativeTo: folder) == relative)
    }

    @Test("paths are normalised lexically and made relative to the inbox (AbsolutePath)")
    func relativePaths() {
        #expect(AbsolutePath("/srv/inbox").relative(AbsolutePath("/srv//inbox/./a/../out/")) == "out")
        #expect(AbsolutePath("/srv/inbox/").relative(AbsolutePath("/srv/inbox/out")) == "out")
        #expect(AbsolutePath("/srv/x/../inbox").relative(AbsolutePath("/srv/inbox/a/b")) == "a/b")
        #expect(AbsolutePath("/srv/inbox").relative(AbsolutePath("/srv/inbox")) == "")
        #expect(AbsolutePath("/srv/inbox").relative(AbsolutePath("/srv/inbox2/out")) == nil)
    }
}
