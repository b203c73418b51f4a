import CInotify

/// The `IN_*` bits of an inotify event mask.
struct EventMask: OptionSet, Sendable, Hashable {
    let rawValue: UInt32

    static let modify = EventMask(IN_MODIFY)
    static let attributes = EventMask(IN_ATTRIB)
    static let closeWrite = EventMask(IN_CLOSE_WRITE)
    static let movedFrom = EventMask(IN_MOVED_FROM)
    static let movedTo = EventMask(IN_MOVED_TO)
    static let create = EventMask(IN_CREATE)
    static let delete = EventMask(IN_DELETE)
    static let deleteSelf = EventMask(IN_DELETE_SELF)
    static let moveSelf = EventMask(IN_MOVE_SELF)
    static let unmount = EventMask(IN_UNMOUNT)
    static let queueOverflow = EventMask(IN_Q_OVERFLOW)
    static let ignored = EventMask(IN_IGNORED)
    static let isDirectory = EventMask(IN_ISDIR)
    // Flags for adding a watch, never present in events.
    static let onlyDirectory = EventMask(IN_ONLYDIR)
    static let dontFollow = EventMask(IN_DONT_FOLLOW)
    static let excludeUnlinked = EventMask(IN_EXCL_UNLINK)

    /// What the watcher asks for on every inbox folder. `IN_MODIFY` is never acted on alone: it only marks a file
    /// as being written, so that a pending report waits for the writer's `IN_CLOSE_WRITE`.
    static let inboxFolder: EventMask = [
        .closeWrite, .movedTo, .movedFrom, .delete, .create, .modify, .deleteSelf, .moveSelf,
        .onlyDirectory, .dontFollow, .excludeUnlinked,
    ]

    init(rawValue: UInt32) { self.rawValue = rawValue }
    private init(_ bits: Int32) { self.rawValue = UInt32(bitPattern: bits) }
}

extension EventMask {
    /// The set bits' names, for logs: `CREATE|ISDIR`.
    var names: String {
        let known: [(EventMask, String)] = [
            (.modify, "MODIFY"), (.attributes, "ATTRIB"), (.closeWrite, "CLOSE_WRITE"), (.movedFrom, "MOVED_FROM"),
            (.movedTo, "MOVED_TO"), (.create, "CREATE"), (.delete, "DELETE"), (.deleteSelf, "DELETE_SELF"),
            (.moveSelf, "MOVE_SELF"), (.unmount, "UNMOUNT"), (.queueOverflow, "Q_OVERFLOW"), (.ignored, "IGNORED"),
            (.isDirectory, "ISDIR"),
        ]
        return known.filter { contains($0.0) }.map(\.1).joined(separator: "|")
    }
}
