import Platform
import TestSupport
import Testing

@testable import coursegen

@Suite("Choosing the log output from JOURNAL_STREAM")
struct JournalStreamTests {
    private let standardError = FileIdentity(device: 64769, inode: 1_234_567)

    @Test("the journal when JOURNAL_STREAM names standard error's device and inode")
    func matching() {
        #expect(LogOutput.choose(journalStream: "64769:1234567", standardError: standardError) == .journal)
    }

    @Test(
        "the terminal when JOURNAL_STREAM is missing, malformed or names another file",
        arguments: [
            nil, "", "64769:7654321", "1:1234567", "64769", "64769:1234567:1", "dev:inode", "-1:1234567",
            " 64769:1234567",
        ]
    )
    func notMatching(journalStream: String?) {
        #expect(LogOutput.choose(journalStream: journalStream, standardError: standardError) == .terminal)
    }

    @Test("the terminal when standard error is closed")
    func closedStandardError() {
        #expect(LogOutput.choose(journalStream: "64769:1234567", standardError: nil) == .terminal)
    }

    @Test("DEV:INODE parses as two decimal numbers")
    func parsing() {
        #expect(LogOutput.parseJournalStream("8:3") == FileIdentity(device: 8, inode: 3))
        #expect(
            LogOutput.parseJournalStream("18446744073709551615:1")
                == FileIdentity(device: .max, inode: 1)
        )
        #expect(LogOutput.parseJournalStream("8:") == nil)
        #expect(LogOutput.parseJournalStream(":3") == nil)
    }
}
