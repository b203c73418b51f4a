import FakeGemini
import FakeServerKit
import Foundation
import TestSupport
import Testing

/// `--service-tier` end to end (issue 21, item 4): flex requests that queue past the stall
/// timeout and are shed once still publish every chapter, none abandoned, at half the standard
/// tier's estimated cost; a model that does not take the tier stops the run once.
@Suite("Service tiers, the real binary")
struct ServiceTierCommandTests {
    let environment = ["GEMINI_API_KEY": FakeGeminiServer.defaultAPIKey]

    /// Runs `generate` on a 4-chapter course against `server`, in `folder` of `temp`.
    func generate(
        _ temp: TemporaryFolder,
        folder: String,
        server: FakeGeminiServer,
        flags: [String] = []
    ) async throws -> Binary.Result {
        try temp.write("\(folder)/course.md", outlineText(chapters: 4))
        return try await Binary.run(
            ["generate", "course.md", "--output", "out", "--state", "state", "--base-url", server.baseURL] + flags,
            environment: environment,
            directory: "\(temp.path)/\(folder)"
        )
    }

    /// The estimated cost in dollars `status --json` gives for the one course in `folder`.
    func estimatedCost(_ temp: TemporaryFolder, folder: String) async throws -> Double {
        let json = try await Binary.run(["status", "--state", "state", "--json"], directory: "\(temp.path)/\(folder)")
        let courses = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [[String: Any]])
        let course = try #require(courses.first)
        #expect(course["serviceTier"] as? String == (folder == "flex" ? "flex" : nil))
        let cost = try #require(course["cost"] as? [String: Any])
        return try #require(cost["dollars"] as? Double)
    }

    @Test(
        "flex: requests queued longer than the stall timeout and shed once publish every chapter, none abandoned, at half the standard cost"
    )
    func flexQueueAndShedding() async throws {
        let temp = try TemporaryFolder()
        var configuration = FakeGeminiServer.Configuration()
        // Silence before the first byte longer than the stall timeout (1 s): a standard request
        // would be cancelled as stalled; a flex one is only queued.
        configuration.flexQueue = .milliseconds(2500)
        configuration.flexShedAttempts = 1
        let server = try await FakeGeminiServer.start(configuration)
        let flex = try await generate(
            temp,
            folder: "flex",
            server: server,
            flags: ["--service-tier", "flex", "--stall-timeout", "1", "--concurrency", "4"]
        )
        let statistics = server.statistics
        try await server.shutdown()
        #expect(flex.status == 0, "\(flex.standardError.suffix(2000))")
        #expect(temp.list("flex/out/course").filter { $0.hasSuffix(".md") && $0.first?.isNumber == true }.count == 4)
        let chapters = statistics.requests.filter { $0.path.contains(":streamGenerateContent") }
        // Each chapter shed once, then answered after its wait in the queue: no request given up.
        #expect(chapters.count == 8)
        #expect(chapters.filter { $0.disposition == .answered(status: 503) }.count == 4)
        #expect(chapters.filter { $0.disposition == .answered(status: 200) }.count == 4)
        #expect(!chapters.contains { $0.disposition == .abandoned || $0.disposition.status == nil })
        for request in chapters {
            let body = String(decoding: request.body, as: UTF8.self)
            #expect(body.contains(#""serviceTier":"flex""#), "\(body)")
        }
        #expect(flex.standardOutput.contains("at the flex tier"), "\(flex.standardOutput)")
        #expect(temp.read("flex/out/course/STATUS.md")?.contains("(flex tier)") == true)

        let standardServer = try await FakeGeminiServer.start()
        let standard = try await generate(temp, folder: "standard", server: standardServer)
        try await standardServer.shutdown()
        #expect(standard.status == 0, "\(standard.standardError.suffix(2000))")
        for request in standardServer.statistics.requests where request.path.contains(":") {
            #expect(!String(decoding: request.body, as: UTF8.self).contains("serviceTier"))
        }
        let text = try await Binary.run(["status", "--state", "state"], directory: "\(temp.path)/flex")
        #expect(text.standardOutput.contains("(last run at the flex tier)"), "\(text.standardOutput)")
        let flexCost = try await estimatedCost(temp, folder: "flex")
        let standardCost = try await estimatedCost(temp, folder: "standard")
        #expect(standardCost > 0)
        #expect(abs(flexCost - standardCost / 2) < 1e-12, "flex \(flexCost), standard \(standardCost)")
    }

    @Test("a model that does not take flex stops the run at its first answer: exit 78, no request after, the tier named")
    func tierRefused() async throws {
        let temp = try TemporaryFolder()
        var configuration = FakeGeminiServer.Configuration()
        configuration.tieredModels = ["gemini-3.7-flash"]
        let server = try await FakeGeminiServer.start(configuration)
        let result = try await generate(
            temp,
            folder: "refused",
            server: server,
            flags: ["--service-tier", "flex", "--concurrency", "1"]
        )
        try await server.shutdown()
        #expect(result.status == 78, "\(result.standardError.suffix(2000))")
        #expect(server.statistics.chapterRequestCount == 1)
        #expect(result.standardError.contains("this model does not take service tier flex"), "\(result.standardError.suffix(2000))")
        #expect(temp.read("refused/out/course/STATUS.md")?.contains("service tier flex") == true)
    }
}
