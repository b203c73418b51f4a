import Logging
public import Outlines
import Platform
import Providers

/// What the state folder records of each course, for the engine, the daemon and the commands:
/// whether a folder is exactly up to date, the daemon's next retry, the course's status, the
/// daily-quota stop. File work runs on `io`; what a manifest means, `Plan` decides. A record that
/// cannot be read counts as none.
public struct CourseRecords: Sendable {
    let state: StateDirectory
    let io: BlockingIO
    let logger: Logger

    /// True when `outline`, under `settings`, is exactly what was last brought up to date in
    /// `folder`, every file in place (`Plan.isUpToDate`).
    public func isUpToDate(_ outline: Outline, settings: GenerationSettings, in folder: String) async -> Bool {
        let files = state.files
        return await manifest(of: folder) { manifest in
            Plan.isUpToDate(manifest, outline: outline, settings: settings) {
                files.kind(of: "\(folder)/\($0)") == .file
            }
        } ?? false
    }

    /// The daemon's next try of `outline`'s failed chapters, as kept in `folder`'s manifest: nil
    /// unless the manifest records this very outline under `settings` (a save or a new setting
    /// starts afresh).
    public func retry(for outline: Outline, settings: GenerationSettings, in folder: String) async -> RetryTime? {
        await manifest(of: folder) { $0?.describes(outline, settings: settings) == true ? $0?.retry : nil } ?? nil
    }

    /// Keeps the daemon's next try of `folder`'s failed chapters in its manifest (nil: none), so
    /// a restart continues the schedule.
    public func recordRetry(_ retry: RetryTime?, in folder: String) async {
        let state = self.state
        do {
            try await io.run {
                guard var manifest = try state.manifests.manifest(forFolder: folder), manifest.retry != retry else {
                    return
                }
                manifest.retry = retry
                try state.manifests.save(manifest)
            }
        } catch {
            logger.warning("cannot keep the retry time in the state folder", metadata: ["error": "\(error)"])
        }
    }

    /// The status of the course published in `folder` as its manifest tells it; nil when
    /// nothing was ever published there.
    /// - Parameter watched: the daemon follows the course (its advice says coursegen tries
    ///   again on its own, not that the author runs `generate` again).
    public func courseStatus(in folder: String, watched: Bool = false) async -> CourseStatus? {
        await manifest(of: folder) { $0.map { CourseStatus(manifest: $0, watched: watched) } } ?? nil
    }

    /// Keeps the scheduler's stop if it is a daily-quota stop, so a restart does not spend a
    /// request to learn it again (`StateDirectory.savedStop`); removes the kept one otherwise.
    func keepStop(_ stop: SubmissionStop?) async {
        let (files, path) = (state.files, state.stopPath)
        do {
            try await io.run {
                if let stop, stop.reason == .dailyQuota {
                    try files.saveJSON(stop, at: path)
                } else {
                    try files.remove(path)
                }
            }
        } catch {
            logger.warning("cannot keep the daily-quota stop in the state folder", metadata: ["error": "\(error)"])
        }
    }

    /// Removes a kept daily-quota stop (a reload lifted it).
    public func forgetStop() async {
        let (files, path) = (state.files, state.stopPath)
        try? await io.run { try files.remove(path) }
    }

    /// `read` applied on `io` to `folder`'s manifest (nil when there is none); nil when the
    /// manifest cannot be read.
    private func manifest<T: Sendable>(of folder: String, _ read: @escaping @Sendable (Manifest?) -> T) async -> T? {
        let state = self.state
        return try? await io.run { read(try state.manifests.manifest(forFolder: folder)) }
    }
}
