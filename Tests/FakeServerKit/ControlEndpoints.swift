/// The `/_fake/` endpoints, for shell scripts and benchmarks:
///
/// - `GET /_fake/stats`: the counters as JSON (see ``StatisticsJSON``).
/// - `POST /_fake/storm?active=true|false[&fraction=0.6][&seed=1]`: switches an overload storm on
///   or off; answers `{"stormActive": BOOL}`.
enum ControlEndpoints {
    static func answer<API: FakeAPI>(to request: IncomingRequest, api: API, state: ServerState) -> WirePlan {
        let parameters = request.queryParameters
        switch (request.head.method, request.path) {
        case (.GET, "/_fake/stats"):
            let json = StatisticsJSON.render(state.statistics, api: api.name, state: state)
            return .whole(status: 200, contentType: jsonType, Array(json.serialized(pretty: true).utf8))
        case (.POST, "/_fake/storm"):
            guard let active = parameters["active"].flatMap(Bool.init) else {
                return badRequest("POST /_fake/storm needs ?active=true or ?active=false")
            }
            if active {
                var policy = state.scheduledStorm ?? StormPolicy()
                if let fraction = parameters["fraction"] {
                    guard let value = Double(fraction), (0...1).contains(value) else {
                        return badRequest("fraction must be a number between 0 and 1, got \(fraction)")
                    }
                    policy.fraction = value
                }
                if let seed = parameters["seed"] {
                    guard let value = UInt64(seed) else {
                        return badRequest("seed must be a whole number, got \(seed)")
                    }
                    policy.seed = value
                }
                state.switchStorm(policy)
            } else {
                state.switchStorm(nil)
            }
            let json: JSONValue = .object([("stormActive", .bool(state.activeStorm() != nil))])
            return .whole(status: 200, contentType: jsonType, Array(json.serialized(pretty: true).utf8))
        default:
            return api.notFound(request)
        }
    }

    static let jsonType = "application/json; charset=UTF-8"

    private static func badRequest(_ message: String) -> WirePlan {
        let json: JSONValue = .object([("error", .string(message))])
        return .whole(status: 400, contentType: jsonType, Array(json.serialized(pretty: true).utf8))
    }
}

/// The statistics as the `GET /_fake/stats` JSON that scripts read. Keys (kept stable):
/// `api`, `requests`, `byPrompt`, `byModel`, `byStatus`, `inFlight`, `maxInFlight`,
/// `rateLimited` (every 429), `quotaRejected` (429s from the quota), `quotaRejectedByRule`
/// (`requests`, `tokens`, `daily`), `maxAdmittedPerWindow`, `quota` (the policy, or null),
/// `stormRejected`, `stormActive`, `interrupted`, `keyInURL`, `openConnections`,
/// `unresponsiveConnections`, `uptimeSeconds`.
package enum StatisticsJSON {
    package static func render(_ statistics: FakeServerStatistics, api: String, state: ServerState) -> JSONValue {
        func counts(_ dictionary: [String: Int]) -> JSONValue {
            .object(dictionary.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })
        }
        let quota: JSONValue
        if let snapshot = state.quotaPolicy {
            var members: [(key: String, value: JSONValue)] = [
                ("windowSeconds", .number(DurationFormat.seconds(snapshot.window)))
            ]
            members.append(("requestsPerWindow", snapshot.requestsPerWindow.map { .integer($0) } ?? .null))
            members.append(("tokensPerWindow", snapshot.tokensPerWindow.map { .integer($0) } ?? .null))
            members.append(("requestsPerDay", snapshot.requestsPerDay.map { .integer($0) } ?? .null))
            quota = .object(members)
        } else {
            quota = .null
        }
        let byRule: [(String, Rejection)] = [
            ("requests", .requestQuota), ("tokens", .tokenQuota), ("daily", .dailyQuota),
        ]
        return .object([
            ("api", .string(api)),
            ("requests", .integer(statistics.requestCount)),
            ("byPrompt", counts(statistics.requestsByPrompt)),
            ("byModel", counts(statistics.requestsByModel)),
            (
                "byStatus",
                counts(Dictionary(uniqueKeysWithValues: statistics.statusCounts.map { (String($0.key), $0.value) }))
            ),
            ("inFlight", .integer(statistics.inFlight)),
            ("maxInFlight", .integer(statistics.maxInFlight)),
            ("rateLimited", .integer(statistics.rateLimitedCount)),
            ("quotaRejected", .integer(statistics.quotaRejectedCount)),
            ("quotaRejectedByRule", .object(byRule.map { ($0.0, .integer(statistics.quotaRejections[$0.1] ?? 0)) })),
            ("maxAdmittedPerWindow", .integer(statistics.maxAdmittedPerWindow)),
            ("quota", quota),
            ("stormRejected", .integer(statistics.stormRejectedCount)),
            ("stormActive", .bool(state.activeStorm() != nil)),
            ("interrupted", .integer(statistics.interruptedCount)),
            ("keyInURL", .integer(statistics.keyInURLCount)),
            ("openConnections", .integer(statistics.openConnections)),
            ("unresponsiveConnections", .integer(statistics.unresponsiveConnections)),
            (
                "uptimeSeconds",
                .number((DurationFormat.seconds(state.now - state.start) * 1000).rounded() / 1000)
            ),
        ])
    }
}
