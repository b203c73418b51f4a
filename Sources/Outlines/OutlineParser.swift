import SystemPackage
import Platform

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The notations an outline can be written in.
public enum OutlineFormat: String, Sendable, CaseIterable {
    case markdown, yaml, json

    /// The format for a file name by extension (.md .markdown -> markdown, .yaml .yml -> yaml,
    /// .json -> json, case-insensitive), nil for anything else.
    ///
    /// Only the last path component counts, and a name that is all extension (".md") has none.
    public init?(fileName: String) {
        let name = fileName.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        switch name[name.index(after: dot)...].lowercased() {
        case "md", "markdown": self = .markdown
        case "yaml", "yml": self = .yaml
        case "json": self = .json
        default: return nil
        }
    }
}

/// Reads outline files into `Outline` values.
///
/// Every format goes through the same checks first: size limit, NUL bytes, UTF-8, control
/// characters; then a UTF-8 BOM is dropped, CRLF and CR become LF and text is put in Unicode
/// NFC, so that none of these change the parsed value. The formats themselves, and the
/// normalisation of every field, are described on `MarkdownOutlineParser` and
/// `StructuredOutlineParser`.
public enum OutlineParser {
    /// Largest outline accepted, in bytes (1 MiB): a larger file is refused with a clear message.
    public static let maximumFileSize: Int = 1 << 20

    /// Reads and parses the file at `path`. `displayName` is what messages call the file
    /// (defaults to `path`). Throws OutlineError for every problem, never anything else.
    ///
    /// The format comes from the extension (see `OutlineFormat.init(fileName:)`). The file must
    /// be a regular file; FIFOs and devices are refused rather than read (reading could block).
    /// - Throws: `OutlineError` for an unknown extension, a file that cannot be opened or read,
    ///   one over `maximumFileSize`, and every problem `parse(_:format:fileName:)` reports.
    public static func parse(fileAt path: String, displayName: String? = nil) throws(OutlineError) -> Outline {
        let name = displayName ?? path
        guard let format = OutlineFormat(fileName: path) else {
            throw OutlineError(
                .cannotRead,
                file: name,
                message: "not an outline file name: name it with .md (or .markdown), .yaml (or .yml) or .json"
            )
        }
        let bytes = try OutlineFile.bytes(at: path, displayName: name)
        return try parse(bytes, format: format, fileName: name)
    }

    /// Parses bytes already read. `fileName` is used for messages.
    ///
    /// - Throws: `OutlineError`, with the line where one applies, for bytes over
    ///   `maximumFileSize`, NUL bytes, invalid UTF-8, control characters, syntax errors, unknown
    ///   keys, wrong types, a missing or doubled title, no chapters, an empty or duplicate
    ///   chapter title, and titles that are too long or hold control characters.
    public static func parse(
        _ bytes: [UInt8],
        format: OutlineFormat,
        fileName: String
    ) throws(OutlineError) -> Outline {
        if bytes.count > maximumFileSize {
            throw OutlineError.tooLarge(file: fileName, size: bytes.count)
        }
        let source = try OutlineSource(bytes: bytes, fileName: fileName)
        switch format {
        case .markdown:
            return try MarkdownOutlineParser(source: source).parse()
        case .yaml:
            let root = try YAMLReader.read(
                source.text,
                firstLine: 1,
                fileName: fileName,
                what: "the YAML"
            )
            return try StructuredOutlineParser(fileName: fileName, format: .yaml).outline(from: root)
        case .json:
            let root = try JSONReader.read(source.text, fileName: fileName)
            return try StructuredOutlineParser(fileName: fileName, format: .json).outline(from: root)
        }
    }
}

extension OutlineError {
    static func tooLarge(file: String, size: Int) -> OutlineError {
        OutlineError(
            .cannotRead,
            file: file,
            message: "the outline is \(size) bytes, over the limit of \(OutlineParser.maximumFileSize) bytes (1 MiB): "
                + "split the course into several outlines"
        )
    }
}

/// Reading an outline file's bytes (`SmallFile`), with a message for every way it can fail.
enum OutlineFile {
    /// The whole content of the regular file at `path`, at most `OutlineParser.maximumFileSize` bytes.
    /// - Throws: `OutlineError` naming `displayName` when the file cannot be opened, is not a
    ///   regular file, cannot be read or is over the size limit.
    static func bytes(at path: String, displayName: String) throws(OutlineError) -> [UInt8] {
        do {
            return try SmallFile.read(path, limit: OutlineParser.maximumFileSize)
        } catch {
            switch error {
            case .cannotOpen(let code): throw failure(code, doing: "open", file: displayName)
            case .cannotRead(let code): throw failure(code, doing: "read", file: displayName)
            case .notRegular(isDirectory: true):
                throw OutlineError(
                    .cannotRead,
                    file: displayName,
                    message: "this is a directory, not an outline file: name a .md, .yaml or .json file"
                )
            case .notRegular(isDirectory: false):
                throw OutlineError(
                    .cannotRead,
                    file: displayName,
                    message:
                        "this is not a regular file (a FIFO, socket or device): save the outline as an ordinary file"
                )
            case .tooLarge(let size): throw OutlineError.tooLarge(file: displayName, size: size)
            }
        }
    }

    static func failure(_ code: Errno, doing action: String, file: String) -> OutlineError {
        let advice: String
        switch code {
        case .noSuchFileOrDirectory: advice = "check the path"
        case .permissionDenied, .notPermitted: advice = "make the file readable by the user coursegen runs as"
        case .isDirectory: advice = "name a .md, .yaml or .json file, not a directory"
        case .tooManySymbolicLinkLevels: advice = "the path has a symbolic link loop; fix the link"
        default: advice = "check the file and try again"
        }
        return OutlineError(.cannotRead, file: file, message: "cannot \(action) the outline: \(code.words); \(advice)")
    }
}
