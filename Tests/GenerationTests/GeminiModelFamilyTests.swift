import AsyncHTTPClient
import FakeGemini
import FakeServerKit
import Foundation
import Platform
import TestSupport
import Testing

@testable import Generation
@testable import Outlines
@testable import Providers

@Suite("What a request carries, by model family")
struct SentSettingsTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var provider: String
        var model: String
        var level: ThinkingLevel?
        var expected: SentSettings
        var testDescription: String { "\(provider) \(model) level \(level?.rawValue ?? "unset")" }
    }

    /// temperature 0.7 and thinkingBudget 1024 set in every row.
    static let rows: [Row] = [
        Row(provider: "gemini", model: "gemini-3.8-flash", level: nil, expected: SentSettings()),
        Row(provider: "gemini", model: "gemini-3.8-flash", level: .high, expected: SentSettings(thinkingLevel: .high)),
        Row(
            provider: "gemini",
            model: "gemini-3.1-flash-lite",
            level: .minimal,
            expected: SentSettings(thinkingLevel: .minimal)
        ),
        Row(provider: "gemini", model: "gemini-3.1-pro-preview", level: nil, expected: SentSettings()),
        Row(
            provider: "gemini",
            model: "gemini-2.5-flash",
            level: nil,
            expected: SentSettings(temperature: 0.7, thinkingBudget: 1024)
        ),
        Row(
            provider: "gemini",
            model: "gemini-2.5-flash-lite",
            level: .low,
            expected: SentSettings(temperature: 0.7, thinkingBudget: 1024)
        ),
        Row(
            provider: "gemini",
            model: "gemini-flash-latest",
            level: nil,
            expected: SentSettings(temperature: 0.7, thinkingBudget: 1024)
        ),
        Row(
            provider: "openai",
            model: "gemini-3.8-flash",
            level: nil,
            expected: SentSettings(temperature: 0.7, thinkingBudget: 1024)
        ),
        Row(
            provider: "openai",
            model: "gpt-4o-mini",
            level: nil,
            expected: SentSettings(temperature: 0.7, thinkingBudget: 1024)
        ),
    ]

    @Test("Gemini 3 gets the thinking level and no temperature or budget; 2.5 and openai as before", arguments: rows)
    func decide(row: Row) {
        let sent = SentSettings.decide(
            provider: row.provider,
            model: row.model,
            temperature: 0.7,
            thinkingBudget: 1024,
            thinkingLevel: row.level
        )
        #expect(sent == row.expected)
    }

    @Test(
        "the family is read from the name, with or without models/",
        arguments: [
            ("gemini-3.8-flash", GeminiFamily.gemini3), ("models/gemini-3.5-flash-lite", .gemini3),
            ("gemini-2.5-flash", .earlier), ("gemini-flash-latest", .earlier), ("gemini-30", .gemini3),
        ]
    )
    func family(model: String, family: GeminiFamily) {
        #expect(GeminiFamily(model: model) == family)
    }

    @Test("the default model is the latest Flash, a Gemini 3 model")
    func defaultModel() {
        #expect(GenerationSettings().model == "gemini-3.8-flash")
        #expect(GeminiFamily(model: GenerationSettings.defaultModel) == .gemini3)
    }

    func body(_ settings: GenerationSettings, includeThoughts: Bool = false) throws -> [String: Any] {
        let outline = try OutlineParser.parse(Array("# T\n\n## One\n- a\n".utf8), format: .markdown, fileName: "t.md")
        let request = ChapterRequest(settings: settings, outline: outline, index: 0)
        let data = try JSONEncoder().encode(GeminiWire.Request(request, includeThoughts: includeThoughts))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(json["generationConfig"] as? [String: Any])
    }

    @Test("the wire: Gemini 3 sends thinkingLevel as the enum name and no temperature or thinkingBudget")
    func wireGemini3() throws {
        let config = try body(GenerationSettings(model: "gemini-3.8-flash", thinkingLevel: .low), includeThoughts: true)
        #expect(config["temperature"] == nil)
        let thinking = try #require(config["thinkingConfig"] as? [String: Any])
        #expect(thinking["thinkingBudget"] == nil)
        #expect(thinking["thinkingLevel"] as? String == "LOW")
        #expect(thinking["includeThoughts"] as? Bool == true)
        // No level and no summaries: no thinkingConfig at all.
        let plain = try body(GenerationSettings(model: "gemini-3.8-flash"))
        #expect(plain["thinkingConfig"] == nil && plain["temperature"] == nil)
        #expect(plain["maxOutputTokens"] as? Int != nil)
    }

    @Test("the wire: 2.5 keeps temperature and thinkingBudget")
    func wire25() throws {
        let config = try body(GenerationSettings(model: "gemini-2.5-flash-lite"))
        #expect(config["temperature"] as? Double == 0.7)
        let thinking = try #require(config["thinkingConfig"] as? [String: Any])
        #expect(thinking["thinkingBudget"] as? Int == 1024)
        #expect(thinking["thinkingLevel"] == nil)
    }

    @Test("the key holds what is sent: a setting the model does not take changes no key")
    func keyHoldsWhatIsSent() throws {
        let outline = try OutlineParser.parse(Array("# T\n\n## One\n- a\n".utf8), format: .markdown, fileName: "t.md")
        func key(_ settings: GenerationSettings) -> ChapterKey {
            ChapterKey(settings: settings, outline: outline, index: 0)
        }
        let three = GenerationSettings(model: "gemini-3.8-flash")
        #expect(key(three) == key(GenerationSettings(model: "gemini-3.8-flash", temperature: 1.3, thinkingBudget: 99)))
        #expect(key(three) != key(GenerationSettings(model: "gemini-3.8-flash", thinkingLevel: .high)))
        let old = GenerationSettings(model: "gemini-2.5-flash-lite")
        #expect(key(old) == key(GenerationSettings(model: "gemini-2.5-flash-lite", thinkingLevel: .high)))
        #expect(key(old) != key(GenerationSettings(model: "gemini-2.5-flash-lite", temperature: 1.3)))
    }
}

@Suite("Listing the models the key can use")
struct GeminiModelListTests {
    func withProvider<T>(
        _ configuration: FakeGeminiServer.Configuration,
        _ body: (GeminiProvider, FakeGeminiServer) async throws -> T
    ) async throws -> T {
        let server = try await FakeGeminiServer.start(configuration)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let provider = try GeminiProvider(
            baseURL: server.baseURL,
            apiKey: APIKey(FakeGeminiServer.defaultAPIKey)!,
            httpClient: client
        )
        let result: Result<T, any Error>
        do { result = .success(try await body(provider, server)) } catch { result = .failure(error) }
        try await client.shutdown()
        try await server.shutdown()
        return try result.get()
    }

    @Test("every page is read, following nextPageToken, and only models that generate content are kept")
    func pages() async throws {
        var configuration = FakeGeminiServer.Configuration()
        configuration.modelPageSize = 3
        let (models, requests) = try await withProvider(configuration) { provider, server in
            (try await provider.usableModels(), server.statistics.requests)
        }
        #expect(models.map(\.name) == FakeGeminiServer.knownModels.sorted())
        #expect(!models.contains { $0.name.contains("embedding") })
        let pages = (FakeGeminiServer.knownModels.count + 2) / 3
        #expect(requests.count == pages)
        #expect(requests.allSatisfy { $0.path == "/v1beta/models" && $0.query?.contains("pageSize=") == true })
        #expect(requests.dropFirst().allSatisfy { $0.query?.contains("pageToken=page-") == true })
        #expect(
            requests.allSatisfy { request in
                request.headers.contains { $0.name.lowercased() == "x-goog-api-key" }
                    && request.query?.contains(FakeGeminiServer.defaultAPIKey) != true
            }
        )
    }

    @Test("a retired model's check stops everything and names the models the key can use")
    func retiredModelNamesCurrentOnes() async throws {
        let error = try await withProvider(FakeGeminiServer.Configuration()) { provider, _ in
            do {
                try await provider.verify(model: "gemini-2.5-flash", timeout: .seconds(10))
                return nil as ProviderError?
            } catch let error as ProviderError { return error }
        }
        let refusal = try #require(error)
        #expect(refusal.disposition == .stopEverything)
        #expect(refusal.message.contains("models/gemini-2.5-flash is not found"))
        #expect(refusal.message.contains("gemini-3.8-flash") && refusal.message.contains("gemini-3.5-flash-lite"))
    }

    @Test("the fake refuses a thinking budget sent to a Gemini 3 model, and both fields at once")
    func fakeRefusesBudgetOnGemini3() async throws {
        try await withProvider(FakeGeminiServer.Configuration()) { provider, server in
            let request = ChapterRequest(
                key: ChapterKey(digest: String(repeating: "a", count: 64)),
                model: "gemini-3.8-flash",
                systemInstruction: "s",
                prompt: "p",
                temperature: nil,
                maxOutputTokens: 4096,
                thinkingBudget: 1024
            )
            await #expect(throws: ProviderError.self) {
                _ = try await provider.generate(request, timeout: .seconds(10)) { _ in }
            }
            var both = request
            both.model = "gemini-2.5-flash-lite"
            both.thinkingLevel = .low
            await #expect(throws: ProviderError.self) {
                _ = try await provider.generate(both, timeout: .seconds(10)) { _ in }
            }
            var fine = request
            fine.thinkingBudget = nil
            fine.thinkingLevel = .medium
            let answer = try await provider.generate(fine, timeout: .seconds(10)) { _ in }
            #expect(answer.text.contains("gemini-3.8-flash"))
            // The two refused requests were answered 400 by the fake, the third 200.
            let statuses = server.statistics.requests.map(\.disposition)
            #expect(statuses.filter { $0 == .answered(status: 400) }.count == 2, "\(statuses)")
        }
    }
}
