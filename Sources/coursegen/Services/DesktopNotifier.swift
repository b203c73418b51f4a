import Foundation
import Generation
import Logging
import ServiceLifecycle
import Subprocess
import SystemPackage
import Platform

/// What a desktop notification says about a course: a one-line summary and a body, the same
/// facts as the course's status page in fewer words.
struct DesktopNotification: Sendable, Hashable {
    enum Urgency: String, Sendable { case normal, critical }

    var summary: String
    var body: String
    var urgency: Urgency

    /// The notification for a course that finished a run or failed to, nil when there is nothing
    /// to tell (still generating, removed). Pure.
    init?(_ status: CourseStatus) {
        let name = status.title ?? status.outline
        let page = "Details in \(status.folder)/\(StatusPage.fileName)"
        switch status.phase {
        case .generating, .removed, .stopped:
            return nil
        case .upToDate:
            summary = "\(name) is up to date"
            body = "\(counted(status.chapters, "chapter")) published in \(status.folder)"
            urgency = .normal
        case .needsAuthor:
            summary = "\(name) needs you"
            let first = status.failed.first { $0.needsAuthor } ?? status.failed.first
            body =
                first.map { "Chapter \($0.chapter) \"\($0.title)\": \($0.explanation); \($0.advice).\n\(page)" } ?? page
            urgency = .critical
        case .waitingToRetry, .failed:
            let count = status.failed.count
            summary = "\(name): \(count) chapter\(count == 1 ? "" : "s") failed"
            let when =
                status.nextTry.map { "coursegen tries again at \(StatusPage.time($0)), on its own." }
                ?? "Save the outline again to try again."
            body = "\(when)\n\(page)"
            urgency = .normal
        case .needsAdministrator:
            summary = "\(name) waits for the administrator"
            body =
                "Some chapters cannot be written with coursegen's settings; the administrator has been told.\n\(page)"
            urgency = .normal
        case .overBudget:
            summary = "\(name): \(counted(status.skippedForBudget, "chapter")) over budget"
            body = "Not written: the budget would not cover them.\n\(page)"
            urgency = .normal
        case .paused:
            summary = "\(name) is paused"
            body = "\(status.paused ?? "generation is stopped for every course"); the administrator has been told."
            urgency = .normal
        case .unreadable:
            summary = "\(name): the outline cannot be read"
            let problem = status.outlineError
            let place = problem.map { p in p.line.map { "\(p.file):\($0)" } ?? p.file } ?? status.source
            body = "\(place): \(problem?.message ?? "see the status page")\n\(page)"
            urgency = .critical
        }
    }
}

/// Shows `DesktopNotification`s on the author's desktop through `notify-send` (Debian's
/// libnotify-bin), which talks to the freedesktop Notifications service on the session bus. For
/// the user unit on a workstation only: the system service has no session bus, so it never tries.
///
/// A `Service`: `post` queues a notification (the newest few are kept) and returns at once, and
/// `run` shows them one at a time, each `notify-send` a child process (swift-subprocess) given at
/// most `timeout`: a desktop slow to answer never holds the daemon, and every child is reaped.
struct DesktopNotifier: Service {
    private let program: FilePath
    private let logger: Logger
    private let queue: AsyncStream<DesktopNotification>
    private let continuation: AsyncStream<DesktopNotification>.Continuation
    /// The longest one `notify-send` may take before it is stopped.
    static let timeout = Duration.seconds(10)

    /// A notifier, or nil (with one warning saying why) when this session cannot show
    /// notifications: no session bus, or no `notify-send` on `PATH`.
    init?(environment: [String: String], logger: Logger) {
        guard environment["DBUS_SESSION_BUS_ADDRESS"]?.isEmpty == false else {
            logger.warning(
                "desktop notifications are on, but there is no session bus (DBUS_SESSION_BUS_ADDRESS): run coursegen as the user unit of a desktop session, or turn desktop-notifications off"
            )
            return nil
        }
        let folders = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        let candidates = folders.map { "\($0)/notify-send" }
        guard let program = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            logger.warning(
                "desktop notifications are on, but notify-send is not installed: install it (Debian: apt install libnotify-bin) or turn desktop-notifications off"
            )
            return nil
        }
        self.program = FilePath(program)
        self.logger = logger
        (queue, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(8))
    }

    /// Queues the notification for `status`, if there is one, and returns at once.
    func post(_ status: CourseStatus) {
        guard let notification = DesktopNotification(status) else { return }
        continuation.yield(notification)
    }

    func run() async throws {
        for await notification in queue.cancelOnGracefulShutdown() {
            await show(notification)
        }
    }

    private func show(_ notification: DesktopNotification) async {
        let arguments: Arguments = [
            "--app-name=coursegen", "--urgency=\(notification.urgency.rawValue)", "--",
            notification.summary, notification.body,
        ]
        let program = self.program
        let outcome = await withTaskGroup(of: Result<TerminationStatus, any Error>?.self) { group in
            group.addTask {
                do {
                    return .success(
                        try await Subprocess.run(.path(program), arguments: arguments, output: .discarded)
                            .terminationStatus
                    )
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                try? await Task.sleep(for: Self.timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        switch outcome {
        case .success(.exited(0)):
            break
        case .success(let status):
            logger.warning("notify-send did not show a desktop notification", metadata: ["status": "\(status)"])
        case .failure(let error):
            logger.warning("cannot show a desktop notification", metadata: ["error": "\(error)"])
        case nil:
            logger.warning(
                "notify-send did not finish in time; it was stopped",
                metadata: ["timeout_s": "\(Self.timeout.components.seconds)"]
            )
        }
    }
}
