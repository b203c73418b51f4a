/// One inotify event, copied out of libinotifytools' buffer.
struct RawEvent: Sendable, Hashable {
    /// Absolute path of the watched folder the event is about (no trailing slash); nil for a queue overflow.
    var folder: String?
    /// Name of the entry in `folder`; empty when the event is about the folder itself.
    var name: String
    var mask: EventMask
    /// Pairs an `IN_MOVED_FROM` with its `IN_MOVED_TO`.
    var cookie: UInt32

    init(folder: String?, name: String = "", mask: EventMask, cookie: UInt32 = 0) {
        self.folder = folder
        self.name = name
        self.mask = mask
        self.cookie = cookie
    }

    /// The kernel's event queue overflowed (libinotifytools delivers it with watch descriptor -1): events were lost.
    static let overflow = RawEvent(folder: nil, mask: .queueOverflow)
}
