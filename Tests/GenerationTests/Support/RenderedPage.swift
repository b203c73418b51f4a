/// A page as Chromium's `--dump-dom` serializes its DOM once its scripts have run, read back:
/// every element with its attributes and whether it is inside the chapter's `<main>`, the text
/// of `<main>`, and the document's title.
///
/// Only the serializer's output is read, which is regular: tags and attribute names as parsed,
/// every attribute value in double quotes with `&` and `"` escaped, text with `&`, `<` and `>`
/// escaped, except inside `script`, `style`, `xmp`, `iframe`, `noembed`, `noframes`, `plaintext`
/// and (scripts running) `noscript`, whose text is written as it is.
struct RenderedPage {
    struct Element {
        /// Lowercase.
        var name: String
        /// Names lowercase, values decoded.
        var attributes: [(name: String, value: String)]
        var inMain: Bool
        /// The start tag as serialized, for messages.
        var tag: String
    }

    var elements: [Element] = []
    /// The text of the first `<title>`, decoded.
    var title: String?
    /// The text inside `<main>`, decoded.
    var mainText = ""
    /// The serialization as read.
    let serialized: String

    private static let voidElements: Set<String> = [
        "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input", "keygen", "link",
        "meta", "param", "source", "track", "wbr",
    ]
    private static let rawTextElements: Set<String> = [
        "script", "style", "xmp", "iframe", "noembed", "noframes", "plaintext", "noscript",
    ]

    init(serialized: String) {
        self.serialized = serialized
        let text = Array(serialized.unicodeScalars)
        var open: [String] = []
        // The depth of `<main>` in `open` while it is open.
        var main: Int?
        var sawMain = false
        var titleText: String?
        var index = 0
        func string(_ range: Range<Int>) -> String {
            var result = ""
            result.unicodeScalars.append(contentsOf: text[range])
            return result
        }
        func find(_ needle: String, from start: Int) -> Int {
            let pattern = Array(needle.unicodeScalars)
            var position = start
            while position + pattern.count <= text.count {
                if text[position] == pattern[0], Array(text[position..<(position + pattern.count)]) == pattern {
                    return position
                }
                position += 1
            }
            return text.count
        }
        while index < text.count {
            if text[index] != "<" {
                let end = find("<", from: index)
                let content = Self.decode(string(index..<end))
                if main != nil { mainText += content }
                if open.last == "title", title == nil { titleText = (titleText ?? "") + content }
                index = end
                continue
            }
            if string(index..<min(index + 4, text.count)) == "<!--" {
                index = min(find("-->", from: index + 4) + 3, text.count)
            } else if index + 1 < text.count, text[index + 1] == "!" || text[index + 1] == "?" {
                index = min(find(">", from: index) + 1, text.count)
            } else if index + 1 < text.count, text[index + 1] == "/" {
                let end = find(">", from: index)
                let name = string((index + 2)..<end).lowercased()
                if let position = open.lastIndex(of: name) {
                    open.removeSubrange(position...)
                    if let depth = main, position <= depth { main = nil }
                    if name == "title", title == nil { title = titleText ?? "" }
                }
                index = min(end + 1, text.count)
            } else {
                var position = index + 1
                while position < text.count, !" \t\n/>".unicodeScalars.contains(text[position]) { position += 1 }
                let name = string((index + 1)..<position).lowercased()
                var attributes: [(String, String)] = []
                var selfClosing = false
                while position < text.count, text[position] != ">" {
                    if " \t\n".unicodeScalars.contains(text[position]) {
                        position += 1
                    } else if text[position] == "/" {
                        selfClosing = position + 1 < text.count && text[position + 1] == ">"
                        position += 1
                    } else {
                        let nameStart = position
                        while position < text.count, !" \t\n=>".unicodeScalars.contains(text[position]) {
                            position += 1
                        }
                        let attribute = string(nameStart..<position).lowercased()
                        var value = ""
                        if position + 1 < text.count, text[position] == "=", text[position + 1] == "\"" {
                            let close = find("\"", from: position + 2)
                            value = Self.decode(string((position + 2)..<close))
                            position = close + 1
                        }
                        attributes.append((attribute, value))
                    }
                }
                let tag = string(index..<min(position + 1, text.count))
                index = min(position + 1, text.count)
                if name == "main", !sawMain {
                    sawMain = true
                    main = open.count
                }
                elements.append(Element(name: name, attributes: attributes, inMain: main != nil, tag: tag))
                if Self.rawTextElements.contains(name), !selfClosing {
                    let end = find("</\(name)", from: index)
                    if main != nil { mainText += string(index..<end) }
                    index = end
                    open.append(name)
                } else if !Self.voidElements.contains(name), !selfClosing {
                    open.append(name)
                }
            }
        }
    }

    /// Text or an attribute value with the serializer's references decoded.
    static func decode(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var result = ""
        var rest = Substring(text)
        while let ampersand = rest.firstIndex(of: "&") {
            result += rest[..<ampersand]
            rest = rest[ampersand...]
            guard let semicolon = rest.firstIndex(of: ";"), rest.distance(from: rest.startIndex, to: semicolon) <= 10
            else {
                result += "&"
                rest = rest.dropFirst()
                continue
            }
            let name = rest[rest.index(after: rest.startIndex)..<semicolon]
            let named = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "nbsp": "\u{A0}", "#39": "'"]
            if let value = named[String(name)] {
                result += value
            } else if name.hasPrefix("#"), let code = UInt32(name.dropFirst()), let scalar = Unicode.Scalar(code) {
                result.unicodeScalars.append(scalar)
            } else {
                result += rest[...semicolon]
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return result + rest
    }

    /// What in the page could run script, restyle it or load something, each as a short line:
    /// elements of those kinds, `on...=` attributes, and `javascript:`, `vbscript:` and non-image
    /// `data:` URLs in any attribute. `inMain` limits it to the chapter's content.
    func dangers(inMain: Bool) -> [String] {
        let elementsFound: Set<String> = [
            "script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "meta", "link", "style",
        ]
        var found: [String] = []
        for element in elements where !inMain || element.inMain {
            if elementsFound.contains(element.name) { found.append("element: \(element.tag)") }
            for (name, value) in element.attributes {
                if name.hasPrefix("on") { found.append("on...= attribute: \(element.tag)") }
                if let scheme = Self.dangerousScheme(value) { found.append("\(scheme) URL: \(element.tag)") }
            }
        }
        return found
    }

    /// `javascript:`, `vbscript:` or `data:` (other than a raster image) when `value` is such a
    /// URL as a browser reads it (leading space and controls skipped, tabs and line breaks
    /// dropped, case ignored).
    static func dangerousScheme(_ value: String) -> String? {
        let url = String(
            String.UnicodeScalarView(
                value.unicodeScalars.drop { $0.value <= 0x20 }.filter { $0 != "\t" && $0 != "\n" && $0 != "\r" }
            )
        ).lowercased()
        for scheme in ["javascript:", "vbscript:"] where url.hasPrefix(scheme) { return scheme }
        let images = ["data:image/png", "data:image/jpeg", "data:image/gif", "data:image/webp", "data:image/avif"]
        if url.hasPrefix("data:"), !images.contains(where: url.hasPrefix) { return "data:" }
        return nil
    }
}
