import Mustache
import Platform
import Outlines

/// What a template sees for one chapter; also what of the course its key holds beyond the
/// chapter's own entry.
///
/// ```
/// course.title  course.audience  course.level  course.language  course.words  course.description
/// chapter.title  chapter.points  chapter.hasPoints  chapter.notes
/// hasTOC  toc[].number  toc[].title  toc[].isThis                 (context: toc)
/// previous.title  previous.points  previous.hasPoints             (context: neighbours)
/// next.title  next.points  next.hasPoints                         (context: neighbours)
/// ```
struct PromptValues: MustacheParent {
    struct Course: MustacheParent {
        var title: String
        var audience: String?
        var level: String?
        var language: String?
        var words: Int
        var description: String?

        func child(named name: String) -> Any? {
            switch name {
            case "title": title
            case "audience": audience
            case "level": level
            case "language": language
            case "words": words
            case "description": description
            default: nil
            }
        }
    }

    struct Chapter: MustacheParent {
        var title: String
        var points: [String]
        var notes: String?

        func child(named name: String) -> Any? {
            switch name {
            case "title": title
            case "points": points
            case "hasPoints": !points.isEmpty
            case "notes": notes
            default: nil
            }
        }
    }

    struct Entry: MustacheParent {
        var number: Int
        var title: String
        var isThis: Bool

        func child(named name: String) -> Any? {
            switch name {
            case "number": number
            case "title": title
            case "isThis": isThis
            default: nil
            }
        }
    }

    struct Neighbour: MustacheParent {
        var title: String
        var points: [String]

        func child(named name: String) -> Any? {
            switch name {
            case "title": title
            case "points": points
            case "hasPoints": !points.isEmpty
            default: nil
            }
        }
    }

    var course: Course
    var chapter: Chapter
    var toc: [Entry]
    var previous: Neighbour?
    var next: Neighbour?

    /// The values of chapter `index` of `outline` with `context`.
    init(outline: Outline, index: Int, context: CourseContext) {
        course = Course(
            title: outline.title,
            audience: outline.audience,
            level: outline.level,
            language: outline.language,
            words: outline.words ?? GenerationSettings.defaultWords,
            description: outline.description
        )
        let entry = outline.chapters[index]
        chapter = Chapter(title: entry.title, points: entry.points, notes: entry.notes)
        toc = []
        switch context {
        case .none:
            break
        case .toc:
            toc = outline.chapters.enumerated().map {
                Entry(number: $0.offset + 1, title: $0.element.title, isThis: $0.offset == index)
            }
        case .neighbours:
            let chapters = outline.chapters
            if index > 0 { previous = Neighbour(title: chapters[index - 1].title, points: chapters[index - 1].points) }
            if index + 1 < chapters.count {
                next = Neighbour(title: chapters[index + 1].title, points: chapters[index + 1].points)
            }
        }
    }

    func child(named name: String) -> Any? {
        switch name {
        case "course": course
        case "chapter": chapter
        case "toc": toc
        case "hasTOC": !toc.isEmpty
        case "previous": previous
        case "next": next
        default: nil
        }
    }

    /// What of the rest of the course these values hold, for the chapter's key. Nothing without
    /// a context, so keys made before contexts existed stay valid.
    func appendContext(to encoder: inout CanonicalEncoder) {
        if !toc.isEmpty {
            encoder.append("context", CourseContext.toc.rawValue)
            encoder.append("context.chapters", toc.count)
            for entry in toc {
                encoder.append("context.title", entry.title)
                if entry.isThis { encoder.append("context.this", entry.number) }
            }
        }
        if previous != nil || next != nil {
            encoder.append("context", CourseContext.neighbours.rawValue)
            for (name, neighbour) in [("previous", previous), ("next", next)] {
                guard let neighbour else {
                    encoder.append("context.\(name)", nil as String?)
                    continue
                }
                encoder.append("context.\(name).title", neighbour.title)
                encoder.append("context.\(name).points", neighbour.points.count)
                for point in neighbour.points { encoder.append("context.\(name).point", point) }
            }
        }
    }

    /// The names a template may use, for `PromptTemplateCheck`: each kind of value and its
    /// fields, with the kind of value a field holds.
    static let schema: [String: [String: String]] = [
        "root": [
            "course": "course", "chapter": "chapter", "toc": "entry", "hasTOC": "flag",
            "previous": "neighbour", "next": "neighbour",
        ],
        "course": [
            "title": "text", "audience": "text", "level": "text", "language": "text", "words": "text",
            "description": "text",
        ],
        "chapter": ["title": "text", "points": "text", "hasPoints": "flag", "notes": "text"],
        "entry": ["number": "text", "title": "text", "isThis": "flag"],
        "neighbour": ["title": "text", "points": "text", "hasPoints": "flag"],
    ]
}
