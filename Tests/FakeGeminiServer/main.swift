// fake-gemini: the fake API servers as a process, for shell scripts such as the systemd
// end-to-end test and the benchmarks. Speaks Gemini by default, an OpenAI-compatible server with
// --api openai. It prints the port it listens on, writes it to --port-file, and serves until
// SIGTERM or SIGINT.
import ArgumentParser
import Dispatch
import FakeGemini
import FakeOpenAI
import FakeServerKit
import Foundation

struct FakeGeminiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fake-gemini",
        abstract: "A local stand-in for the Gemini API (or an OpenAI-compatible server), for tests and benchmarks.",
        discussion: """
            Serves POST /v1beta/models/MODEL:generateContent (and /v1, and :streamGenerateContent) \
            on 127.0.0.1 like Google's API, or POST /v1/chat/completions with --api openai. \
            GET /_fake/stats answers the counters as JSON: {"requests": N, "byPrompt": {...}, \
            "byModel": {...}, "byStatus": {...}, "maxInFlight": N, "rateLimited": N, \
            "quotaRejected": N, "maxAdmittedPerWindow": N, "stormRejected": N, "stormActive": B, \
            "keyInURL": N, ...}. POST /_fake/storm?active=true|false switches an overload storm \
            on or off. Stops on SIGTERM or SIGINT.
            """
    )

    enum API: String, ExpressibleByArgument, CaseIterable {
        case gemini, openai
    }

    enum Faults: String, ExpressibleByArgument, CaseIterable {
        case none, mix
    }

    @Option(help: "The API to speak: gemini, or openai (POST /v1/chat/completions).")
    var api: API = .gemini

    @Option(help: "The port to listen on; 0 lets the system pick one.")
    var port: Int = 0

    @Option(help: "A file to write the chosen port to (atomically, by rename).")
    var portFile: String?

    @Option(help: "The only API key accepted. Without it or --key-file any non-empty key is accepted.")
    var key: String?

    @Option(
        name: .customLong("key-file"),
        help: ArgumentHelp(
            "A file holding the only API key accepted, alone on one line: keeps the key off the command line, which systemd logs.",
            valueName: "path"
        )
    )
    var keyFile: String?

    @Flag(help: "With --api openai: accept requests without any Authorization header, like Ollama.")
    var noKey = false

    @Option(help: "Comma-separated model names served; others get 404. Default: any model.")
    var models: String?

    // MARK: Timing

    @Option(name: .customLong("latency-ms"), help: "Milliseconds to wait before every reply.")
    var latencyMilliseconds: Int = 0

    @Option(
        help: ArgumentHelp(
            "Every reply's latency drawn from a distribution, per prompt and attempt. \(LatencyModel.specHelp)",
            valueName: "spec"
        )
    )
    var latency: String?

    @Option(help: "Text events per streamed reply.")
    var streamEvents: Int = 3

    // MARK: Faults

    @Option(help: "none: every request succeeds; mix: a realistic, seeded mix of faults (see --seed).")
    var faults: Faults = .none

    @Option(
        help: ArgumentHelp(
            "A mix of your own instead of --faults mix's: REPLY=PROBABILITY,... with each REPLY as --reply takes it, e.g. 503=0.15,500=0.05,empty=0.05,malformed=0.03,reset=0.03; other attempts succeed. Seeded by --seed, at most --max-failures per prompt.",
            valueName: "spec"
        )
    )
    var faultMix: String?

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

    @Option(help: ArgumentHelp("What every reply is, instead of a success. \(ReplySpec.help)", valueName: "spec"))
    var reply: String = "success"

    // MARK: Quota

    @Option(help: "Requests admitted per quota window (sliding); beyond it, 429 with the API's own details.")
    var rpm: Int?

    @Option(help: "Tokens admitted per quota window (Gemini: input tokens; OpenAI: input plus the output budget).")
    var tpm: Int?

    @Option(help: "Requests admitted per day (a fixed window from the start, see --day-seconds).")
    var rpd: Int?

    @Option(help: "The quota window in seconds.")
    var quotaWindow: Double = 60

    @Option(help: "The length of a quota day in seconds.")
    var daySeconds: Double = 86_400

    @Option(
        help:
            "With --api openai: the headers of a 429 from the quota: both, seconds (Retry-After), ms (retry-after-ms), none."
    )
    var retryAfter: String = "both"

    @Option(
        help:
            "With --api openai: both, rejects-max-completion-tokens, rejects-max-tokens or ignores-max-completion-tokens."
    )
    var maxTokensParameter: String = "both"

    // MARK: Storm

    @Option(help: "The share (0...1) of requests a storm answers 503 UNAVAILABLE.")
    var stormFraction: Double?

    @Option(help: "When the storm runs on its own, in seconds from the start: FROM-UNTIL, or FROM- for ever after.")
    var stormWindow: String?

    @Option(help: "The seed of the storm's draws.")
    var stormSeed: UInt64 = 1

    // MARK: Wire

    @Option(help: "The line ending of stream events: crlf (Gemini's default) or lf (OpenAI's default).")
    var lineEnding: String?

    @Option(help: "Where stream events are cut into writes: none, halves, adversarial, every-byte, or seeded:N.")
    var split: String = "halves"

    @Flag(help: "Accept connections and never read nor answer them (GET /_fake/stats is unreachable too).")
    var unresponsive = false

    @Option(help: "Seconds a Batch API job stays BATCH_STATE_PENDING after it is created.")
    var batchPendingSeconds: Double = 0

    @Option(help: "Seconds a Batch API job then stays BATCH_STATE_RUNNING before it ends.")
    var batchRunningSeconds: Double = 0

    @Option(help: "How Batch API jobs end: succeeded, failed, cancelled or expired.")
    var batchEnd: String = "succeeded"

    // MARK: Recording

    @Option(
        name: .customLong("record-requests"),
        help: ArgumentHelp(
            "An empty or new folder to write every request into when the server stops, one file each in arrival order (0001.txt, 0002.txt, ...): the request line (POST /v1beta/models/M:generateContent?alt=sse), a newline, then the body exactly as received. scripts/check-request-shapes.sh reads them.",
            valueName: "dir"
        )
    )
    var recordRequests: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535, got \(port).") }
        guard latencyMilliseconds >= 0 else {
            throw ValidationError("--latency-ms must be 0 or more, got \(latencyMilliseconds).")
        }
        if latency != nil, latencyMilliseconds > 0 {
            throw ValidationError("give --latency or --latency-ms, not both.")
        }
        guard maxFailures >= 0 else { throw ValidationError("--max-failures must be 0 or more, got \(maxFailures).") }
        guard failFirst >= 0 else { throw ValidationError("--fail-first must be 0 or more, got \(failFirst).") }
        guard streamEvents >= 1 else {
            throw ValidationError("--stream-events must be 1 or more, got \(streamEvents).")
        }
        if let key, key.isEmpty { throw ValidationError("--key must not be empty; leave it out to accept any key.") }
        if key != nil, keyFile != nil { throw ValidationError("give --key or --key-file, not both.") }
        if noKey, key != nil || keyFile != nil { throw ValidationError("give --no-key or a key, not both.") }
        for (name, value) in [("--rpm", rpm), ("--tpm", tpm), ("--rpd", rpd)] {
            if let value, value < 1 { throw ValidationError("\(name) must be 1 or more, got \(value).") }
        }
        guard quotaWindow > 0, daySeconds > 0 else {
            throw ValidationError("--quota-window and --day-seconds must be above 0.")
        }
        if let stormFraction, !(0...1).contains(stormFraction) {
            throw ValidationError("--storm-fraction must be between 0 and 1, got \(stormFraction).")
        }
        if let lineEnding, LineEnding(rawValue: lineEnding) == nil {
            throw ValidationError("--line-ending must be crlf or lf, got \(lineEnding).")
        }
        _ = try latencyModel()
        _ = try stormSchedule()
        _ = try splitPolicy()
        _ = try ReplySpec(parsing: reply)
        _ = try customFaults()
        _ = try openAIRetryAfter()
        _ = try openAIMaxTokens()
    }

    // MARK: Parsed options

    func latencyModel() throws -> LatencyModel? {
        guard let latency else { return nil }
        do {
            return try LatencyModel(spec: latency)
        } catch {
            throw ValidationError("--latency: \(error.message)")
        }
    }

    func stormSchedule() throws -> Range<Duration>? {
        guard let stormWindow else { return nil }
        let parts = stormWindow.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let from = Double(parts[0]), from >= 0 else {
            throw ValidationError("--storm-window must be FROM-UNTIL or FROM- in seconds, got \(stormWindow).")
        }
        let until = parts[1].isEmpty ? 1e9 : Double(parts[1])
        guard let until, until > from else {
            throw ValidationError("--storm-window: UNTIL must be a number above FROM, got \(stormWindow).")
        }
        return .seconds(from)..<Duration.seconds(until)
    }

    func splitPolicy() throws -> SplitPolicy {
        switch split {
        case "none": return .none
        case "halves": return .halves
        case "adversarial": return .adversarial(seed: seed)
        case "every-byte": return .everyByte
        default:
            guard split.hasPrefix("seeded:"), let cuts = Int(split.dropFirst(7)), cuts >= 0 else {
                throw ValidationError(
                    "--split must be none, halves, adversarial, every-byte or seeded:N, got \(split)."
                )
            }
            return .seeded(seed: seed, cutsPerEvent: cuts)
        }
    }

    /// The faults of `--fault-mix`, nil without it.
    func customFaults() throws -> [(reply: ReplySpec, probability: Double)]? {
        try faultMix.map(ReplySpec.mix(parsing:))
    }

    func openAIRetryAfter() throws -> FakeOpenAIServer.RetryAfterHeaders {
        switch retryAfter {
        case "both": return .both
        case "seconds": return .seconds
        case "ms": return .milliseconds
        case "none": return .none
        default: throw ValidationError("--retry-after must be both, seconds, ms or none, got \(retryAfter).")
        }
    }

    func openAIMaxTokens() throws -> FakeOpenAIServer.MaxTokensSupport {
        switch maxTokensParameter {
        case "both": return .both
        case "rejects-max-completion-tokens": return .rejectsMaxCompletionTokens
        case "rejects-max-tokens": return .rejectsMaxTokens
        case "ignores-max-completion-tokens": return .ignoresMaxCompletionTokens
        default:
            throw ValidationError(
                "--max-tokens-parameter must be both, rejects-max-completion-tokens, rejects-max-tokens or"
                    + " ignores-max-completion-tokens, got \(maxTokensParameter)."
            )
        }
    }

    var quota: QuotaPolicy? {
        guard rpm != nil || tpm != nil || rpd != nil else { return nil }
        return QuotaPolicy(
            requestsPerWindow: rpm,
            tokensPerWindow: tpm,
            window: .seconds(quotaWindow),
            requestsPerDay: rpd,
            dayLength: .seconds(daySeconds)
        )
    }

    func storm() throws -> StormPolicy? {
        let schedule = try stormSchedule()
        guard stormFraction != nil || schedule != nil else { return nil }
        return StormPolicy(fraction: stormFraction ?? 0.6, seed: stormSeed, during: schedule)
    }

    var modelSet: Set<String>? {
        models.map { Set($0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }) }
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

    // MARK: Serving

    /// Starts the server, publishes its port, and serves until SIGTERM or SIGINT.
    func serve() async throws {
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

        if let recordRequests { try Self.prepareRecordingFolder(recordRequests) }

        let server: any FakeServer
        let baseURL: String
        switch api {
        case .gemini:
            let gemini = try await FakeGeminiServer.start(try geminiConfiguration())
            (server, baseURL) = (gemini, gemini.baseURL)
        case .openai:
            let openAI = try await FakeOpenAIServer.start(try openAIConfiguration())
            (server, baseURL) = (openAI, openAI.baseURL)
        }
        do {
            if let portFile {
                try Data("\(server.port)\n".utf8).write(to: URL(fileURLWithPath: portFile), options: .atomic)
            }
        } catch {
            try await server.shutdown()
            throw ValidationError("cannot write --port-file \(portFile ?? ""): \(error.localizedDescription)")
        }
        FileHandle.standardOutput.write(Data("\(server.port)\n".utf8))
        FileHandle.standardError.write(Data("fake-gemini: listening on \(baseURL) (\(api.rawValue))\n".utf8))

        for await _ in stop { break }
        try await server.shutdown()
        if let recordRequests {
            let requests = server.statistics.requests
            try Self.record(requests, into: recordRequests)
            FileHandle.standardError.write(
                Data("fake-gemini: wrote \(requests.count) requests into \(recordRequests)\n".utf8)
            )
        }
        FileHandle.standardError.write(Data("fake-gemini: stopped\n".utf8))
    }

    /// Creates `folder` if it is missing. A folder that already holds files is refused, so the
    /// requests of two runs never mix.
    /// - Throws: `ValidationError` naming the folder when it cannot be created or is not empty.
    static func prepareRecordingFolder(_ folder: String) throws {
        let files = FileManager.default
        let entries: [String]
        do {
            try files.createDirectory(atPath: folder, withIntermediateDirectories: true)
            entries = try files.contentsOfDirectory(atPath: folder)
        } catch {
            throw ValidationError("--record-requests \(folder): \(error.localizedDescription)")
        }
        guard entries.isEmpty else {
            throw ValidationError("--record-requests \(folder): the folder must be empty or new.")
        }
    }

    /// Writes `requests` into `folder`, one file each, numbered in arrival order from 0001: the
    /// request line (`METHOD PATH`, `?QUERY` when there was one), a newline, then the body's
    /// bytes as received (headers are left out: they hold the API key).
    static func record(_ requests: [FakeGeminiServer.RecordedRequest], into folder: String) throws {
        for (number, request) in zip(1..., requests) {
            let line = request.method + " " + request.path + (request.query.map { "?" + $0 } ?? "") + "\n"
            let name = String(format: "%04d.txt", number)
            let file = URL(fileURLWithPath: folder).appendingPathComponent(name)
            do {
                try (Data(line.utf8) + Data(request.body)).write(to: file)
            } catch {
                throw ValidationError("--record-requests: cannot write \(file.path): \(error.localizedDescription)")
            }
        }
    }

    func geminiConfiguration() throws -> FakeGeminiServer.Configuration {
        let latency = Duration.milliseconds(latencyMilliseconds)
        let base = try ReplySpec(parsing: reply).gemini.streamed(textEvents: streamEvents)
        let faultList =
            try customFaults().map {
                $0.map { FakeGeminiServer.FaultMix.Fault($0.reply.gemini, probability: $0.probability) }
            }
            ?? (faults == .mix ? FakeGeminiServer.FaultMix.realistic().faults : nil)
        let mix: FakeGeminiServer.FaultMix? =
            faultList.map { faultList in
                FakeGeminiServer.FaultMix(
                    faults: faultList,
                    success: base,
                    seed: seed,
                    maxFailuresPerPrompt: maxFailures,
                    latency: latency
                )
            }
        // Attempts are counted per prompt by the server, across client restarts, so a retry
        // after a restart still gets past the failures.
        let failFirst = self.failFirst
        var configuration = FakeGeminiServer.Configuration(
            port: port,
            apiKey: try acceptedKey(),
            models: modelSet,
            latency: try latencyModel(),
            quota: quota,
            storm: try storm(),
            lineEnding: lineEnding.flatMap(LineEnding.init(rawValue:)) ?? .crlf,
            split: try splitPolicy(),
            unresponsive: unresponsive
        ) { request in
            if request.attempt <= failFirst { return .status(code: 503).after(latency) }
            return mix?.reply(for: request) ?? base.after(latency)
        }
        let end: FakeBatchJobs.Schedule.End
        switch batchEnd {
        case "succeeded": end = .succeeded
        case "failed": end = .failed(message: "The batch job failed (fake-gemini --batch-end failed).")
        case "cancelled": end = .cancelled
        case "expired": end = .expired
        default: throw ValidationError("--batch-end must be succeeded, failed, cancelled or expired, got \(batchEnd).")
        }
        guard batchPendingSeconds >= 0, batchRunningSeconds >= 0 else {
            throw ValidationError("--batch-pending-seconds and --batch-running-seconds must be 0 or more.")
        }
        configuration.batchSchedule = .init(
            pending: .milliseconds(Int64(batchPendingSeconds * 1000)),
            running: .milliseconds(Int64(batchRunningSeconds * 1000)),
            end: end
        )
        return configuration
    }

    func openAIConfiguration() throws -> FakeOpenAIServer.Configuration {
        let latency = Duration.milliseconds(latencyMilliseconds)
        let base = try ReplySpec(parsing: reply).openAI.streamed(textEvents: streamEvents)
        let faultList =
            try customFaults().map {
                $0.map { FakeOpenAIServer.FaultMix.Fault($0.reply.openAI, probability: $0.probability) }
            }
            ?? (faults == .mix ? FakeOpenAIServer.FaultMix.realistic().faults : nil)
        let mix: FakeOpenAIServer.FaultMix? =
            faultList.map { faultList in
                FakeOpenAIServer.FaultMix(
                    faults: faultList,
                    success: base,
                    seed: seed,
                    maxFailuresPerPrompt: maxFailures,
                    latency: latency
                )
            }
        let failFirst = self.failFirst
        let key: FakeOpenAIServer.KeyPolicy =
            noKey ? .notRequired : try acceptedKey().map { .exactly($0) } ?? .anyNonEmpty
        return FakeOpenAIServer.Configuration(
            port: port,
            key: key,
            models: modelSet,
            maxTokens: try openAIMaxTokens(),
            rateLimits: quota,
            retryAfter: try openAIRetryAfter(),
            latency: try latencyModel(),
            storm: try storm(),
            lineEnding: lineEnding.flatMap(LineEnding.init(rawValue:)) ?? .lf,
            split: try splitPolicy(),
            unresponsive: unresponsive
        ) { request in
            if request.attempt <= failFirst { return .status(code: 503).after(latency) }
            return mix?.reply(for: request) ?? base.after(latency)
        }
    }
}

/// What `--reply` asks every reply to be.
enum ReplySpec: Equatable {
    case success, hang, html, empty, malformed, reset
    case stall(afterEvents: Int)
    case cut(afterEvents: Int)
    case truncate(afterEvents: Int)
    case trickle(milliseconds: Int)
    /// 429; `retryDelaySeconds` nil: no RetryInfo (Gemini) or no Retry-After (OpenAI).
    case rateLimited(retryDelaySeconds: Int?)
    case dailyQuota
    case status(Int)

    static let help = """
        success (default), hang, html (200 with an HTML page), empty (no text), malformed (cut \
        JSON), reset (connection closed), stall[:EVENTS] (silent after EVENTS events, default 1), \
        cut[:EVENTS] (closed in the middle of the next event), truncate[:EVENTS] (ends cleanly \
        without a finish reason), trickle[:MS] (one byte every MS ms, default 1000), \
        429[:SECONDS|none] (rate limited, RetryInfo or Retry-After SECONDS, default 15), \
        429-daily (Gemini's per-day quota), or an HTTP status such as 500 or 503.
        """

    /// Parses `--fault-mix`: `REPLY=PROBABILITY` items separated by commas, each REPLY as
    /// `--reply` takes it, each probability in 0...1 and all of them together at most 1.
    static func mix(parsing text: String) throws -> [(reply: ReplySpec, probability: Double)] {
        var faults: [(reply: ReplySpec, probability: Double)] = []
        for item in text.split(separator: ",") {
            guard let equals = item.lastIndex(of: "=") else {
                throw ValidationError("--fault-mix \(text): \(item) is not REPLY=PROBABILITY, e.g. 503=0.15.")
            }
            let value = item[item.index(after: equals)...]
            guard let probability = Double(value), (0...1).contains(probability) else {
                throw ValidationError("--fault-mix \(text): \(value) is not a probability between 0 and 1.")
            }
            let name = String(item[..<equals])
            guard let reply = try? ReplySpec(parsing: name) else {
                throw ValidationError("--fault-mix \(text): \(name) is not a reply; each REPLY is one of: \(help)")
            }
            guard reply != .success else {
                throw ValidationError(
                    "--fault-mix \(text): success is what every other attempt gets; name faults only."
                )
            }
            faults.append((reply, probability))
        }
        guard !faults.isEmpty else { throw ValidationError("--fault-mix needs at least one REPLY=PROBABILITY.") }
        let total = faults.reduce(0) { $0 + $1.probability }
        guard total <= 1 + 1e-9 else {
            throw ValidationError("--fault-mix \(text): the probabilities add up to \(total), more than 1.")
        }
        return faults
    }

    init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let name = parts.first ?? ""
        let argument = parts.count > 1 ? parts[1] : nil
        func count(default value: Int) throws -> Int {
            guard let argument else { return value }
            guard let number = Int(argument), number >= 0 else {
                throw ValidationError("--reply \(text): \(argument) is not a whole number of 0 or more.")
            }
            return number
        }
        switch name {
        case "success": self = .success
        case "hang": self = .hang
        case "html": self = .html
        case "empty": self = .empty
        case "malformed": self = .malformed
        case "reset": self = .reset
        case "stall": self = .stall(afterEvents: try count(default: 1))
        case "cut": self = .cut(afterEvents: try count(default: 1))
        case "truncate": self = .truncate(afterEvents: try count(default: 1))
        case "trickle": self = .trickle(milliseconds: max(1, try count(default: 1000)))
        case "429-daily": self = .dailyQuota
        case "429": self = .rateLimited(retryDelaySeconds: argument == "none" ? nil : try count(default: 15))
        default:
            guard let code = Int(name), (400...599).contains(code), argument == nil else {
                throw ValidationError("--reply \(text) is not one of: \(Self.help)")
            }
            self = .status(code)
        }
    }

    var gemini: FakeGeminiServer.Reply {
        switch self {
        case .success: .success()
        case .hang: .hang
        case .html: .htmlPage
        case .empty: .emptyParts
        case .malformed: .malformedJSON
        case .reset: .connectionReset
        case .stall(let events): .success().stalled(afterEvents: events)
        case .cut(let events): .success().cut(afterEvents: events)
        case .truncate(let events): .success().truncated(afterEvents: events)
        case .trickle(let milliseconds): .success().trickled(every: .milliseconds(milliseconds))
        case .rateLimited(let seconds): .rateLimited(retryDelay: seconds.map { "\($0)s" })
        case .dailyQuota: .rateLimited(retryDelay: "3600s", quotaId: "GenerateRequestsPerDayPerProjectPerModel")
        case .status(let code): .status(code: code)
        }
    }

    var openAI: FakeOpenAIServer.Reply {
        switch self {
        case .success: .success()
        case .hang: .hang
        case .html: .htmlPage
        case .empty: .emptyContent
        case .malformed: .malformedJSON
        case .reset: .connectionReset
        case .stall(let events): .success().stalled(afterEvents: events)
        case .cut(let events): .success().cut(afterEvents: events)
        case .truncate(let events): .success().truncated(afterEvents: events)
        case .trickle(let milliseconds): .success().trickled(every: .milliseconds(milliseconds))
        case .rateLimited(let seconds):
            .rateLimited(retryAfterSeconds: seconds, retryAfterMilliseconds: seconds.map { $0 * 1000 })
        case .dailyQuota: .insufficientQuota
        case .status(let code): .status(code: code)
        }
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
