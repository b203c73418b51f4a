import FakeGemini
import FakeServerKit
import Foundation
import TestSupport
import Testing

// The quota and the overload storm of the fake Gemini server, on the wire: counts and bodies are
// asserted, never durations. Where a quota window matters, the server follows a clock the test
// moves (`FakeServerClock`), so a window holds, or has moved past, when the test says, however
// slowly a starved machine sends the requests.

private let model = "gemini-2.5-flash-lite"

@Suite("Fake Gemini server: quota and storms")
struct FakeServerQuotaTests {
    @Test("beyond its RPM the sliding window answers Google's 429 with QuotaFailure and RetryInfo, and holds")
    func requestQuota() async throws {
        let window = Duration.seconds(30)
        var configuration = FakeGeminiServer.Configuration(quota: .requestsPerMinute(3, window: window))
        configuration.clock = FakeServerClock()
        try await withServer(configuration) { server in
            var statuses: [Int] = []
            for index in 1...5 {
                statuses.append(try await exchange(server, body: requestBody(prompt: "chapter \(index)")).status)
            }
            #expect(statuses == [200, 200, 200, 429, 429])
            let rejected = try await exchange(server, body: requestBody(prompt: "chapter 6"))
            #expect(rejected.status == 429)
            #expect(rejected.header("retry-after") == nil)
            let error = try #require(dig(try rejected.json(), "error") as? [String: Any])
            #expect(error["status"] as? String == "RESOURCE_EXHAUSTED")
            let quotaFailure = try #require(detail(error, "QuotaFailure"))
            #expect(
                dig(quotaFailure, "violations", 0, "quotaId") as? String
                    == "GenerateRequestsPerMinutePerProjectPerModel"
            )
            #expect(dig(quotaFailure, "violations", 0, "quotaValue") as? String == "3")
            let retryDelay = try #require(detail(error, "RetryInfo")?["retryDelay"] as? String)
            let seconds = try #require(Double(retryDelay.dropLast()))
            #expect(retryDelay.hasSuffix("s") && seconds > 0 && .seconds(seconds) <= window)
            let message = try #require(error["message"] as? String)
            let quoted = try #require(message.split(separator: "Please retry in ").last)
            #expect(quoted.hasSuffix("s."))
            #expect(quoted.dropLast(2).split(separator: ".").last?.count == 3, "three decimals: \(quoted)")

            let statistics = server.statistics
            #expect(statistics.quotaRejections == [.requestQuota: 3])
            #expect(statistics.rateLimitedCount == 3)
            #expect(statistics.maxAdmittedPerWindow == 3)
            #expect(statistics.requests.map(\.attempt) == [1, 1, 1, nil, nil, nil])
            #expect(statistics.requests.compactMap(\.rejection) == [.requestQuota, .requestQuota, .requestQuota])
            #expect(statistics.requestsByPrompt.count == 6)
        }
    }

    @Test("a request the quota turned away is admitted once the window has moved past, and the maximum holds")
    func windowMoves() async throws {
        let clock = FakeServerClock()
        var configuration = FakeGeminiServer.Configuration(quota: .requestsPerMinute(2, window: .seconds(3)))
        configuration.clock = clock
        try await withServer(configuration) { server in
            // Two requests fill the window, a second apart; the third is turned away.
            #expect(try await exchange(server, body: requestBody(prompt: "fill 1")).status == 200)
            clock.advance(by: .seconds(1))
            #expect(try await exchange(server, body: requestBody(prompt: "fill 2")).status == 200)
            let prompt = "fill 3"
            let turnedAway = try await exchange(server, body: requestBody(prompt: prompt))
            #expect(turnedAway.status == 429)
            // Retried as a client following RetryInfo would: once the first request has left the
            // window (2 s from now), not before.
            let error = try #require(dig(try turnedAway.json(), "error") as? [String: Any])
            let delay = try #require(detail(error, "RetryInfo")?["retryDelay"] as? String)
            let seconds = try #require(Double(delay.dropLast()))
            #expect(seconds > 0 && seconds <= 2, "retryDelay \(delay)")
            clock.advance(by: .seconds(seconds) - .milliseconds(100))
            #expect(try await exchange(server, body: requestBody(prompt: prompt)).status == 429)
            clock.advance(by: .milliseconds(100))
            let status = try await exchange(server, body: requestBody(prompt: prompt)).status
            #expect(status == 200)
            let statistics = server.statistics
            #expect(statistics.maxAdmittedPerWindow == 2)
            #expect(statistics.requests.last?.attempt == 1, "the quota's 429s consumed no attempt")
            #expect(statistics.quotaRejectedCount == statistics.statusCounts[429])
            #expect(statistics.requests.filter { $0.prompt == prompt }.map(\.rejection).first == .requestQuota)
        }
    }

    @Test("a per-day quota answers 429 with the PerDay quota id")
    func dailyQuota() async throws {
        try await withServer(.init(quota: QuotaPolicy(requestsPerDay: 1))) { server in
            #expect(try await exchange(server, body: requestBody(prompt: "a")).status == 200)
            let rejected = try await exchange(server, body: requestBody(prompt: "b"))
            #expect(rejected.status == 429)
            let error = try #require(dig(try rejected.json(), "error") as? [String: Any])
            let quotaFailure = try #require(detail(error, "QuotaFailure"))
            #expect(
                dig(quotaFailure, "violations", 0, "quotaId") as? String == "GenerateRequestsPerDayPerProjectPerModel"
            )
            #expect(
                (dig(quotaFailure, "violations", 0, "quotaMetric") as? String)?.hasSuffix("requests_per_day") == true
            )
            #expect(server.statistics.quotaRejections == [.dailyQuota: 1])
        }
    }

    @Test("a 429 without RetryInfo, or with 0 s or 3600 s, is what the decision asks")
    func retryInfoVariants() async throws {
        let configuration = FakeGeminiServer.Configuration { request in
            switch request.prompt {
            case "none": .rateLimited(retryDelay: nil)
            case "zero": .rateLimited(retryDelay: "0s")
            default: .rateLimited(retryDelay: "3600s")
            }
        }
        try await withServer(configuration) { server in
            func error(_ prompt: String) async throws -> [String: Any] {
                let response = try await exchange(server, body: requestBody(prompt: prompt))
                return try #require(dig(try response.json(), "error") as? [String: Any])
            }
            let none = try await error("none")
            #expect(detail(none, "RetryInfo") == nil)
            #expect((none["message"] as? String)?.contains("Please retry") == false)
            let zero = try await error("zero")
            #expect(detail(zero, "RetryInfo")?["retryDelay"] as? String == "0s")
            let hour = try await error("hour")
            #expect(detail(hour, "RetryInfo")?["retryDelay"] as? String == "3600s")
        }
    }

    @Test("a storm switched on by the test answers 503 to the share its policy picks, and stops when switched off")
    func stormToggle() async throws {
        try await withServer { server in
            #expect(!server.isStormActive)
            server.beginStorm(StormPolicy(fraction: 1))
            #expect(server.isStormActive)
            let overloaded = try await exchange(server, body: requestBody(prompt: "a"))
            #expect(overloaded.status == 503)
            let error = try #require(dig(try overloaded.json(), "error") as? [String: Any])
            #expect(error["status"] as? String == "UNAVAILABLE")
            #expect(error["message"] as? String == "The model is overloaded. Please try again later.")
            server.endStorm()
            #expect(try await exchange(server, body: requestBody(prompt: "a")).status == 200)
            let statistics = server.statistics
            #expect(statistics.stormRejectedCount == 1)
            #expect(statistics.requests.map(\.attempt) == [1, 2], "a storm's 503 is an attempt that reached the model")
            #expect(statistics.requests.first?.rejection == .storm)
        }
    }

    @Test("a partial storm rejects exactly the attempts its seeded policy picks")
    func partialStorm() async throws {
        let policy = StormPolicy(fraction: 0.5, seed: 21)
        try await withServer { server in
            server.beginStorm(policy)
            // One keep-alive connection for the forty requests: what is under test is the policy.
            let port = server.port
            let statuses = try await blocking {
                let connection = try RawConnection(port: port)
                defer { connection.close() }
                return try (0..<40).map { index in
                    try connection.send(httpRequest(path: "/v1beta/models/gemini-2.5-flash-lite:generateContent", body: requestBody(prompt: "c\(index)")))
                    return try connection.readResponse().status
                }
            }
            let expected = (0..<40).map { policy.rejects(prompt: "c\($0)", attempt: 1) ? 503 : 200 }
            #expect(statuses == expected)
            #expect(expected.contains(503) && expected.contains(200))
        }
    }

    @Test("a scheduled storm runs from the server's start for its window")
    func scheduledStorm() async throws {
        let storm = StormPolicy(fraction: 1, during: .zero..<(.seconds(3600)))
        try await withServer(.init(storm: storm)) { server async throws in
            #expect(server.isStormActive)
            #expect(try await exchange(server, body: requestBody(prompt: "a")).status == 503)
        }
        let later = StormPolicy(fraction: 1, during: .seconds(3600)..<(.seconds(7200)))
        try await withServer(.init(storm: later)) { server async throws in
            #expect(!server.isStormActive)
            #expect(try await exchange(server, body: requestBody(prompt: "a")).status == 200)
        }
    }

    @Test("POST /_fake/storm switches the storm, and /_fake/stats reports the quota and storm counters")
    func controlEndpoints() async throws {
        var configuration = FakeGeminiServer.Configuration(quota: .requestsPerMinute(1))
        configuration.clock = FakeServerClock()
        try await withServer(configuration) { server in
            let on = try await exchange(server, method: "POST", path: "/_fake/storm?active=true&fraction=1", body: nil)
            #expect(on.status == 200)
            #expect(dig(try on.json(), "stormActive") as? Bool == true)
            #expect(try await exchange(server, body: requestBody(prompt: "a")).status == 503)
            #expect(try await exchange(server, body: requestBody(prompt: "b")).status == 429)
            let off = try await exchange(server, method: "POST", path: "/_fake/storm?active=false", body: nil)
            #expect(dig(try off.json(), "stormActive") as? Bool == false)
            let bad = try await exchange(server, method: "POST", path: "/_fake/storm?active=maybe", body: nil)
            #expect(bad.status == 400)

            let statsResponse = try await exchange(server, method: "GET", path: "/_fake/stats", body: nil)
            let stats = try #require(try statsResponse.json() as? [String: Any])
            #expect(stats["api"] as? String == "gemini")
            #expect(stats["requests"] as? Int == 2)
            #expect(stats["rateLimited"] as? Int == 1)
            #expect(stats["quotaRejected"] as? Int == 1)
            #expect(stats["stormRejected"] as? Int == 1)
            #expect(stats["stormActive"] as? Bool == false)
            #expect(stats["maxAdmittedPerWindow"] as? Int == 1)
            #expect(stats["byStatus"] as? [String: Int] == ["429": 1, "503": 1])
            #expect(dig(stats, "quota", "requestsPerWindow") as? Int == 1)
            #expect(dig(stats, "quota", "windowSeconds") as? Double == 60)
            #expect(dig(stats, "quotaRejectedByRule", "requests") as? Int == 1)
            for key in ["byPrompt", "byModel", "inFlight", "maxInFlight", "keyInURL", "openConnections", "interrupted"]
            {
                #expect(stats[key] != nil, "missing \(key)")
            }
        }
    }
}
