import AsyncHTTPClient
import FakeGemini
import Foundation
import Logging
import NIOConcurrencyHelpers
import TestSupport
import Testing
import Watcher

@testable import Generation
@testable import coursegen
@testable import Providers

/// The coordinator against the real engine and the fake server, its reads held on the blocking
/// pool where a test says: the order of events is the test's, not the machine's.
@Suite("The coordinator's reads: the newest save wins, and a hung read holds no one", .serialized)
struct CoordinatorOrderTests {
    /// A coordinator, its engine and what it says in `systemctl status`.
    struct Harness {
        let temp: TemporaryFolder
        let server: FakeGeminiServer
        let httpClient: HTTPClient
        let engine: Engine
        let coordinator: RunCoordinator
        let statuses: AsyncStream<String>

        init(whileReading: @escaping @Sendable (InboxFile) -> Void) async throws {
            temp = try TemporaryFolder()
            server = try await FakeGeminiServer.start { _ in .success() }
            httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
            let provider = try GeminiProvider(
                baseURL: server.baseURL,
                apiKey: APIKey(FakeGeminiServer.defaultAPIKey)!,
                httpClient: httpClient
            )
            let scheduler = Scheduler(provider: provider, configuration: .init(requestsPerMinute: 1_000_000))
            engine = Engine(stateDirectory: "\(temp.path)/state", scheduler: scheduler, logger: Logger(label: "test"))
            let (stream, continuation) = AsyncStream<String>.makeStream()
            statuses = stream
            coordinator = RunCoordinator(
                engine: engine,
                scheduler: scheduler,
                settings: GenerationSettings(),
                reader: CourseReader(
                    inbox: "\(temp.path)/inbox",
                    output: "\(temp.path)/out",
                    state: "\(temp.path)/state",
                    engine: engine,
                    whileReading: whileReading
                ),
                logger: Logger(label: "test")
            ) { continuation.yield($0) }
        }

        func shutDown() async throws {
            await coordinator.drain(timeout: .seconds(60))
            await engine.cancelAll()
            try await httpClient.shutdown()
            try await server.shutdown()
        }
    }

    @Test("a read of an older text that ends after a newer save's run began decides nothing", .timeLimit(.minutes(2)))
    func olderReadLoses() async throws {
        let held = HeldRead()
        let harness = try await Harness { _ in held.pass() }
        let path = try harness.temp.write("inbox/course.md", watchedOutline(["a", "b", "c"]))
        let file = InboxFile(path: path, relativePath: "course.md")
        await harness.coordinator.scanCompleted()

        // The first save's read gets the old text, then hangs on the blocking pool.
        let older = Task { await harness.coordinator.outlineChanged(file) }
        try await held.waitUntilHeld()
        // The newer save is read and its run starts meanwhile.
        try harness.temp.write("inbox/course.md", watchedOutline(["a2", "b", "c"]))
        await harness.coordinator.outlineChanged(file)
        held.release()
        await older.value
        for await line in harness.statuses where line.contains("1 course up to date") { break }
        try await harness.shutDown()

        let prompts = harness.server.statistics.requests.compactMap(\.prompt)
        #expect(!prompts.contains { $0.contains("- Point a\n") }, "the older text was never asked for")
        #expect(harness.temp.read("out/course/01-chapter-1.md")?.contains("Point a2") == true)
    }

    @Test(
        "a read that hangs on the blocking pool (a share that stopped answering) leaves the health check answering",
        .timeLimit(.minutes(2))
    )
    func hungReadHoldsNoOne() async throws {
        let held = HeldRead()
        let harness = try await Harness { _ in held.pass() }
        let path = try harness.temp.write("inbox/course.md", watchedOutline())
        let reading = Task {
            await harness.coordinator.outlineChanged(InboxFile(path: path, relativePath: "course.md"))
        }
        try await held.waitUntilHeld()
        let answered = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await harness.coordinator.isResponsive() }
            group.addTask {
                try? await Task.sleep(for: TestTime.scaled(.seconds(1)))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        #expect(answered, "the health check did not answer within a second while a read hung")
        held.release()
        await reading.value
        try await harness.shutDown()
    }
}

/// Holds the first caller on its thread until released; later callers pass.
final class HeldRead: Sendable {
    private let state = NIOLockedValueBox((first: true, released: false))
    private let condition = NSCondition()
    private let arrivals = AsyncStream<Void>.makeStream()

    /// Blocks the first caller's thread until `release()`.
    func pass() {
        let first = state.withLockedValue { state in
            defer { state.first = false }
            return state.first
        }
        guard first else { return }
        arrivals.continuation.yield()
        condition.lock()
        while !state.withLockedValue({ $0.released }) { condition.wait() }
        condition.unlock()
    }

    func release() {
        condition.lock()
        state.withLockedValue { $0.released = true }
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until the first caller is held.
    func waitUntilHeld() async throws {
        for await _ in arrivals.stream { return }
    }
}
