import Generation
import Logging
import Watcher
import Platform
import Providers
import Outlines

// The settings table: one row per setting, in the order the documentation lists them.
//
// To add a setting:
// 1. give `Settings` (or the struct it belongs to) a field whose initial value is the default;
// 2. add a row here, and to `Setting.all`: name, type (`SettingType`: integer, number, seconds,
//    milliseconds, boolean, choice, path, url, hostAndPort, text, priceTable), field, the commands whose flag
//    it is, what a reload does with it, and its help;
// 3. declare its flag in each of those commands (or their option groups), one line, with the
//    property named as the setting without its hyphens (`maxAttempts` for `max-attempts`):
//        @Option(name: Setting.rpm.flagName, help: Setting.rpm.help) var rpm: String?
//    or, for a boolean, `@Flag(name: ..., inversion: .prefixedNo, help: ...) var stream: Bool?`;
// 4. regenerate the documentation (`swift run coursegen settings --example-config >
//    systemd/config.example.yaml`, and `--readme-table` into README.md's Configuration section).
// The environment variable, the config key, validation, messages and the reload behaviour
// follow from the row; SettingsTests fails until 3 and 4 are done.
extension Setting {
    static let inbox = Setting(
        "inbox",
        .path(valueName: "dir"),
        at: \.inbox,
        for: .watch,
        onReload: .needsRestart,
        help: "The folder authors drop outlines into (.md, .yaml, .yml or .json); subfolders are watched too.",
        details: ["Members of the group `coursegen` may write here (set up by coursegen.tmpfiles)."]
    )

    static let output = Setting(
        "output",
        .path(valueName: "dir"),
        at: \.output,
        for: .generating,
        onReload: .needsRestart,
        help: "The output tree: OUTLINE.md publishes into OUTPUT/OUTLINE/ (in watch, inbox/a/x.md into OUTPUT/a/x/).",
        details: [
            "The system service may only write here and in its state folder: moving it needs a drop-in",
            "(`systemctl edit coursegen`) with",
            "  [Service]",
            "  ReadWritePaths=/new/output/folder",
        ]
    )

    static let state = Setting(
        "state",
        .path(valueName: "dir"),
        at: \.state,
        for: .all,
        onReload: .needsRestart,
        help: "The state folder: stored answers and per-outline manifests.",
        details: ["The system service's StateDirectory= sets $STATE_DIRECTORY to /var/lib/coursegen."],
        default: "$STATE_DIRECTORY, else $XDG_STATE_HOME/coursegen, else ~/.local/state/coursegen"
    )

    static let debounceMs = Setting(
        "debounce-ms",
        .milliseconds(0...60_000),
        at: \.debounce,
        for: .watch,
        onReload: .needsRestart,
        help: "Quiet time after a save before the outline is read, in milliseconds."
    )

    static let stopTimeout = Setting(
        "stop-timeout",
        .seconds(0...3600),
        at: \.stopTimeout,
        for: .generating,
        onReload: .needsRestart,
        help:
            "Seconds the answers in flight may take to arrive, to be stored and published, after SIGTERM or a first Ctrl-C (no new request is sent meanwhile); then they are cancelled.",
        details: ["The system service stops within TimeoutStopSec= (30 s): keep this at 25 or less."]
    )

    static let settle = Setting(
        "settle",
        .seconds(0...3600),
        at: \.settle,
        for: .watch,
        onReload: .appliesAtOnce,
        help: "Seconds an outline must stay unchanged after a save before requests are sent for it; 0 sends at once.",
        details: [
            "An editor that autosaves a second after each pause would otherwise pay for every half-typed",
            "version. The catch-up at start and the daemon's own retries do not wait.",
        ]
    )

    static let desktopNotifications = Setting(
        "desktop-notifications",
        .boolean,
        at: \.desktopNotifications,
        for: .watch,
        onReload: .needsRestart,
        help: "A desktop notification (notify-send, on the session bus) when a course finishes or fails.",
        details: [
            "For the user unit on a workstation; off by default. Needs a session bus (DBUS_SESSION_BUS_ADDRESS)",
            "and notify-send (Debian: libnotify-bin); without them coursegen says so once and goes on.",
            "The system service has no session bus and never tries.",
        ]
    )

    static let watchMode = Setting(
        "watch-mode",
        .choice(valueName: "mode"),
        at: \.watchMode,
        for: .watch,
        onReload: .needsRestart,
        help: "auto: inotify, plus a scan every poll-interval when the inbox is on a network share (NFS, SMB, sshfs) "
            + "where inotify misses saves made on other machines; inotify: never scan; poll: scan only.",
        details: ["auto says in the journal, once, when it finds the inbox on a network share."]
    )

    static let pollInterval = Setting(
        "poll-interval",
        .seconds(0.05...86_400),
        at: \.pollInterval,
        for: .watch,
        onReload: .needsRestart,
        help: "Seconds between two scans of the inbox, when it is scanned (see watch-mode)."
    )

    static let provider = Setting(
        "provider",
        .choice(["gemini", "openai"]),
        at: \.generation.provider,
        for: .generating,
        onReload: .needsRestart,
        help: "The API that writes chapters: gemini (Google's Gemini API), or openai (any OpenAI-compatible chat "
            + "completions API: OpenAI, or a local Ollama, llama.cpp server, vLLM or LM Studio).",
        details: [
            "The provider and the model are part of every chapter's cache key: switching regenerates",
            "every chapter, switching back costs nothing (the earlier answers are still stored).",
        ]
    )

    static let baseURL = Setting(
        "base-url",
        .url,
        at: \.baseURL,
        for: [.generate, .watch, .models],
        onReload: .needsRestart,
        help: "The API's base URL. For openai the default is https://api.openai.com/v1 instead; a local Ollama is "
            + "http://127.0.0.1:11434/v1. Plain http only to a loopback address.",
        details: [
            "Tests point it at a local fake. A server on another machine needs https (a key must never",
            "cross a network in clear): put a TLS proxy in front of it, or an SSH tunnel to 127.0.0.1.",
        ]
    )

    static let model = Setting(
        "model",
        .text("a model name such as gemini-3.8-flash, gpt-4o-mini or llama3.1:8b", valueName: "name") {
            GeminiProvider.isValidModelName($0) || OpenAIProvider.isValidModelName($0)
        },
        at: \.generation.model,
        for: [.generate, .watch, .models],
        onReload: .appliesAtOnce,
        help: "The model. Part of every chapter's cache key. openai has no default: name one (gpt-4o-mini for OpenAI, "
            + "llama3.1:8b for an Ollama that has pulled it). `coursegen models` lists the Gemini models the key can use.",
        details: [
            "The gemini default is the latest Flash and changes when Google retires models: every chapter",
            "then regenerates once. Set a model to keep it for as long as Google serves it.",
            "Gemini 3 models (gemini-3...) take thinking-level and no temperature or thinking-budget;",
            "2.5 models take thinking-budget and temperature.",
        ]
    )

    static let concurrency = Setting(
        "concurrency",
        .integer(1...256),
        at: \.scheduler.concurrency,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "Most requests in flight at once."
    )

    static let rpm = Setting(
        "rpm",
        .integer(1...1_000_000),
        at: \.scheduler.requestsPerMinute,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "Requests per minute your quota allows (1000 is Gemini's paid Tier 1 for Flash models)."
    )

    static let tpm = Setting(
        "tpm",
        .integer(1_000...1_000_000_000),
        at: \.scheduler.inputTokensPerMinute,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "Input tokens per minute your quota allows."
    )

    static let maxAttempts = Setting(
        "max-attempts",
        .integer(1...100),
        at: \.scheduler.maximumAttempts,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "Attempts per chapter, the first included."
    )

    static let requestTimeout = Setting(
        "request-timeout",
        .seconds(1...3600),
        at: \.scheduler.requestTimeout,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "Seconds one request may take, answer included.",
        details: ["A flex request (see service-tier) may take at least 1200: it may wait minutes in Google's queue."]
    )

    static let serviceTier = Setting(
        "service-tier",
        .choice(valueName: "tier"),
        at: \.generation.serviceTier,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "Gemini's service tier: standard; flex (half price, answers within minutes, requests may be shed "
            + "under load and are retried); priority (dearer, served first). An outline's own `service-tier:` wins.",
        details: [
            "Not part of the cache key: switching tiers regenerates nothing. flex suits the unattended",
            "service: nobody waits for its chapters. A flex request may wait in Google's queue before its",
            "first byte: stall-timeout counts from that byte, and it may take request-timeout or 1200 s,",
            "whichever is longer.",
            "A model that does not take the tier stops every request at the first answer (exit 78).",
        ]
    )

    static let temperature = Setting(
        "temperature",
        .number(0...2, valueName: "t"),
        at: \.generation.temperature,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "Sampling temperature. Part of every chapter's cache key: changing it regenerates them all. Not sent to "
            + "Gemini 3 models (Google deprecated it for them): set it only with a 2.5 model or openai."
    )

    static let maxOutputTokens = Setting(
        "max-output-tokens",
        .integer(256...GenerationSettings.outputTokenLimit),
        at: \.generation.maxOutputTokens,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "Output budget per chapter in tokens, thinking included; raised for long chapters. Part of the cache key."
    )

    static let thinkingBudget = Setting(
        "thinking-budget",
        .integer(-1...24_576),
        at: \.generation.thinkingBudget,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "Thinking tokens per chapter for Gemini 2.5 models: 0 off, -1 lets the model decide (openai does not send "
            + "it). Gemini 3 models take thinking-level instead. Part of the cache key."
    )

    static let thinkingLevel = Setting(
        "thinking-level",
        .choice(valueName: "level"),
        at: \.generation.thinkingLevel,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "How hard Gemini 3 models think (each model takes some of the levels: 3.8 Flash low, medium, high); "
            + "Gemini 2.5 models take thinking-budget instead. Part of the cache key.",
        default: "not sent: the model's own"
    )

    static let stream = Setting(
        "stream",
        .boolean,
        at: \.stream,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "Stream answers as they are written (--no-stream waits for each whole answer): progress shows, and a "
            + "request that stalls is retried after stall-timeout instead of request-timeout."
    )

    static let allowHTML = Setting(
        "allow-html",
        .boolean,
        at: \.generation.allowHTML,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "Publish raw HTML and `javascript:` links the model wrote as they are; off escapes `<script>`, "
            + "`<iframe>`, `on...=` attributes and such links (code blocks and spans stay as written).",
        details: [
            "The model's answer is untrusted: an outline can carry a prompt injection. Not part of the",
            "cache key: switching it republishes every chapter from its stored answer, with no request.",
            "mdBook directives the model wrote ({{#include}}, {{#title}}, ...) stay escaped either way.",
        ]
    )

    static let context = Setting(
        "context",
        .choice(valueName: "context"),
        at: \.generation.context,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "How much of the rest of the course each chapter's prompt shows: none (the chapter alone), toc (every "
            + "chapter's title, so chapters stop repeating each other), neighbours (the titles and points of the "
            + "chapters before and after). An outline's own `context:` wins. Part of the cache key.",
        details: [
            "What an edit then costs: none regenerates the chapters edited; toc regenerates every",
            "chapter when any title changes, or a chapter is added, removed or moved; neighbours",
            "regenerates at most the chapter and the two beside it (notes stay private to their chapter).",
        ]
    )

    static let systemTemplate = Setting(
        "system-template",
        .path(valueName: "file"),
        at: \.systemTemplate,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "A Mustache template for the system instruction, in place of the built-in one (see README: Writing a "
            + "prompt template). Its text is part of the cache key of every chapter it writes.",
        details: [
            "An outline's own `system-prompt: FILE.mustache`, beside it in the inbox, wins. To start from",
            "the built-in one: cp /usr/local/share/doc/coursegen/templates/system.mustache /etc/coursegen/",
        ],
        default: "built-in"
    )

    static let chapterTemplate = Setting(
        "chapter-template",
        .path(valueName: "file"),
        at: \.chapterTemplate,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "A Mustache template for each chapter's prompt, in place of the built-in one. Its text is part of the "
            + "cache key of every chapter it writes.",
        details: [
            "An outline's own `prompt: FILE.mustache`, beside it in the inbox, wins. To start from the",
            "built-in one: cp /usr/local/share/doc/coursegen/templates/chapter.mustache /etc/coursegen/",
        ],
        default: "built-in"
    )

    static let stallTimeout = Setting(
        "stall-timeout",
        .seconds(1...3600),
        at: \.stallTimeout,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "Seconds a streamed answer may send nothing before it is cancelled and retried.",
        details: [
            "With thinking on, coursegen asks for thought summaries, which the model sends while it",
            "thinks, so a long think is not taken for a stall.",
        ]
    )

    static let apiKeyFile = Setting(
        "api-key-file",
        .path(valueName: "file"),
        at: \.apiKeyFile,
        for: [.generate, .watch, .models],
        onReload: .appliesAtOnce,
        help: "A file holding the API key; else the systemd credential gemini-api-key, else GOOGLE_API_KEY or "
            + "GEMINI_API_KEY (for openai: the credential openai-api-key, else OPENAI_API_KEY; none needed for a server "
            + "on a loopback address).",
        details: [
            "The system service does not need it: systemd hands it /etc/coursegen/gemini-api-key (root",
            "only, mode 0600) as the credential `gemini-api-key` (for openai, see systemd/README.md).",
        ]
    )

    static let prices = Setting(
        "prices",
        .priceTable,
        at: \.cost.prices,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "US dollars per million input, output and thinking tokens, by model, to estimate what chapters cost; "
            + "added to the built-in prices, replacing those of the same model.",
        details: [
            "Built in, at Google's standard paid-tier prices read on 2026-12-01 from",
            "https://ai.google.dev/gemini-api/docs/pricing (thinking tokens are billed as output):",
            "gemini-2.5-flash and gemini-3.5-flash-lite 0.30 / 2.50, gemini-3.5-flash 1.50 / 9.00, and",
            "gemini-3.8-flash 0.75 / 3.75 until 2026-12-31, then 1.50 / 7.50 (the change is built in).",
            "flex and batch cost half, priority priority-factor times (2 unless set: Google says 75 to",
            "100 % more); cached prompt tokens cost cached-input (a tenth of input unless set).",
            "thinking may be left out: it then costs what output costs. A model with no price gets no",
            "estimate (status says unknown) and cannot run under a budget. Several lines work too:",
            "  prices:",
            "    gemini-2.5-flash: {input: 0.3, output: 2.5}",
            "    \"llama3.1:8b\": {input: 0, output: 0}",
        ]
    )

    static let budget = Setting(
        "budget",
        .number(0...1_000_000, valueName: "usd"),
        at: \.cost.budget,
        for: .generating,
        onReload: .appliesAtOnce,
        help: "The most one run may spend, in US dollars as estimated from prices: a request that could take "
            + "the run over it is not sent, and its chapter is skipped for budget. An outline's own budget: "
            + "lowers it for that outline.",
        details: [
            "Each request counts at the most it may cost (its whole output budget) until its answer says",
            "what it cost. Skipped chapters are tried again by a save, or by a reload with a higher budget;",
            "not by the daemon's own retries.",
        ],
        default: "none"
    )

    // The Batch API (issue 21, item 5): kept apart from service-tier's row.
    static let batch = Setting(
        "batch",
        .boolean,
        at: \.batch,
        for: .generate,
        onReload: .needsRestart,
        help: "Send the chapters to generate as one Gemini Batch API job (several over 20 MB): half the price, "
            + "answers within 24 hours. The job's name is kept in the state folder: a rerun, after a crash, a kill "
            + "or Ctrl-C, polls the same job and never pays for a second one.",
        details: [
            "Gemini only. Ctrl-C or SIGTERM leaves the job running at Google; the next run picks it up.",
            "A job that fails, is cancelled or expires (after 48 h) fails its chapters with its message.",
        ]
    )

    static let batchOver = Setting(
        "batch-over",
        .integer(0...1_000_000),
        at: \.batchOver,
        for: .watch,
        onReload: .needsRestart,
        help: "In the daemon, a regeneration of at least this many chapters goes as a Gemini Batch API job (half "
            + "the price, answers within 24 hours) instead of one request per chapter; 0 never.",
        details: [
            "For unattended work nobody waits for: the chapters count as in flight on the status page until",
            "the job finishes, and SIGTERM leaves the job running for the next start to poll.",
        ]
    )

    static let metricsListen = Setting(
        "metrics-listen",
        .hostAndPort,
        at: \.metricsListen,
        for: .watch,
        onReload: .needsRestart,
        help: "Serve metrics in Prometheus text format at http://HOST:PORT/metrics (requests, 429s, retries, "
            + "chapters, tokens, estimated cost, in-flight limit, latency); off when unset.",
        details: [
            "Nothing authenticates a scrape: listen on a loopback address (127.0.0.1:9464) unless a",
            "firewall guards the port. The system unit allows it as it is (see systemd/README.md).",
        ],
        default: "off"
    )

    static let logLevel = Setting(
        "log-level",
        .choice(valueName: "level"),
        at: \.logLevel,
        for: .generating,
        onReload: .needsRestart,
        help: "The least severe log entries written.",
        details: [
            "Under systemd, logs go to the journal with structured fields:",
            "journalctl -u coursegen OUTLINE=practical-rust -p warning",
        ]
    )

    /// Every setting, in the order the documentation lists them.
    static let all: [Setting] = [
        inbox, output, state, debounceMs, settle, watchMode, pollInterval, stopTimeout, desktopNotifications, provider,
        baseURL, model,
        concurrency, rpm, tpm, maxAttempts, requestTimeout, serviceTier, stream, stallTimeout, temperature, maxOutputTokens,
        thinkingBudget, thinkingLevel, context, systemTemplate, chapterTemplate, allowHTML, prices, budget, batch, batchOver,
        apiKeyFile, metricsListen, logLevel,
    ]

    /// The row named `name`, if any.
    static func named(_ name: String) -> Setting? { all.first { $0.name == name } }
}
