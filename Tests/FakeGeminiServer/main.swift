// fake-gemini: the FakeGemini server as a process, for shell scripts such as the systemd
// end-to-end test. It prints the port it listens on, writes it to --port-file, and serves until
// SIGTERM or SIGINT.
import ArgumentParser
import Dispatch
import FakeGemini
import Foundation

struct FakeGeminiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fake-gemini",
        abstract: "A local stand-in for the Gemini API, for tests.",
        discussion: """
            Serves POST /v1beta/models/MODEL:generateContent (and /v1, and :streamGenerateContent) \
            on 127.0.0.1 like Google's API, and GET /_fake/stats with the request counts as JSON: \
            {"requests": N, "byPrompt": {...}, "byModel": {...}, "maxInFlight": N, "rateLimited": N, \
            "keyInURL": N, ...}. Stops on SIGTERM or SIGINT.
            """
    )

    @Option(help: "The port to listen on; 0 lets the system pick one.")
    var port: Int = 0

    @Option(help: "The only API key accepted (x-goog-api-key). Without it or --key-file any non-empty key is accepted.")
    var key: String?

    @Option(
        name: .customLong("key-file"),
        help: ArgumentHelp(
            "A file holding the only API key accepted, alone on one line: keeps the key off the command line, which systemd logs.",
            valueName: "path"
        )
    )
    var keyFile: String?

    @Option(name: .customLong("latency-ms"), help: "Milliseconds to wait before every reply.")
    var latencyMilliseconds: Int = 0

    @Option(help: "none: every request succeeds; mix: a realistic, seeded mix of faults (see --seed).")
    var faults: Faults = .none

    @Option(help: "The seed of the fault mix.")
    var seed: UInt64 = 1

    @Option(help: "With --faults mix: attempts of one prompt that may fail before it succeeds.")
    var maxFailures: Int = 2

    @Option(
        name: .customLong("fail-first"),
        help: """
            The first N attempts of every prompt answer 503 UNAVAILABLE (after the latency); later \
            ones answer as --faults says.
            """
    )
    var failFirst: Int = 0

    @Option(help: "A file to write the chosen port to (atomically, by rename).")
    var portFile: String?

    enum Faults: String, ExpressibleByArgument, CaseIterable {
        case none, mix
    }

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535, got \(port).") }
        guard latencyMilliseconds >= 0 else {
            throw ValidationError("--latency-ms must be 0 or more, got \(latencyMilliseconds).")
        }
        guard maxFailures >= 0 else { throw ValidationError("--max-failures must be 0 or more, got \(maxFailures).") }
        guard failFirst >= 0 else { throw ValidationError("--fail-first must be 0 or more, got \(failFirst).") }
        if let key, key.isEmpty { throw ValidationError("--key must not be empty; leave it out to accept any key.") }
        if key != nil, keyFile != nil { throw ValidationError("give --key or --key-file, not both.") }
    }

    /// The key from `--key`, else from `--key-file` (surrounding whitespace ignored), else nil.
    /// - Throws: `ValidationError` naming the file when it cannot be read or holds no single key.
    func acceptedKey() throws -> String? {
        guard let keyFile else { return key }
        guard let data = FileManager.default.contents(atPath: keyFile),
            let text = String(data: data, encoding: .utf8)
        else {
            throw ValidationError("--key-file \(keyFile): cannot read it (missing, unreadable or not UTF-8).")
        }
        let fileKey = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !fileKey.isEmpty, !fileKey.contains(where: \.isWhitespace) else {
            throw ValidationError("--key-file \(keyFile): must hold the key alone on one line.")
        }
        return fileKey
    }

    func run() async throws {
        try await serve()
    }

    /// Starts the server, publishes its port, and serves until SIGTERM or SIGINT.
    func serve() async throws {
        let acceptedKey = try acceptedKey()
        let latency = Duration.milliseconds(latencyMilliseconds)
        let answer: @Sendable (FakeGeminiServer.Request) -> FakeGeminiServer.Reply
        switch faults {
        case .none:
            answer = { _ in .success().after(latency) }
        case .mix:
            let mix = FakeGeminiServer.FaultMix.realistic(
                seed: seed,
                maxFailuresPerPrompt: maxFailures,
                latency: latency
            )
            answer = { mix.reply(for: $0) }
        }
        // Attempts are counted per prompt by the server, across client restarts, so a retry
        // after a restart still gets past the failures.
        let failFirst = self.failFirst
        let reply: @Sendable (FakeGeminiServer.Request) -> FakeGeminiServer.Reply = { request in
            request.attempt <= failFirst ? .status(code: 503).after(latency) : answer(request)
        }

        // Ignore the default actions before the server starts, so a signal that arrives early
        // still reaches the dispatch sources below instead of killing the process.
        let signals = [SIGTERM, SIGINT]
        for signalNumber in signals { signal(signalNumber, SIG_IGN) }
        let (stop, stopContinuation) = AsyncStream.makeStream(of: Int32.self)
        let sources = signals.map { signalNumber in
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { stopContinuation.yield(signalNumber) }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }

        let server = try await FakeGeminiServer.start(
            FakeGeminiServer.Configuration(port: port, apiKey: acceptedKey, models: nil, reply: reply)
        )
        do {
            if let portFile {
                try Data("\(server.port)\n".utf8).write(to: URL(fileURLWithPath: portFile), options: .atomic)
            }
        } catch {
            try await server.shutdown()
            throw ValidationError("cannot write --port-file \(portFile ?? ""): \(error.localizedDescription)")
        }
        FileHandle.standardOutput.write(Data("\(server.port)\n".utf8))
        FileHandle.standardError.write(Data("fake-gemini: listening on \(server.baseURL)\n".utf8))

        for await _ in stop { break }
        try await server.shutdown()
        FileHandle.standardError.write(Data("fake-gemini: stopped\n".utf8))
    }
}

// Parsed and run by hand: in top-level code both `await FakeGeminiCommand.main()` and
// `await command.run()` resolve to ParsableCommand's synchronous defaults, which only print help.
do {
    let command = try FakeGeminiCommand.parse()
    try await command.serve()
} catch {
    FakeGeminiCommand.exit(withError: error)
}
