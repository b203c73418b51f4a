import Foundation

/// An outline file's text after the checks and clean-ups that every format shares.
///
/// Building one refuses NUL bytes, invalid UTF-8, control characters other than tab and line
/// ends, and the Unicode line and paragraph separators (U+2028, U+2029), each with the line it
/// is on; it drops a UTF-8 BOM, turns CRLF and CR into LF and puts the text in Unicode NFC (so
/// an editor that writes decomposed accents changes nothing).
struct OutlineSource {
    /// What messages call the file.
    let fileName: String
    /// The text: no BOM, LF line ends only, NFC.
    let text: String

    /// `text` split at LF; element `i` is line `i + 1`.
    var lines: [Substring] {
        text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// - Throws: `OutlineError` on the line of the first NUL byte, invalid UTF-8 sequence,
    ///   control character or Unicode line or paragraph separator.
    init(bytes: [UInt8], fileName: String) throws(OutlineError) {
        self.fileName = fileName
        let hasBOM = bytes.starts(with: [0xEF, 0xBB, 0xBF])
        let body = bytes.dropFirst(hasBOM ? 3 : 0)

        var clean: [UInt8] = []
        clean.reserveCapacity(body.count)
        var iterator = body.makeIterator()
        var decoder = Unicode.UTF8()
        var line = 1
        var column = 1
        var offset = body.startIndex
        var afterCR = false
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                offset += UTF8.width(scalar)
                let wasAfterCR = afterCR
                afterCR = false
                switch scalar.value {
                case 0x0A:
                    if !wasAfterCR {
                        line += 1
                        column = 1
                        clean.append(0x0A)
                    }
                    continue decoding
                case 0x0D:
                    line += 1
                    column = 1
                    afterCR = true
                    clean.append(0x0A)
                    continue decoding
                case 0x00:
                    throw OutlineError(
                        file: fileName,
                        line: line,
                        message: "the file contains a NUL byte, so it is not a text file: "
                            + "save the outline as plain UTF-8 text"
                    )
                case 0x09:
                    break
                case 0x2028, 0x2029:
                    // YAML (libyaml) reads these as line breaks and Markdown and JSON do not, so
                    // the same file would have different lines, and error lines, per reader.
                    throw OutlineError(
                        file: fileName,
                        line: line,
                        message:
                            "column \(column) holds the invisible \(scalar.value == 0x2028 ? "line" : "paragraph") "
                            + "separator \(OutlineText.codePoint(scalar)): replace it with a line break or delete it"
                    )
                default:
                    if scalar.properties.generalCategory == .control {
                        throw OutlineError(
                            file: fileName,
                            line: line,
                            message: "column \(column) holds the invisible control character "
                                + "\(OutlineText.codePoint(scalar)): delete it"
                        )
                    }
                }
                UTF8.encode(scalar) { clean.append($0) }
                column += 1
            case .emptyInput:
                break decoding
            case .error:
                let byte = String(bytes[offset], radix: 16, uppercase: true)
                throw OutlineError(
                    file: fileName,
                    line: line,
                    message: "the file is not valid UTF-8 (byte 0x\(byte) at column \(column)): "
                        + "save it as UTF-8 (it may be in Latin-1 or Windows-1252)"
                )
            }
        }
        text = String(decoding: clean, as: UTF8.self).precomposedStringWithCanonicalMapping
    }
}
