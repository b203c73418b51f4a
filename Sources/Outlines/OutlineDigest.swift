import Crypto
import Platform

extension Outline {
    /// A SHA-256 over every parsed field in order (course fields and every chapter): equal for two
    /// files that differ only in whitespace or formatting that changes no field.
    public var digest: String {
        var encoder = CanonicalEncoder(domain: "coursegen.outline.v1")
        encoder.appendCourse(self)
        // Only when given, so that outlines without one keep the digest they had before budgets.
        if let budget { encoder.append("budget", budget) }
        if let prompt { encoder.append("prompt", prompt.path) }
        if let systemPrompt { encoder.append("system-prompt", systemPrompt.path) }
        if let context { encoder.append("context", context.rawValue) }
        if let serviceTier { encoder.append("service-tier", serviceTier) }
        encoder.append("chapters", chapters.count)
        for chapter in chapters { encoder.appendChapter(chapter) }
        return encoder.hexDigest()
    }
}

/// Length-prefixed `name=value` records, so no two different inputs encode to the same bytes,
/// and nil is distinct from "".
package struct CanonicalEncoder {
    private var hasher = SHA256()

    package init(domain: String) {
        append("domain", domain)
    }

    package mutating func append(_ name: String, _ value: String?) {
        var record = Array(name.utf8)
        if let value {
            let bytes = Array(value.utf8)
            record += Array("=\(bytes.count):".utf8) + bytes
        } else {
            record += Array("-".utf8)
        }
        record.append(0x0A)
        hasher.update(data: record)
    }

    package mutating func append(_ name: String, _ value: Int?) {
        append(name, value.map { String($0) })
    }

    package mutating func append(_ name: String, _ value: Double) {
        // Shortest round-tripping form: stable across runs and platforms.
        append(name, "\(value)")
    }

    package mutating func appendCourse(_ outline: Outline) {
        append("title", outline.title)
        append("audience", outline.audience)
        append("level", outline.level)
        append("language", outline.language)
        append("words", outline.words)
        append("description", outline.description)
    }

    package mutating func appendChapter(_ chapter: Outline.Chapter) {
        append("chapter.title", chapter.title)
        append("chapter.points", chapter.points.count)
        for point in chapter.points { append("chapter.point", point) }
        append("chapter.notes", chapter.notes)
    }

    package func hexDigest() -> String {
        hasher.finalize().hexString
    }
}
