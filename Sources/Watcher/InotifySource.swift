import CInotify
import Foundation
import Glibc
import Platform
import Logging
import NIOConcurrencyHelpers
import SystemPackage

/// The libinotifytools-backed event source: one dedicated thread owns the library, blocks in
/// `inotifytools_next_event(0)` (forever, so an idle watcher uses no CPU), copies each event at once and
/// delivers it. Requests (watch, unwatch, stop) are queued and the thread is woken through inotify itself:
/// it also watches a private control folder, whose timestamps a request touches (`IN_ATTRIB`).
final class InotifySource: RawEventSource {
    /// The inotify thread's name, as shown in `/proc/self/task/*/comm`.
    static let threadName = "inbox-watcher"

    fileprivate enum Request {
        case watch(String, isInboxRoot: Bool, CheckedContinuation<FolderWatchOutcome, Never>)
        case unwatch(String)
        case unwatchAll
        case stop(CheckedContinuation<Void, Never>?)
    }

    fileprivate struct Mailbox {
        var requests: [Request] = []
        /// The control folder a request touches to wake the thread; nil until started.
        var controlFolder: String?
        /// The thread has ended: requests are answered at once.
        var closed = false
    }

    fileprivate final class Shared: Sendable {
        let mailbox = NIOLockedValueBox(Mailbox())
    }

    private let shared = Shared()
    private let inbox: String
    private let logger: Logger

    /// - Parameter inbox: the inbox's path, for error messages.
    init(inbox: String, logger: Logger) {
        self.inbox = inbox
        self.logger = logger
    }

    func start(deliver: @escaping @Sendable (SourceOutput) -> Void) async throws(WatcherError) {
        try InotifyLibrary.initialise()
        try await InotifyLibrary.acquire(for: inbox)
        let failure: WatcherError? = await withCheckedContinuation { started in
            let thread = Thread { [shared, logger] in
                InotifyThread(shared: shared, logger: logger, deliver: deliver).run(started: started)
            }
            thread.start()
        }
        if let failure { throw failure }
    }

    func watch(folder: String, isInboxRoot: Bool) async -> FolderWatchOutcome {
        await withCheckedContinuation { continuation in
            if !send(.watch(folder, isInboxRoot: isInboxRoot, continuation)) {
                continuation.resume(returning: .failed(.stopped()))
            }
        }
    }

    func unwatch(subtree folder: String) async {
        _ = send(.unwatch(folder))
    }

    func unwatchAll() async {
        _ = send(.unwatchAll)
    }

    func stop() async {
        InotifyLibrary.markStopping()
        await withCheckedContinuation { continuation in
            if !send(.stop(continuation)) { continuation.resume() }
        }
    }

    func requestStop() {
        InotifyLibrary.markStopping()
        _ = send(.stop(nil))
    }

    /// Queues a request and wakes the thread. Returns false if the thread has ended.
    private func send(_ request: Request) -> Bool {
        let controlFolder: String?? = shared.mailbox.withLockedValue { mailbox in
            guard !mailbox.closed else { return .none }
            mailbox.requests.append(request)
            return .some(mailbox.controlFolder)
        }
        guard case .some(let folder) = controlFolder else { return false }
        // If the control folder just vanished, its IN_DELETE_SELF wakes the thread instead.
        if let folder, utimensat(AT_FDCWD, folder, nil, 0) != 0 {
            logger.debug(
                "cannot touch the watcher's control folder",
                metadata: ["path": "\(folder)", "errno": "\(errno)"]
            )
        }
        return true
    }
}

/// The inotify thread's state and loop. Lives on that thread only.
private final class InotifyThread {
    private struct WatchedFolder {
        let descriptor: Int32
        let identity: FileIdentity
    }

    private let shared: InotifySource.Shared
    private let logger: Logger
    private let deliver: @Sendable (SourceOutput) -> Void
    private var folders: [String: WatchedFolder] = [:]
    private var paths: [Int32: String] = [:]
    private var control: (path: String, descriptor: Int32)?
    /// Watches of control folders that vanished, whose IN_IGNORED may still come.
    private var retiredControls: Set<Int32> = []

    init(shared: InotifySource.Shared, logger: Logger, deliver: @escaping @Sendable (SourceOutput) -> Void) {
        self.shared = shared
        self.logger = logger
        self.deliver = deliver
    }

    func run(started: CheckedContinuation<WatcherError?, Never>) {
        nameThisThread(InotifySource.threadName)
        do throws(WatcherError) {
            try openControlFolder()
        } catch {
            finish()
            started.resume(returning: error)
            return
        }
        started.resume(returning: nil)
        loop()
        finish()
    }

    private func loop() {
        while true {
            guard let event = inotifytools_next_event(0) else {
                let code = inotifytools_error()
                if code == EINTR { continue }
                logger.error("reading inotify events failed", metadata: ["errno": "\(code)"])
                deliver(.failed(.inotifyFailed("read events", errno: Errno(rawValue: code == 0 ? EIO : code))))
                return
            }
            // Copy everything now: the next call reuses libinotifytools' buffer.
            let descriptor = event.pointee.wd
            let mask = EventMask(rawValue: event.pointee.mask)
            let cookie = event.pointee.cookie
            let name = String(validatingCString: cinotify_event_name(event))

            if descriptor == control?.descriptor {
                if !mask.isDisjoint(with: [.deleteSelf, .moveSelf, .ignored]) { replaceControlFolder(after: mask) }
                if !serveRequests() { return }
                continue
            }
            if mask.contains(.queueOverflow) {
                deliver(.event(.overflow))
                continue
            }
            if retiredControls.contains(descriptor) {
                if mask.contains(.ignored) { forget(descriptor) }
                continue
            }
            var folder = String(cString: inotifytools_filename_from_wd(descriptor))
            if folder.count > 1, folder.hasSuffix("/") { folder.removeLast() }
            if mask.contains(.ignored) { forget(descriptor) }
            // An empty folder means a watch removed already: its remaining events are stale.
            guard !folder.isEmpty else { continue }
            guard let name else {
                logger.warning("ignoring a file whose name is not valid UTF-8", metadata: ["folder": "\(folder)"])
                continue
            }
            deliver(.event(RawEvent(folder: folder, name: name, mask: mask, cookie: cookie)))
        }
    }

    /// Carries out queued requests. Returns false when asked to stop.
    private func serveRequests() -> Bool {
        let requests = shared.mailbox.withLockedValue { mailbox in
            defer { mailbox.requests.removeAll() }
            return mailbox.requests
        }
        var keepRunning = true
        for request in requests {
            switch request {
            case .watch(let path, let isInboxRoot, let reply):
                reply.resume(returning: watch(path, isInboxRoot: isInboxRoot))
            case .unwatch(let path):
                for (folder, watched) in folders where folder.isPath(within: path) {
                    remove(watched.descriptor, of: folder)
                }
            case .unwatchAll:
                for (folder, watched) in folders { remove(watched.descriptor, of: folder) }
            case .stop(let reply):
                // Put back for finish(), which answers every stop request once everything is released.
                if let reply { shared.mailbox.withLockedValue { $0.requests.append(.stop(reply)) } }
                keepRunning = false
            }
        }
        return keepRunning
    }

    private func watch(_ path: String, isInboxRoot: Bool) -> FolderWatchOutcome {
        guard let status = try? Stat(FilePath(path), followTargetSymlink: isInboxRoot), status.type == .directory
        else { return .missing }
        let identity = FileIdentity(status)
        if let existing = folders[path] {
            if existing.identity == identity { return .watched }
            // Another folder now has this path (the old one was replaced): drop the old watch.
            remove(existing.descriptor, of: path)
        }
        var mask = EventMask.inboxFolder
        if isInboxRoot { mask.remove(.dontFollow) }
        guard inotifytools_watch_file(path, Int32(bitPattern: mask.rawValue)) != 0 else {
            let code = inotifytools_error()
            switch code {
            case ENOENT, ENOTDIR: return .missing
            case EACCES: return .permissionDenied
            case ENOSPC:
                return .failed(.watchLimitReached(path: path, limit: Int(inotifytools_get_max_user_watches())))
            default: return .failed(.inotifyFailed("watch", path: path, errno: Errno(rawValue: code)))
            }
        }
        var descriptor = inotifytools_wd_from_filename(path + "/")
        if descriptor <= 0 { descriptor = inotifytools_wd_from_filename(path) }
        guard descriptor > 0 else {
            logger.error("libinotifytools lost track of a new watch", metadata: ["path": "\(path)"])
            return .failed(.inotifyFailed("track the watch of", path: path, errno: .invalidArgument))
        }
        if let other = paths[descriptor], other != path {
            // The kernel keys watches by inode: this folder is also reachable as `other` (a bind mount).
            logger.warning(
                "folder is reachable through two paths; its events are reported under the first",
                metadata: ["path": "\(path)", "first": "\(other)"]
            )
            return .watched
        }
        folders[path] = WatchedFolder(descriptor: descriptor, identity: identity)
        paths[descriptor] = path
        return .watched
    }

    /// Removes a live watch (the kernel's and libinotifytools' records).
    private func remove(_ descriptor: Int32, of path: String) {
        if inotifytools_filename_from_wd(descriptor).pointee != 0,
            inotifytools_remove_watch_by_wd(descriptor) == 0
        {
            // The kernel had dropped it already (its folder was deleted; IN_IGNORED is on its way).
            cinotify_forget_watch(descriptor)
        }
        if folders[path]?.descriptor == descriptor { folders[path] = nil }
        if paths[descriptor] == path { paths[descriptor] = nil }
    }

    /// Drops a watch the kernel has dropped (IN_IGNORED) from libinotifytools' tables and ours.
    private func forget(_ descriptor: Int32) {
        cinotify_forget_watch(descriptor)
        retiredControls.remove(descriptor)
        if let path = paths.removeValue(forKey: descriptor), folders[path]?.descriptor == descriptor {
            folders[path] = nil
        }
    }

    private func openControlFolder() throws(WatcherError) {
        let temporary = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((temporary + "/coursegen-watcher.XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw .controlFolderFailed(path: temporary, errno: Errno(rawValue: errno))
        }
        let path = String(cString: created)
        let mask: EventMask = [.attributes, .deleteSelf, .moveSelf, .onlyDirectory, .dontFollow]
        guard inotifytools_watch_file(path, Int32(bitPattern: mask.rawValue)) != 0 else {
            let code = inotifytools_error()
            rmdir(path)
            if code == ENOSPC {
                throw .watchLimitReached(path: path, limit: Int(inotifytools_get_max_user_watches()))
            }
            throw .controlFolderFailed(path: path, errno: Errno(rawValue: code))
        }
        control = (path, inotifytools_wd_from_filename(path + "/"))
        shared.mailbox.withLockedValue { $0.controlFolder = path }
    }

    /// The control folder was deleted or moved (a temporary-files cleaner): make a new one.
    private func replaceControlFolder(after mask: EventMask) {
        guard let old = control else { return }
        logger.warning("the watcher's control folder vanished; making a new one", metadata: ["path": "\(old.path)"])
        if mask.contains(.ignored) {
            forget(old.descriptor)
        } else {
            // Moved: the kernel still has the watch. Deleted: its IN_IGNORED follows and forgets it.
            if mask.contains(.moveSelf) { inotifytools_remove_watch_by_wd(old.descriptor) }
            retiredControls.insert(old.descriptor)
        }
        control = nil
        do throws(WatcherError) {
            try openControlFolder()
        } catch {
            // Without a control folder the thread cannot be woken: stop, and say why.
            logger.error("cannot make a new control folder", metadata: ["error": "\(error)"])
            deliver(.failed(error))
            shared.mailbox.withLockedValue { $0.requests.append(.stop(nil)) }
        }
    }

    /// Names the calling thread for `ps`, `top` and /proc (Foundation's `Thread.name` does not on Linux, and
    /// Glibc's overlay does not import `pthread_setname_np`).
    private func nameThisThread(_ name: String) {
        let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = write(descriptor, name, name.utf8.count)
        close(descriptor)
    }

    /// Releases every watch and the control folder, answers pending requests and gives the library back.
    private func finish() {
        for (folder, watched) in folders { remove(watched.descriptor, of: folder) }
        if let control {
            if inotifytools_remove_watch_by_wd(control.descriptor) == 0 { cinotify_forget_watch(control.descriptor) }
            rmdir(control.path)
        }
        control = nil
        let requests = shared.mailbox.withLockedValue { mailbox in
            mailbox.closed = true
            mailbox.controlFolder = nil
            defer { mailbox.requests.removeAll() }
            return mailbox.requests
        }
        var stopped: [CheckedContinuation<Void, Never>] = []
        for request in requests {
            switch request {
            case .watch(_, _, let reply): reply.resume(returning: .failed(.stopped()))
            case .stop(let reply?): stopped.append(reply)
            case .stop(nil), .unwatch, .unwatchAll: break
            }
        }
        InotifyLibrary.release()
        for reply in stopped { reply.resume() }
    }
}
