import Logging
import NIOConcurrencyHelpers
import TestSupport
import Testing

@testable import coursegen

@Suite("Terminal log handler")
struct TerminalLogHandlerTests {
    private let time = WallClockTime(hour: 12, minute: 3, second: 4)
    private let attemptFailed: Logger.Metadata = [
        "http_status": "503", "attempt": "2", "chapter": "3", "outline": "practical-rust",
    ]

    @Test("a line reads time, level, message, then the daemon's keys in a fixed order")
    func plainLine() {
        let line = TerminalLogHandler.line(
            level: .warning,
            message: "chapter attempt failed",
            metadata: attemptFailed,
            time: time,
            useColor: false
        )
        #expect(
            line
                == "12:03:04 warning  chapter attempt failed  outline=practical-rust chapter=3 attempt=2 http_status=503"
        )
    }

    @Test("with color only the level is wrapped in its ANSI color and the columns stay aligned")
    func coloredLine() {
        let warning = TerminalLogHandler.line(
            level: .warning,
            message: "chapter attempt failed",
            metadata: attemptFailed,
            time: time,
            useColor: true
        )
        #expect(
            warning
                == "12:03:04 \u{1B}[33mwarning\u{1B}[0m  chapter attempt failed  outline=practical-rust chapter=3 attempt=2 http_status=503"
        )
        let error = TerminalLogHandler.line(level: .error, message: "x", metadata: [:], time: time, useColor: true)
        #expect(error == "12:03:04 \u{1B}[31merror\u{1B}[0m    x")
        let critical = TerminalLogHandler.line(
            level: .critical,
            message: "x",
            metadata: [:],
            time: time,
            useColor: true
        )
        #expect(critical == "12:03:04 \u{1B}[1;31mcritical\u{1B}[0m x")
    }

    @Test("every level name is padded to the same width")
    func levelColumns() {
        for level in Logger.Level.allCases {
            let line = TerminalLogHandler.line(level: level, message: "m", metadata: [:], time: time, useColor: false)
            #expect(line.count == "12:03:04 ".count + 8 + " m".count, "\(level): \(line)")
        }
    }

    @Test("other keys follow the daemon's keys by name, and values that need it are quoted")
    func orderingAndQuoting() {
        let line = TerminalLogHandler.line(
            level: .info,
            message: "chapter published",
            metadata: [
                "zeta": "1", "alpha": "", "chapter_title": "Ownership and borrowing", "outline": "practical-rust",
                "error": "said \"no\"\nthen left", "path": "a=b",
            ],
            time: time,
            useColor: false
        )
        #expect(
            line
                == #"12:03:04 info     chapter published  outline=practical-rust chapter_title="Ownership and borrowing" error="said \"no\"\nthen left" path="a=b" alpha="" zeta=1"#
        )
    }

    @Test("secret keys are redacted and API-key-shaped text is masked")
    func redaction() {
        let key = "AIzaSyA-1234567890abcdefghijklmnopqrstu"
        let line = TerminalLogHandler.line(
            level: .info,
            message: "using \(key)",
            metadata: ["api_key": "\(key)", "tokens_in": "12"],
            time: time,
            useColor: false
        )
        #expect(line == "12:03:04 info     using <redacted>  tokens_in=12 api_key=<redacted>")
    }

    @Test(
        "color only on a terminal, with NO_COLOR unset or empty and TERM not dumb",
        arguments: [
            (true, [String: String](), true), (true, ["NO_COLOR": "1"], false), (true, ["NO_COLOR": ""], true),
            (false, [:], false), (true, ["TERM": "dumb"], false), (true, ["TERM": "xterm-256color"], true),
        ]
    )
    func colorChoice(isTerminal: Bool, environment: [String: String], expected: Bool) {
        #expect(TerminalLogHandler.shouldUseColor(isTerminal: isTerminal, environment: environment) == expected)
    }

    @Test("the handler writes one newline-terminated line per event with the logger's and the event's metadata")
    func handlerWritesLines() throws {
        let lines = NIOLockedValueBox<[String]>([])
        var logger = Logger(label: "test") { _ in
            TerminalLogHandler(useColor: false) { line in lines.withLockedValue { $0.append(line) } }
        }
        logger[metadataKey: "outline"] = "practical-rust"
        logger.info("chapter published", metadata: ["chapter": "1"])
        logger.debug("not shown at the default level")

        let written = lines.withLockedValue { $0 }
        try #require(written.count == 1)
        #expect(written[0].hasSuffix(" info     chapter published  outline=practical-rust chapter=1\n"))
        #expect(written[0].wholeMatch(of: /\d\d:\d\d:\d\d .*\n/) != nil)
    }

    @Test("a time of day prints as HH:MM:SS")
    func timeFormat() {
        #expect(WallClockTime(hour: 9, minute: 5, second: 3).description == "09:05:03")
        #expect(WallClockTime(hour: 23, minute: 59, second: 59).description == "23:59:59")
    }
}
