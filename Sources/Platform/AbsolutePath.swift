import Foundation
public import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// A path from the root, lexically normalised (no `.`, no `..`, no duplicate or trailing slash):
/// the one way coursegen names folders it compares. Symbolic links are kept as written until
/// asked for (`real`, `resolved`): the user's names are the ones shown, the real ones are the
/// ones compared.
public struct AbsolutePath: Sendable, Hashable, CustomStringConvertible {
    public let path: FilePath

    /// `text` made absolute against the working directory, normalised.
    public init(_ text: String) {
        self.init(text, from: FilePath(text).isAbsolute ? "/" : FileManager.default.currentDirectoryPath)
    }

    /// `text` made absolute against `directory`, normalised.
    public init(_ text: String, from directory: String) {
        var path = FilePath(text)
        if !path.isAbsolute { path = FilePath(directory).pushing(path) }
        // `..` at the root stays at the root, as the kernel resolves it.
        self.path = path.lexicallyNormalized()
    }

    private init(normalised path: FilePath) {
        self.path = path
    }

    public var string: String { path.string }
    public var description: String { path.string }

    /// The same object with every symbolic link resolved (`realpath(3)`), nil when it does not
    /// exist.
    public var real: AbsolutePath? {
        guard let real = realpath(string, nil) else { return nil }
        defer { free(real) }
        return AbsolutePath(normalised: FilePath(String(cString: real)))
    }

    /// The symbolic links of the longest existing prefix resolved and the rest (folders not made
    /// yet) appended as written: where the path will be once it exists.
    public var resolved: AbsolutePath {
        var existing = path
        var rest: [FilePath.Component] = []
        while let last = existing.lastComponent {
            if let real = AbsolutePath(normalised: existing).real {
                return AbsolutePath(normalised: real.path.appending(rest.reversed()))
            }
            rest.append(last)
            existing.removeLastComponent()
        }
        return AbsolutePath(normalised: existing.appending(rest.reversed()))
    }

    /// `other` relative to this path ("" for this path itself), nil when it is not inside.
    public func relative(_ other: AbsolutePath) -> String? {
        var other = other.path
        return other.removePrefix(path) ? other.string : nil
    }

    /// Whether `other` lies strictly inside this path.
    public func contains(_ other: AbsolutePath) -> Bool {
        other != self && other.path.starts(with: path)
    }
}

extension String {
    /// Whether this path is `folder` or lies inside it, both written the same way (absolute, or
    /// relative to one root with "" for the root itself) and normalised: compared by whole
    /// components, so `/srv/inbox2` is not inside `/srv/inbox`.
    public func isPath(within folder: String) -> Bool {
        folder.isEmpty || self == folder || hasPrefix(folder == "/" ? "/" : folder + "/")
    }

    /// This path relative to `folder` ("" for the folder itself), nil when it is not inside;
    /// both written as for `isPath(within:)`.
    public func path(relativeTo folder: String) -> String? {
        if folder.isEmpty { return self }
        if self == folder { return "" }
        let prefix = folder == "/" ? "/" : folder + "/"
        return hasPrefix(prefix) ? String(dropFirst(prefix.count)) : nil
    }
}
