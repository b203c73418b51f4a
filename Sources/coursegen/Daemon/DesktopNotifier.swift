import Foundation
import Generation
import Logging

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
            body = "Some chapters cannot be written with coursegen's settings; the administrator has been told.\n\(page)"
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
struct DesktopNotifier: Sendable {
    private let program: String

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
        self.program = program
    }

    /// Shows the notification for `status`, if there is one. Does not wait for it: a desktop
    /// that is slow to answer never holds the daemon; a failure is logged and forgotten.
    func post(_ status: CourseStatus, logger: Logger) {
        guard let notification = DesktopNotification(status) else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = [
            "--app-name=coursegen", "--urgency=\(notification.urgency.rawValue)", "--",
            notification.summary, notification.body,
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            logger.warning("cannot show a desktop notification", metadata: ["error": "\(error)"])
        }
    }
}
