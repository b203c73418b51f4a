import TestSupport
import Testing

@testable import Generation
@testable import Outlines

@Suite("Outline parser: Markdown")
struct OutlineMarkdownTests {
    // MARK: Title and description

    @Test("the title comes from the `#` heading when there is no front matter")
    func titleFromHeading() throws {
        let outline = try parse("# Rust ##\n\n## One\n- a\n")
        #expect(outline.title == "Rust")
        #expect(outline.description == nil)
        #expect(outline.chapters == [.init(title: "One", points: ["a"])])
    }

    @Test("the title comes from front matter when there is no `#` heading, and text above `##` is the description")
    func titleFromFrontMatter() throws {
        let outline = try parse("---\ntitle: Rust\n---\nAbout the course.\n\n## One\n")
        #expect(outline.title == "Rust")
        #expect(outline.description == "About the course.")
        #expect(outline.chapters.map(\.title) == ["One"])
    }

    @Test("front matter and heading may both give the title when they agree")
    func sameTitleTwice() throws {
        let outline = try parse("---\ntitle: '  Rust '\n---\n# Rust\n## One\n")
        #expect(outline.title == "Rust")
    }

    @Test("two different titles are an error on the heading's line naming the front matter line")
    func differentTitles() throws {
        let error = try #require(parseError("---\nlevel: easy\ntitle: Rust\n---\n# Go\n## One\n"))
        #expect(error.line == 5)
        #expect(error.message.contains("line 3"))
        #expect(error.message.contains("\"Rust\""))
        #expect(error.message.contains("\"Go\""))
        #expect(error.message.contains("keep only one"))
    }

    @Test("two `#` headings are an error on the second naming the first")
    func twoTitleHeadings() throws {
        let error = try #require(parseError("# One\n\n# Two\n## Chapter\n"))
        #expect(error.line == 3)
        #expect(error.message.contains("line 1"))
        #expect(error.message.contains("second `#` title heading"))
    }

    @Test("a `#` heading after the first chapter is an error naming the chapter line")
    func titleAfterChapters() throws {
        let error = try #require(parseError("# Course\n## One\n- a\n# Part two\n## Two\n"))
        #expect(error.line == 4)
        #expect(error.message.contains("line 2"))
    }

    @Test("an empty `#` heading is an error on its line")
    func emptyTitleHeading() throws {
        let error = try #require(parseError("\n#   #\n## One\n"))
        #expect(error.line == 2)
        #expect(error.message.contains("title heading is empty"))
    }

    @Test("no title at all is an error on line 1, with a hint about `===` underlines")
    func noTitle() throws {
        let error = try #require(parseError("Practical Rust\n==============\n\n## One\n"))
        #expect(error.line == 1)
        #expect(error.message.contains("no title"))
        #expect(error.message.contains("==="))
    }

    @Test("text above the `#` heading is an error on its line, not dropped")
    func textAboveTitle() throws {
        let error = try #require(parseError("\n\nDraft, do not share\n# Rust\n## One\n"))
        #expect(error.line == 3)
        #expect(error.message.contains("above the `# Rust` heading"))
        #expect(error.message.contains("<!--"))
    }

    @Test("the description keeps its Markdown, including `###` headings and lists")
    func descriptionMarkdown() throws {
        let outline = try parse("# Rust\nIntro.\n\n### Prerequisites\n- Python\n\n## One\n")
        #expect(outline.description == "Intro.\n\n### Prerequisites\n- Python")
    }

    @Test("a description in front matter and under the title is an error naming both places")
    func descriptionTwice() throws {
        let error = try #require(parseError("---\ndescription: short\n---\n# Rust\n\nLong text.\n## One\n"))
        #expect(error.line == 6)
        #expect(error.message.contains("line 2"))
        #expect(error.message.contains("remove one"))
    }

    @Test("a front matter description is used when the body has none")
    func descriptionFromFrontMatter() throws {
        let outline = try parse("---\ndescription: |\n  Line one.\n\n\n  Line two.\n---\n# Rust\n## One\n")
        #expect(outline.description == "Line one.\n\nLine two.")
    }

    // MARK: Chapters and points

    @Test("`##` headings are chapters, with closing `#`s and whitespace stripped as in CommonMark")
    func chapterHeadings() throws {
        let outline = try parse("# T\n##   Setup   ##  \n## C#\n## Ends with \\#\n  ## Indented\n## Part #2\n")
        #expect(outline.chapters.map(\.title) == ["Setup", "C#", "Ends with \\#", "Indented", "Part #2"])
        #expect(outline.chapters.map(\.line) == [2, 3, 4, 5, 6])
    }

    @Test("every list marker makes a point, in order")
    func listMarkers() throws {
        let outline = try parse("# T\n## One\n   10. indented three\n- dash\n* star\n+ plus\n1. dot\n2) paren\n")
        #expect(outline.chapters[0].points == ["indented three", "dash", "star", "plus", "dot", "paren"])
        #expect(outline.chapters[0].notes == nil)
    }

    @Test("an indented line right after a point continues it, joined with one space")
    func continuationLines() throws {
        let outline = try parse("# T\n## One\n- Moves, copies\n  and clones,\n\tcompared with Python\n- Next\n")
        #expect(outline.chapters[0].points == ["Moves, copies and clones, compared with Python", "Next"])
    }

    @Test("nested list items stay in their parent point as an indented sub-list")
    func nestedItems() throws {
        let text = """
            # T
            ## One
            - Collections
              - Vec
                with capacity
              * HashMap
                1. entry API
            - Iterators
            """
        let outline = try parse(text)
        #expect(
            outline.chapters[0].points == [
                "Collections\n  - Vec with capacity\n  * HashMap\n    1. entry API",
                "Iterators",
            ]
        )
    }

    @Test("everything under a chapter that is not a point is its notes, kept as Markdown")
    func notes() throws {
        let text = """
            # T
            ## One
            Intro paragraph.
            - first point
            Text right after a list, without indentation.

            ### A sub-heading
            More **notes**.

            ---
            - second point

              Indented prose after a blank line.
            """
        let outline = try parse(text)
        #expect(outline.chapters[0].points == ["first point", "second point"])
        #expect(
            outline.chapters[0].notes == """
                Intro paragraph.

                Text right after a list, without indentation.

                ### A sub-heading
                More **notes**.

                ---

                  Indented prose after a blank line.
                """
        )
    }

    @Test("empty list items are dropped, and a chapter may have no points")
    func emptyItems() throws {
        let outline = try parse("# T\n## One\n-\n- real\n*   \n## Two\nJust notes.\n")
        #expect(outline.chapters[0].points == ["real"])
        #expect(outline.chapters[1] == .init(title: "Two", points: [], notes: "Just notes."))
    }

    @Test("`##` with nothing after it is an empty chapter title error on its line")
    func emptyChapterTitle() throws {
        let error = try #require(parseError("# T\n## One\n- a\n##   ##\n- b\n"))
        #expect(error.line == 4)
        #expect(error.message.contains("empty chapter title"))
    }

    @Test("`##Setup` without a space is an error rather than silent notes")
    func headingWithoutSpace() throws {
        let error = try #require(parseError("# T\n## One\n##Setup\n"))
        #expect(error.line == 3)
        #expect(error.message.contains("no space after `##`"))
        let title = try #require(parseError("#Rust\n## One\n"))
        #expect(title.line == 1)
        let hashtag = try parse("# T\n## One\n#include is fine in notes\n")
        #expect(hashtag.chapters[0].notes == "#include is fine in notes")
    }

    @Test("duplicate chapter titles, ignoring case and spacing, are an error naming both lines")
    func duplicateChapters() throws {
        let error = try #require(parseError("# T\n## Setup\n- a\n## Other\n##   setup  \n"))
        #expect(error.line == 5)
        #expect(error.message.contains("line 2"))
        #expect(error.message.contains("two chapters are titled"))
    }

    @Test("an outline without `##` chapters is an error on the title line")
    func noChapters() throws {
        let error = try #require(parseError("\n# Rust\nSome description.\n### Not a chapter\n"))
        #expect(error.line == 2)
        #expect(error.message.contains("no chapters"))
        #expect(error.message.contains("## Chapter title"))
    }

    @Test("an empty or blank file is an error saying what to write")
    func emptyFile() throws {
        for text in ["", "\n\n", "  \t\n"] {
            let error = try #require(parseError(text))
            #expect(error.line == 1)
            #expect(error.message.contains("empty"))
        }
    }

    // MARK: Fenced code

    @Test("headings and list items inside fenced code are code in the notes")
    func fencedCode() throws {
        let text = """
            # T
            ## One
            - a point
            ```markdown
            ## Not a chapter
            - not a point
            \tindented with a tab
            <!-- not a comment -->
            ```
            ~~~~
            # not a title
            ~~~
            still code
            ~~~~
            ## Two
            """
        let outline = try parse(text)
        #expect(outline.chapters.map(\.title) == ["One", "Two"])
        #expect(outline.chapters[0].points == ["a point"])
        #expect(
            outline.chapters[0].notes == """
                ```markdown
                ## Not a chapter
                - not a point
                \tindented with a tab
                <!-- not a comment -->
                ```
                ~~~~
                # not a title
                ~~~
                still code
                ~~~~
                """
        )
    }

    @Test("a fence in the description keeps `#` lines out of the title")
    func fenceInDescription() throws {
        let outline = try parse("# T\n```\n# comment in shell\n```\n## One\n")
        #expect(outline.title == "T")
        #expect(outline.description == "```\n# comment in shell\n```")
    }

    @Test("a code fence that is never closed is an error on its opening line")
    func unclosedFence() throws {
        let error = try #require(parseError("# T\n## One\n- a\n\n  ```swift\nlet x = 1\n## Two\n"))
        #expect(error.line == 5)
        #expect(error.message.contains("never closed"))
        #expect(error.message.contains("```"))
    }

    // MARK: Comments

    @Test("HTML comments are ignored wherever they are, on one line or many")
    func comments() throws {
        let commented = """
            <!-- reminder: ask Sam -->
            # Rust <!-- working title -->

            A course
            <!-- a comment line inside the paragraph -->
            about Rust.

            ## One
            - a <!-- check this --> point
            <!--
            ## Dropped chapter
            - dropped point
            -->
            - b
            <!-- one --><!-- two -->
            ## Two <!--
            multi-line comment after a heading
            -->
            """
        let plain = """
            # Rust

            A course
            about Rust.

            ## One
            - a  point
            - b
            ## Two
            """
        let outline = try parse(commented)
        #expect(outline == (try parse(plain)))
        #expect(outline.chapters[0].points == ["a  point", "b"])
        #expect(outline.description == "A course\nabout Rust.")
    }

    @Test("text after a multi-line comment on its closing line is kept")
    func textAfterComment() throws {
        let outline = try parse("# T\n## One\nBefore <!-- start\nmiddle\nend --> after\n")
        #expect(outline.chapters[0].notes == "Before\n after")
    }

    @Test("`<!--` inside a code span is text, not a comment")
    func commentInCodeSpan() throws {
        let outline = try parse("# T\n## One\n- Writing `<!-- -->` comments in ``<!--`` HTML\n")
        #expect(outline.chapters[0].points == ["Writing `<!-- -->` comments in ``<!--`` HTML"])
    }

    @Test("a comment that is never closed is an error on the line that opens it")
    func unclosedComment() throws {
        let error = try #require(parseError("# T\n## One\n- a\n<!-- todo\n## Two\n- b\n"))
        #expect(error.line == 4)
        #expect(error.message.contains("never closed"))
        #expect(error.message.contains("-->"))
    }

    // MARK: Front matter

    @Test("front matter may end with `...` and may be empty")
    func frontMatterForms() throws {
        let dots = try parse("---\nlevel: beginner\n...\n# T\n## One\n")
        #expect(dots.level == "beginner")
        let empty = try parse("---\n---\n# T\n## One\n")
        #expect(empty == Outline(title: "T", chapters: [.init(title: "One")]))
    }

    @Test("an unknown front matter key is an error on its line suggesting the close key")
    func unknownFrontMatterKey() throws {
        let error = try #require(parseError("---\nlevel: beginner\nlangauge: en\n---\n# T\n## One\n"))
        #expect(error.line == 3)
        #expect(error.message.contains("unknown key `langauge`"))
        #expect(error.message.contains("did you mean `language`?"))
        let far = try #require(parseError("---\nsponsor: ACME\n---\n# T\n## One\n"))
        #expect(far.line == 2)
        #expect(!far.message.contains("did you mean"))
        #expect(far.message.contains("`title`, `audience`"))
    }

    @Test("`chapters` in front matter points to `##` headings")
    func chaptersInFrontMatter() throws {
        let error = try #require(parseError("---\nchapters:\n  - title: One\n---\n# T\n## One\n"))
        #expect(error.line == 2)
        #expect(error.message.contains("`## ` heading"))
    }

    @Test("front matter that is never closed is an error on line 1")
    func unclosedFrontMatter() throws {
        let error = try #require(parseError("---\ntitle: T\n# T\n## One\n"))
        #expect(error.line == 1)
        #expect(error.message.contains("never closed"))
    }

    @Test("front matter that is not `key: value` lines is an error on its first line")
    func frontMatterNotMapping() throws {
        let error = try #require(parseError("---\n- a list\n---\n# T\n## One\n"))
        #expect(error.line == 2)
        #expect(error.message.contains("not `key: value` lines"))
    }

    @Test("invalid YAML in front matter is an error on the file line of the problem")
    func frontMatterSyntax() throws {
        let error = try #require(
            parseError("---\nlevel: beginner\naudience: [unclosed\nwords: 900\n---\n# T\n## One\n")
        )
        #expect(error.message.contains("the front matter is not valid YAML"))
        #expect(error.line == 4)
        #expect(error.message.contains("started on line 3"))
        let tab = try #require(parseError("---\nlevel: beginner\n\tlanguage: en\n---\n# T\n## One\n"))
        #expect(tab.line == 3)
        #expect(tab.message.contains("spaces, not tabs"))
    }

    @Test("a front matter field of the wrong type is an error on its line")
    func frontMatterTypes() throws {
        let words = try #require(parseError("---\nlevel: x\nwords: lots\n---\n# T\n## One\n"))
        #expect(words.line == 3)
        #expect(words.message.contains("whole number between 50 and 20000"))
        let title = try #require(parseError("---\ntitle: [a, b]\n---\n## One\n"))
        #expect(title.line == 2)
        #expect(title.message.contains("the course title is a list, not text"))
    }

    @Test("a key given twice in front matter is an error")
    func duplicateFrontMatterKey() throws {
        let error = try #require(parseError("---\nlevel: a\n\nlevel: b\n---\n# T\n## One\n"))
        #expect(error.line == 2)
        #expect(error.message.contains("`level` appears more than once"))
    }

    // MARK: Titles that are hostile or too long

    @Test("a title that looks like a path parses as text: the publisher makes file names safe")
    func pathLikeTitle() throws {
        let outline = try parse("# ../../etc/passwd\n## ../../etc/passwd\n## /dev/null\n")
        #expect(outline.title == "../../etc/passwd")
        #expect(outline.chapters.map(\.title) == ["../../etc/passwd", "/dev/null"])
    }

    @Test("a chapter title over 200 characters is an error with its length")
    func longTitle() throws {
        let long = String(repeating: "Ab", count: 5000)
        let error = try #require(parseError("# T\n## One\n## \(long)\n"))
        #expect(error.line == 3)
        #expect(error.message.contains("10000 characters long, more than 200"))
        let atLimit = String(repeating: "x", count: 200)
        #expect(try parse("# \(atLimit)\n## One\n").title == atLimit)
        let course = try #require(parseError("# \(atLimit)y\n## One\n"))
        #expect(course.line == 1)
        #expect(course.message.contains("the course title"))
    }

    @Test("tabs and runs of spaces inside a title are one space, as the book shows them")
    func tabInTitle() throws {
        let outline = try parse("#  Rust \t for\u{A0}\u{A0}all \n## One\n## Tab\there  and\t\tthere\n")
        #expect(outline.title == "Rust for all")
        #expect(outline.chapters.map(\.title) == ["One", "Tab here and there"])
    }

    @Test("a control character escaped into a front matter title is an error on its line")
    func controlCharacterInTitle() throws {
        let error = try #require(parseError("---\n\ntitle: \"Bell \\a here\"\n---\n## One\n"))
        #expect(error.line == 3)
        #expect(error.message.contains("U+0007"))
    }
}
