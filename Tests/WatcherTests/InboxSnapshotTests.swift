import Crypto
import Platform
import SystemPackage
import Testing

@testable import Watcher

/// The periodic scan's decisions, from made-up signatures and readings: which paths to look at, and what a look
/// at one of them means.
@Suite("Periodic scan decisions")
struct InboxSnapshotTests {
    /// A signature: `inode` tells files apart, `version` stands for size and times.
    static func signature(inode: UInt64 = 1, _ version: Int64) -> FileSignature {
        FileSignature(
            identity: FileIdentity(device: 7, inode: inode),
            size: 100 + version,
            modified: .seconds(1_700_000_000 + version),
            statusChanged: .seconds(1_700_000_000 + version)
        )
    }

    static func digest(_ text: String) -> ContentDigest { SHA256.hash(data: Array(text.utf8)) }

    /// A reading during which nothing changed, an hour after the file's last modification.
    static func steady(_ signature: FileSignature, _ text: String) -> Result<ContentReader.Sample, Errno> {
        .success(sample(signature, signature, current: signature, text))
    }

    static func sample(
        _ before: FileSignature,
        _ after: FileSignature,
        current: FileSignature?,
        _ text: String,
        readAfter: Duration = .seconds(3600)
    ) -> ContentReader.Sample {
        ContentReader.Sample(
            before: before,
            after: after,
            current: current,
            digest: digest(text),
            readAt: after.modified + readAfter
        )
    }

    /// A look at a file, or at something else (then `signature` is what a scan would see).
    static func look(
        _ entry: InboxEntry,
        _ sample: Result<ContentReader.Sample, Errno>? = nil,
        signature: FileSignature? = nil
    ) -> InboxSnapshot.Look {
        var signature = signature
        if case .success(let reading)? = sample { signature = reading.current }
        return InboxSnapshot.Look(entry: entry, signature: signature, sample: sample)
    }

    /// A snapshot in which `a.md` (version 1, "# A") was reported.
    static func reportedA() -> InboxSnapshot {
        var snapshot = InboxSnapshot()
        #expect(snapshot.judge("a.md", look(.file, steady(signature(1), "# A"))) == .file)
        return snapshot
    }

    // MARK: - What a scan asks to look at

    struct ScanCase: Sendable, CustomTestStringConvertible {
        let name: String
        let scan: [String: FileSignature]
        let unlisted: Set<String>
        let expected: [String]
        var testDescription: String { name }
    }

    static let scanCases: [ScanCase] = [
        ScanCase(name: "nothing changed: nothing is read", scan: ["a.md": signature(1)], unlisted: [], expected: []),
        ScanCase(
            name: "a touch or a write (new times)",
            scan: ["a.md": signature(2)],
            unlisted: [],
            expected: ["a.md"]
        ),
        ScanCase(
            name: "a rename onto it (new inode, same times)",
            scan: ["a.md": signature(inode: 2, 1)],
            unlisted: [],
            expected: ["a.md"]
        ),
        ScanCase(name: "deleted", scan: [:], unlisted: [], expected: ["a.md"]),
        ScanCase(
            name: "a new file beside an unchanged one",
            scan: ["a.md": signature(1), "team/b.md": signature(inode: 3, 1)],
            unlisted: [],
            expected: ["team/b.md"]
        ),
        ScanCase(name: "its folder could not be listed: kept", scan: [:], unlisted: [""], expected: []),
        ScanCase(name: "another folder could not be listed", scan: [:], unlisted: ["team"], expected: ["a.md"]),
    ]

    @Test("a scan asks to look only at outlines that appeared, vanished or changed signature", arguments: scanCases)
    func scanComparison(_ example: ScanCase) {
        var snapshot = Self.reportedA()
        #expect(snapshot.changes(in: example.scan, unlistedFolders: example.unlisted) == example.expected)
    }

    @Test("500 unchanged outlines: the second and later scans ask to read none of them")
    func manyUnchanged() {
        var snapshot = InboxSnapshot()
        let scan = Dictionary(
            uniqueKeysWithValues: (0..<500).map { ("o\($0).md", Self.signature(inode: UInt64($0), 1)) }
        )
        #expect(snapshot.changes(in: scan).count == 500)
        #expect(snapshot.changes(in: scan).isEmpty)
        #expect(snapshot.changes(in: scan).isEmpty)
    }

    @Test("a signature seen once is not asked about again until it changes again")
    func seenOnce() {
        var snapshot = Self.reportedA()
        #expect(snapshot.changes(in: ["a.md": Self.signature(2)]) == ["a.md"])
        #expect(snapshot.changes(in: ["a.md": Self.signature(2)]) == [])
        #expect(snapshot.changes(in: ["a.md": Self.signature(3)]) == ["a.md"])
    }

    // MARK: - What a look means

    struct LookCase: Sendable, CustomTestStringConvertible {
        let name: String
        /// What the scan before the look saw; nil: the look was not asked for by a scan (inotify, start).
        let scanned: FileSignature?
        let entry: InboxEntry
        let sample: Result<ContentReader.Sample, Errno>?
        let expected: InboxEntry
        var testDescription: String { name }
    }

    static let lookCases: [LookCase] = [
        LookCase(
            name: "touch, chmod or identical rewrite: same content, not reported",
            scanned: signature(2),
            entry: .file,
            sample: steady(signature(2), "# A"),
            expected: .unchangedFile
        ),
        LookCase(
            name: "a real save, settled since the scan: reported",
            scanned: signature(2),
            entry: .file,
            sample: steady(signature(2), "# A2"),
            expected: .file
        ),
        LookCase(
            name: "a real save through a symlink: reported as the link",
            scanned: signature(2),
            entry: .linkToFile,
            sample: steady(signature(2), "# A2"),
            expected: .linkToFile
        ),
        LookCase(
            name: "written again since the scan saw it: still changing",
            scanned: signature(2),
            entry: .file,
            sample: steady(signature(3), "# A2"),
            expected: .changingFile
        ),
        LookCase(
            name: "written while it was read: still changing",
            scanned: signature(2),
            entry: .file,
            sample: .success(sample(signature(2), signature(3), current: signature(3), "# A2")),
            expected: .changingFile
        ),
        LookCase(
            name: "replaced by a rename while it was read: still changing",
            scanned: signature(2),
            entry: .file,
            sample: .success(sample(signature(2), signature(2), current: signature(inode: 9, 2), "# A2")),
            expected: .changingFile
        ),
        LookCase(
            name: "vanished between the look and the reading (a rename dance): look again",
            scanned: signature(2),
            entry: .file,
            sample: .failure(.noSuchFileOrDirectory),
            expected: .changingFile
        ),
        LookCase(
            name: "unreadable: reported, so that the reader says why",
            scanned: signature(2),
            entry: .file,
            sample: .failure(.permissionDenied),
            expected: .file
        ),
        LookCase(
            name: "deleted: reported as it is (removed)",
            scanned: nil,
            entry: .missing,
            sample: nil,
            expected: .missing
        ),
        LookCase(
            name: "an inotify event for an identical rewrite: not reported",
            scanned: nil,
            entry: .file,
            sample: steady(signature(5), "# A"),
            expected: .unchangedFile
        ),
        LookCase(
            name: "an inotify event for a real save: reported without waiting for a scan",
            scanned: nil,
            entry: .file,
            sample: steady(signature(5), "# A5"),
            expected: .file
        ),
    ]

    @Test("a look decides: unchanged, changed, still changing, or gone", arguments: lookCases)
    func look(_ example: LookCase) {
        var snapshot = Self.reportedA()
        if let scanned = example.scanned { #expect(snapshot.changes(in: ["a.md": scanned]) == ["a.md"]) }
        #expect(snapshot.judge("a.md", Self.look(example.entry, example.sample)) == example.expected)
    }

    @Test("a file seen changing is reported once it has stopped, and exactly once")
    func changingThenSettled() {
        var snapshot = Self.reportedA()
        // The scan catches the file half-written; by the look it has grown.
        #expect(snapshot.changes(in: ["a.md": Self.signature(2)]) == ["a.md"])
        #expect(snapshot.judge("a.md", Self.look(.file, Self.steady(Self.signature(3), "# A2 half"))) == .changingFile)
        // A scan in between sees what the look saw: nothing new to ask.
        #expect(snapshot.changes(in: ["a.md": Self.signature(3)]) == [])
        // The next look finds it as the last one did: settled, and new content.
        #expect(snapshot.judge("a.md", Self.look(.file, Self.steady(Self.signature(3), "# A2 full"))) == .file)
        // Later scans see the same signature: nothing to read, nothing to report.
        #expect(snapshot.changes(in: ["a.md": Self.signature(3)]) == [])
    }

    @Test("a deleted outline that comes back with the same content is reported again")
    func deletedAndBack() {
        var snapshot = Self.reportedA()
        #expect(snapshot.changes(in: [:]) == ["a.md"])
        #expect(snapshot.judge("a.md", Self.look(.missing)) == .missing)
        #expect(snapshot.changes(in: ["a.md": Self.signature(inode: 4, 6)]) == ["a.md"])
        #expect(snapshot.judge("a.md", Self.look(.file, Self.steady(Self.signature(inode: 4, 6), "# A"))) == .file)
    }

    @Test("a symlink leading outside the inbox is looked at once, not at every scan")
    func linkOutsideOnce() {
        var snapshot = InboxSnapshot()
        #expect(snapshot.changes(in: ["evil.md": Self.signature(inode: 8, 1)]) == ["evil.md"])
        #expect(
            snapshot.judge(
                "evil.md",
                Self.look(.linkOutsideInbox(target: "/etc/passwd"), signature: Self.signature(inode: 8, 1))
            )
                == .linkOutsideInbox(target: "/etc/passwd")
        )
        #expect(snapshot.changes(in: ["evil.md": Self.signature(inode: 8, 1)]) == [])
    }

    @Test("an outline replaced by a folder or a FIFO is looked at once, not at every scan")
    func notAFileAnyMore() {
        var snapshot = Self.reportedA()
        // A scan lists only regular files (and links to them): a.md is gone from it.
        #expect(snapshot.changes(in: [:]) == ["a.md"])
        #expect(snapshot.judge("a.md", Self.look(.folder)) == .folder)
        #expect(snapshot.changes(in: [:]) == [])
    }

    @Test("a file read in the same timestamp tick as its last write is read again by the next scan, once")
    func racilyClean() {
        var snapshot = InboxSnapshot()
        let justWritten = Self.sample(
            Self.signature(1),
            Self.signature(1),
            current: Self.signature(1),
            "# A",
            readAfter: .milliseconds(300)
        )
        #expect(snapshot.judge("a.md", Self.look(.file, .success(justWritten))) == .file)
        // Same signature, but a write in the same tick would not have changed it: look again.
        #expect(snapshot.changes(in: ["a.md": Self.signature(1)]) == ["a.md"])
        // Read long after its modification: clean for good.
        #expect(snapshot.judge("a.md", Self.look(.file, Self.steady(Self.signature(1), "# A"))) == .unchangedFile)
        #expect(snapshot.changes(in: ["a.md": Self.signature(1)]) == [])
    }
}
