import ArgumentParser

@main
struct Coursegen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coursegen",
        abstract: "Turns course outlines into ordered chapter files written by Gemini, regenerating only what changed.",
        discussion: """
            Exit status: 0 when every chapter is published; 1 when some chapter failed or was \
            skipped for the budget (the others are published); 65 for an outline that cannot be read or whose folder another outline \
            owns; 74 for a file-system error; 75 when the daily quota is used up; 78 for a setting \
            or key that cannot be used (or a key or model the API refused); 69 when models cannot list them; 64 for a command-line mistake.
            """,
        version: Release.version,
        subcommands: [
            Generate.self, Watch.self, Check.self, Status.self, ModelsCommand.self, GarbageCollect.self, SettingsCommand.self,
        ]
    )
}

/// Exit statuses, from sysexits.h where one fits.
enum Exit {
    static let someChaptersFailed = ExitCode(1)
    /// A command-line mistake (as ArgumentParser's own validation failures).
    static let usage = ExitCode.validationFailure
    static let badOutline = ExitCode(65)
    static let badConfiguration = ExitCode(78)
    static let ioError = ExitCode(74)
    static let quotaExhausted = ExitCode(75)
    /// A service the command needs did not answer (EX_UNAVAILABLE).
    static let unavailable = ExitCode(69)
}
