import Foundation
import TestSupport
import Testing

@testable import Generation
@testable import Outlines

/// The example outlines from shared/examples, copied verbatim, and what they must parse to.
enum OutlineExamples {
    static let practicalRust = """
        ---
        audience: Python developers who have never used a systems language
        level: intermediate
        language: en
        words: 1500
        ---
        # Practical Rust for Python Developers

        A hands-on course that takes working Python programmers to writing, testing and shipping
        small Rust command-line tools. Every chapter ends with an exercise that builds on the last.

        ## Getting started
        - Installing Rust with rustup and choosing a toolchain
        - cargo new, cargo run, cargo test
        - Reading compiler errors without fear
        The first exercise is a word counter, the Rust twin of a ten-line Python script.

        ## Ownership and borrowing
        - Moves, copies and clones, compared with Python references
        - Shared and mutable borrows
        - Lifetimes in function signatures, only as far as needed here

        ## Structs, enums and pattern matching
        - Modelling data with structs and enums
        - match, if let and exhaustiveness
        - Option and Result instead of None and exceptions

        ## Error handling in real programs
        - The ? operator
        - Custom error types and the thiserror crate
        - anyhow for applications

        ## Collections and iterators
        - Vec, HashMap, HashSet
        - Iterator adaptors compared with list comprehensions
        - Ownership inside loops

        ## Testing and documentation
        - Unit tests, integration tests, doc tests
        - cargo fmt and clippy in CI

        ## Shipping a command-line tool
        - Argument parsing with clap
        - Cross-compiling and release builds
        - Publishing to crates.io

        """

    static let practicalRustOutline = Outline(
        title: "Practical Rust for Python Developers",
        audience: "Python developers who have never used a systems language",
        level: "intermediate",
        language: "en",
        words: 1500,
        description: """
            A hands-on course that takes working Python programmers to writing, testing and shipping
            small Rust command-line tools. Every chapter ends with an exercise that builds on the last.
            """,
        chapters: [
            .init(
                title: "Getting started",
                points: [
                    "Installing Rust with rustup and choosing a toolchain",
                    "cargo new, cargo run, cargo test",
                    "Reading compiler errors without fear",
                ],
                notes: "The first exercise is a word counter, the Rust twin of a ten-line Python script."
            ),
            .init(
                title: "Ownership and borrowing",
                points: [
                    "Moves, copies and clones, compared with Python references",
                    "Shared and mutable borrows",
                    "Lifetimes in function signatures, only as far as needed here",
                ]
            ),
            .init(
                title: "Structs, enums and pattern matching",
                points: [
                    "Modelling data with structs and enums",
                    "match, if let and exhaustiveness",
                    "Option and Result instead of None and exceptions",
                ]
            ),
            .init(
                title: "Error handling in real programs",
                points: ["The ? operator", "Custom error types and the thiserror crate", "anyhow for applications"]
            ),
            .init(
                title: "Collections and iterators",
                points: [
                    "Vec, HashMap, HashSet",
                    "Iterator adaptors compared with list comprehensions",
                    "Ownership inside loops",
                ]
            ),
            .init(
                title: "Testing and documentation",
                points: ["Unit tests, integration tests, doc tests", "cargo fmt and clippy in CI"]
            ),
            .init(
                title: "Shipping a command-line tool",
                points: ["Argument parsing with clap", "Cross-compiling and release builds", "Publishing to crates.io"]
            ),
        ]
    )

    static let kitchenSafety = """
        title: Food Safety for New Kitchen Staff
        audience: newly hired kitchen staff with no formal training
        level: beginner
        language: en
        words: 900
        description: >
          A short onboarding course that every new hire completes in their first week.
          Plain language, concrete examples from a restaurant kitchen, no jargon without explanation.
        chapters:
          - title: Why food safety matters
            points:
              - Foodborne illness and who is most at risk
              - What an inspection looks at
          - title: Personal hygiene
            points:
              - Handwashing, step by step, and when
              - Gloves are not a substitute for washing
              - Reporting illness before a shift
          - title: Temperature control
            points:
              - The danger zone, 5 °C to 60 °C
              - Cooling cooked food safely
              - Using and calibrating a probe thermometer
            notes: Include a worked example of cooling a large pot of stock.
          - title: Cross-contamination and allergens
            points:
              - Colour-coded boards and storage order in the fridge
              - The 14 major allergens and how to answer a customer's question
          - title: Cleaning and sanitising
            points:
              - Cleaning versus sanitising
              - A daily and weekly cleaning schedule

        """

    static let kitchenSafetyOutline = Outline(
        title: "Food Safety for New Kitchen Staff",
        audience: "newly hired kitchen staff with no formal training",
        level: "beginner",
        language: "en",
        words: 900,
        description: "A short onboarding course that every new hire completes in their first week. "
            + "Plain language, concrete examples from a restaurant kitchen, no jargon without explanation.",
        chapters: [
            .init(
                title: "Why food safety matters",
                points: ["Foodborne illness and who is most at risk", "What an inspection looks at"]
            ),
            .init(
                title: "Personal hygiene",
                points: [
                    "Handwashing, step by step, and when",
                    "Gloves are not a substitute for washing",
                    "Reporting illness before a shift",
                ]
            ),
            .init(
                title: "Temperature control",
                points: [
                    "The danger zone, 5 °C to 60 °C",
                    "Cooling cooked food safely",
                    "Using and calibrating a probe thermometer",
                ],
                notes: "Include a worked example of cooling a large pot of stock."
            ),
            .init(
                title: "Cross-contamination and allergens",
                points: [
                    "Colour-coded boards and storage order in the fridge",
                    "The 14 major allergens and how to answer a customer's question",
                ]
            ),
            .init(
                title: "Cleaning and sanitising",
                points: ["Cleaning versus sanitising", "A daily and weekly cleaning schedule"]
            ),
        ]
    )
}

/// The file name every in-memory test outline is reported under.
let testFileName = "course.outline"

func parse(_ text: String, _ format: OutlineFormat = .markdown) throws(OutlineError) -> Outline {
    try OutlineParser.parse(Array(text.utf8), format: format, fileName: testFileName)
}

/// The error parsing `text` fails with; records a test failure (and returns nil) if it parses.
func parseError(
    _ text: String,
    _ format: OutlineFormat = .markdown,
    sourceLocation: SourceLocation = #_sourceLocation
) -> OutlineError? {
    parseError(Array(text.utf8), format, sourceLocation: sourceLocation)
}

func parseError(
    _ bytes: [UInt8],
    _ format: OutlineFormat,
    sourceLocation: SourceLocation = #_sourceLocation
) -> OutlineError? {
    do {
        let outline = try OutlineParser.parse(bytes, format: format, fileName: testFileName)
        Issue.record("expected an OutlineError, but it parsed: \(outline)", sourceLocation: sourceLocation)
        return nil
    } catch {
        #expect(error.file == testFileName, sourceLocation: sourceLocation)
        return error
    }
}
