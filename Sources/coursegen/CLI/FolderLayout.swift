import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where `watch` reads outlines, publishes chapters and keeps its state, checked before anything
/// is sent or written. An inbox that is the output folder, or lies inside it, would read the
/// chapters and status pages coursegen writes as outlines, pay for them and publish their
/// chapters in turn, without end; a state folder inside the output folder would be published
/// with the book. The output folder inside the inbox is fine: the watcher leaves it out.
struct FolderLayout: Sendable, Hashable {
    var inbox: String
    var output: String
    var state: String

    /// What is wrong with the layout, naming the folders by their paths; nil when it is sound.
    /// Pure: the paths are absolute and resolved (`resolved(_:)`), so a symlink cannot hide that
    /// two names are one folder.
    var problem: String? {
        if inbox == output {
            return "the inbox \(inbox) is also the output folder: coursegen would read the chapters and status pages it "
                + "writes as outlines and pay for them; give the output another folder (it may lie inside the inbox)"
        }
        if Self.isInside(inbox, output) {
            return "the inbox \(inbox) lies inside the output folder \(output): coursegen would read the chapters and "
                + "status pages it writes as outlines and pay for them; move the inbox out of the output folder"
        }
        if state == output || Self.isInside(state, output) {
            return "the state folder \(state) lies inside the output folder \(output): it would be published with the "
                + "courses; give --state a folder outside the output"
        }
        if state == inbox || Self.isInside(inbox, state) {
            return "the inbox \(inbox) is the state folder \(state) or lies inside it; give the inbox and --state "
                + "separate folders"
        }
        return nil
    }

    /// Whether `path` lies strictly inside `folder`.
    static func isInside(_ path: String, _ folder: String) -> Bool {
        path.hasPrefix(folder == "/" ? "/" : folder + "/") && path != folder
    }

    /// `path` (absolute) with the symlinks of its longest existing prefix resolved, and the rest
    /// (folders not made yet) appended as written.
    static func resolved(_ path: String) -> String {
        var existing = path
        var rest: [String] = []
        while existing != "/" {
            if let base = real(existing) {
                return rest.isEmpty ? base : (base == "/" ? "" : base) + "/" + rest.reversed().joined(separator: "/")
            }
            rest.append((existing as NSString).lastPathComponent)
            existing = (existing as NSString).deletingLastPathComponent
        }
        return "/" + rest.reversed().joined(separator: "/")
    }

    /// `path` with every symbolic link resolved, nil when it does not exist.
    static func real(_ path: String) -> String? {
        guard let real = realpath(path, nil) else { return nil }
        defer { free(real) }
        return String(cString: real)
    }
}
