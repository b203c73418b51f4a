import Platform

/// The names of the metrics coursegen emits through swift-metrics, with what each counts. They
/// are emitted where the data is (the scheduler, the engine, the daemon) whatever the backend; the
/// daemon serves them in Prometheus text format with `--metrics-listen`, and without a backend
/// they cost nothing.
public enum MetricName {
    /// Counter of attempts sent to the API, by `outcome` (`success`; `retry`: it failed and the
    /// chapter is tried again; `failure`: the chapter failed with it; `stop`: it stopped every
    /// submission), `status` (the HTTP status, or `none` for a transport error or timeout) and
    /// `tier` (what it is billed at: `standard`, `flex`, `priority`).
    public static let requests = "coursegen_requests_total"
    /// Counter of answers with HTTP 429 (a per-minute quota): every submission paused.
    public static let rateLimited = "coursegen_rate_limited_total"
    /// Counter of the seconds submissions were paused after 429s (the delay each asked for).
    public static let rateLimitPauseSeconds = "coursegen_rate_limit_pause_seconds_total"
    /// Counter of attempts that are followed by another for the same chapter.
    public static let retries = "coursegen_retries_total"
    /// Counter of chapters by the `outcome` of the request a run waited for: `generated`,
    /// `failed`, `skipped_for_budget`.
    public static let chapters = "coursegen_chapters_total"
    /// Counter of tokens the API reported, by `kind`: `input`, `output`, `thinking`.
    public static let tokens = "coursegen_tokens_total"
    /// Counter of the estimated cost of those tokens, in US dollars (tokens of a model with no
    /// price are not counted here), by `tier`, each at its tier's price.
    public static let estimatedCost = "coursegen_estimated_cost_usd_total"
    /// Gauge of requests holding a slot: sent, or waiting for their submission time.
    public static let requestsInFlight = "coursegen_requests_in_flight"
    /// Gauge of how many requests may be in flight now: `--concurrency`, lowered while the API is
    /// overloaded.
    public static let inFlightLimit = "coursegen_in_flight_limit"
    /// Gauge: 1 while the API is found unavailable (the scheduler's circuit breaker is open:
    /// submissions wait and one request at a time probes it), else 0.
    public static let apiUnavailable = "coursegen_api_unavailable"
    /// Histogram of the time a successful attempt took, from its submission to its last byte.
    public static let chapterDuration = "coursegen_chapter_duration_seconds"
    /// Gauge of the outlines in the watched inbox.
    public static let outlinesWatched = "coursegen_outlines_watched"

    /// The buckets of `chapterDuration`: a chapter takes 15 to 60 seconds from Gemini, minutes
    /// under overload, a fraction of a second from a local stand-in.
    public static let chapterDurationBuckets: [Duration] = [
        .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(15), .seconds(20),
        .seconds(30), .seconds(45), .seconds(60), .seconds(90), .seconds(120), .seconds(180), .seconds(300),
    ]
}
