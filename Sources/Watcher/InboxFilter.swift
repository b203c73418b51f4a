import Platform

/// Decides which inbox entries are outline candidates and which folders are watched and scanned. Pure: works on
/// inbox-relative paths only.
struct InboxFilter: Sendable {
    /// Lowercased extensions without the dot.
    let extensions: Set<String>
    /// Excluded folders, relative to the inbox root (as given and as resolved through symlinks).
    let excludedRelativePaths: Set<String>

    init(extensions: Set<String>, excludedRelativePaths: Set<String> = []) {
        self.extensions = Set(
            extensions.map { ext in String(ext.drop(while: { $0 == "." })).lowercased() }.filter { !$0.isEmpty }
        )
        self.excludedRelativePaths = excludedRelativePaths
    }

    /// Whether a file at `relativePath` may be an outline: its name has an outline extension, it is not hidden,
    /// not an editor or tool temporary, and neither it nor a folder above it is hidden or excluded.
    func isOutlineCandidate(_ relativePath: String) -> Bool {
        let components = relativePath.split(separator: "/", omittingEmptySubsequences: true)
        guard let name = components.last, !isExcluded(relativePath) else { return false }
        guard components.dropLast().allSatisfy({ !$0.hasPrefix(".") }) else { return false }
        guard !Self.isTemporary(name), let dot = name.lastIndex(of: "."), dot != name.startIndex else { return false }
        return extensions.contains(name[name.index(after: dot)...].lowercased())
    }

    /// Whether a folder at `relativePath` is watched and scanned: hidden folders (`.git`, staging folders)
    /// and excluded ones are not, nor anything below them.
    func watchesFolder(_ relativePath: String) -> Bool {
        if relativePath.isEmpty { return true }
        let components = relativePath.split(separator: "/", omittingEmptySubsequences: true)
        return components.allSatisfy { !$0.hasPrefix(".") } && !isExcluded(relativePath)
    }

    /// Whether `relativePath` is an excluded folder or lies inside one.
    func isExcluded(_ relativePath: String) -> Bool {
        excludedRelativePaths.contains { relativePath.isPath(within: $0) }
    }

    /// Editor and tool temporaries, whatever their extension: vim's `4913` probe, swap files and `name~` backups;
    /// emacs `#name#` auto-saves (its `.#name` locks are hidden); JetBrains safe-write files; download and
    /// transfer partials. Hidden names (`.swp`, `.~lock.*#`, rsync's `.name.XXXXXX`) count too.
    static func isTemporary(_ name: Substring) -> Bool {
        if name.hasPrefix(".") || name.hasSuffix("~") || name == "4913" { return true }
        if name.hasPrefix("#") && name.hasSuffix("#") { return true }
        if name.contains("___jb_tmp___") || name.contains("___jb_old___") { return true }
        let lowercased = name.lowercased()
        return [".swp", ".swx", ".tmp", ".part", ".crdownload"].contains { lowercased.hasSuffix($0) }
    }
}
