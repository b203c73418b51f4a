import Platform

/// Where `watch` reads outlines, publishes chapters and keeps its state, checked before anything
/// is sent or written. An inbox that is the output folder, or lies inside it, would read the
/// chapters and status pages coursegen writes as outlines, pay for them and publish their
/// chapters in turn, without end; a state folder inside the output folder would be published
/// with the book. The output folder inside the inbox is fine: the watcher leaves it out.
struct FolderLayout: Sendable, Hashable {
    var inbox: AbsolutePath
    var output: AbsolutePath
    var state: AbsolutePath

    /// What is wrong with the layout, naming the folders by their paths; nil when it is sound.
    /// Pure: the paths are absolute and resolved (`AbsolutePath.resolved`), so a symlink cannot hide that
    /// two names are one folder.
    var problem: String? {
        if inbox == output {
            return "the inbox \(inbox) is also the output folder: coursegen would read the chapters and status pages it "
                + "writes as outlines and pay for them; give the output another folder (it may lie inside the inbox)"
        }
        if output.contains(inbox) {
            return "the inbox \(inbox) lies inside the output folder \(output): coursegen would read the chapters and "
                + "status pages it writes as outlines and pay for them; move the inbox out of the output folder"
        }
        if state == output || output.contains(state) {
            return "the state folder \(state) lies inside the output folder \(output): it would be published with the "
                + "courses; give --state a folder outside the output"
        }
        if state == inbox || state.contains(inbox) {
            return "the inbox \(inbox) is the state folder \(state) or lies inside it; give the inbox and --state "
                + "separate folders"
        }
        return nil
    }
}
