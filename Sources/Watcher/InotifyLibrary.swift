import CInotify
import Glibc
import NIOConcurrencyHelpers
import SystemPackage

/// The process-wide libinotifytools instance: initialised once, owned by one watcher at a time.
///
/// libinotifytools keeps one global inotify descriptor, tables and static buffers without locks, so only the
/// thread of the one `InboxWatcher` holding the claim may call it. The descriptor stays open for the life of
/// the process: libinotifytools waits with `select()`, which aborts the process for a descriptor of 1024 or
/// more, so it is opened once, early (`InboxWatcher.prepare()`), and reused by every later watcher.
enum InotifyLibrary {
    private enum Initialisation {
        case notYet
        case done
        case failed(WatcherError)
    }

    private enum Claim {
        case free
        /// A watcher's thread owns the library; `stopping` once it was asked to stop.
        case held(stopping: Bool, waiting: [CheckedContinuation<Bool?, Never>])
    }

    private static let initialisation = NIOLockedValueBox(Initialisation.notYet)
    private static let claim = NIOLockedValueBox(Claim.free)

    /// Initialises libinotifytools unless it already is. Idempotent.
    /// - Throws: `WatcherError` if inotify cannot be initialised (instance limit reached), or if its
    ///   descriptor would be 1024 or more. The failure is remembered and thrown again on later calls.
    static func initialise() throws(WatcherError) {
        let result: Result<Void, WatcherError> = initialisation.withLockedValue { state in
            switch state {
            case .done: return .success(())
            case .failed(let error): return .failure(error)
            case .notYet:
                // inotify_init() takes the lowest free descriptor: the one this probe gets right now.
                let probe = open("/dev/null", O_RDONLY | O_CLOEXEC)
                if probe >= FD_SETSIZE {
                    close(probe)
                    state = .failed(.descriptorTooHigh(probe))
                } else {
                    if probe >= 0 { close(probe) }
                    if inotifytools_initialize() != 0 {
                        state = .done
                    } else {
                        let code = inotifytools_error()
                        state = .failed(
                            code == EMFILE
                                ? .instanceLimitReached(limit: Int(inotifytools_get_max_user_instances()))
                                : .inotifyFailed("initialise", errno: Errno(rawValue: code))
                        )
                    }
                }
                if case .failed(let error) = state { return .failure(error) }
                return .success(())
            }
        }
        try result.get()
    }

    /// Takes the library for one watcher, first waiting for a watcher that is stopping to finish.
    /// - Throws: `WatcherError.alreadyWatching` if another watcher is running.
    static func acquire(for inbox: String) async throws(WatcherError) {
        while true {
            // true: acquired; false: busy; nil: a stopping watcher released it, try again.
            let acquired: Bool? = await withCheckedContinuation { continuation in
                claim.withLockedValue { state in
                    switch state {
                    case .free:
                        state = .held(stopping: false, waiting: [])
                        continuation.resume(returning: true)
                    case .held(stopping: false, _):
                        continuation.resume(returning: false)
                    case .held(stopping: true, var waiting):
                        waiting.append(continuation)
                        state = .held(stopping: true, waiting: waiting)
                    }
                }
            }
            switch acquired {
            case true?: return
            case false?: throw .alreadyWatching(inbox: inbox)
            case nil: continue
            }
        }
    }

    /// Marks the owner as stopping: a new watcher then waits for `release()` instead of failing.
    static func markStopping() {
        claim.withLockedValue { state in
            if case .held(_, let waiting) = state { state = .held(stopping: true, waiting: waiting) }
        }
    }

    /// Gives the library back (called by the owning thread once it no longer uses it).
    static func release() {
        let waiting: [CheckedContinuation<Bool?, Never>] = claim.withLockedValue { state in
            defer { state = .free }
            if case .held(_, let waiting) = state { return waiting }
            return []
        }
        for continuation in waiting { continuation.resume(returning: nil) }
    }
}

extension InotifyLibrary {
    /// How many watches libinotifytools has in its tables. Only call it while no watcher runs.
    static var watchCountWhileIdle: Int {
        guard case .done = initialisation.withLockedValue({ $0 }) else { return 0 }
        return Int(inotifytools_get_num_watches())
    }
}
