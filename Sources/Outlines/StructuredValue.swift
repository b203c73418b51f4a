/// A value read from a YAML or JSON outline (or Markdown front matter), with the 1-based line
/// of the file it starts on, so that every later complaint can name that line.
struct StructuredValue {
    /// What a scalar was written as; only `integer` and `null` change how fields read it.
    enum ScalarKind {
        /// Quoted or block text, a plain YAML word, a JSON string.
        case text
        /// Decimal digits with an optional sign: a YAML plain scalar or a JSON number without
        /// fraction or exponent.
        case integer
        /// A JSON number with a fraction or exponent.
        case number
        /// JSON `true` or `false`.
        case boolean
        /// JSON `null`; in YAML an empty plain value, `~` or `null`.
        case null
    }

    /// One key and its value in a mapping, in file order.
    struct Entry {
        var key: String
        var keyLine: Int
        var value: StructuredValue
    }

    enum Content {
        case scalar(String, ScalarKind)
        case list([StructuredValue])
        case mapping([Entry])
    }

    var content: Content
    var line: Int

    /// "text", "a list", "a mapping": how messages name what was found instead of what was expected.
    var kindDescription: String {
        switch content {
        case .scalar(_, .null): "empty"
        case .scalar(_, .text): "text"
        case .scalar(_, .integer), .scalar(_, .number): "a number"
        case .scalar(_, .boolean): "true or false"
        case .list: "a list"
        case .mapping: "a mapping (`key: value` pairs)"
        }
    }
}
