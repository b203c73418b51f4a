import Generation
import Yams

extension SettingType where Value == PriceTable {
    /// Prices by model, as a YAML mapping of model names to `{input, output, thinking}` in US
    /// dollars per million tokens (`thinking` may be left out: it then costs what `output`
    /// costs), with optionally `cached-input` (cached prompt tokens; a tenth of `input` when left
    /// out) and `priority-factor` (the priority tier's multiple of these prices; 2 when left out). A flag or variable gives it in flow style, `{my-model: {input: 0.3, output: 2.5}}`;
    /// the config file also as a block. The rows given are added to the built-in prices,
    /// replacing those of the same model, so the value is always the whole table.
    ///
    /// Why a mapping and not three flat rows for "the" model: a price belongs to a model name.
    /// With flat rows, switching `model` would silently apply the old model's prices to the new
    /// one; keyed by name, a model without a row has no price, and its cost is "unknown", never
    /// a wrong number.
    static var priceTable: Self {
        Self(
            allowed: "a mapping of model names to prices in US dollars per million tokens, "
                + "such as {my-model: {input: 0.3, output: 2.5, thinking: 2.5}}",
            valueName: "yaml",
            isSwitch: false,
            acceptsMapping: true,
            parse: { text in PriceTableText.parse(text).map { PriceTable.builtIn.merging($0) } },
            format: PriceTableText.format
        )
    }
}

/// The text form of a price table, the setting's value.
enum PriceTableText {
    static let fields = ["input", "output", "thinking", "cached-input", "priority-factor"]

    /// The table `text` gives, nil unless it is a mapping of non-empty model names to mappings
    /// with `input` and `output` (and optionally `thinking`), each a number of dollars, zero or
    /// more.
    static func parse(_ text: String) -> PriceTable? {
        // The encoding is explicit: Yams' default reads an environment variable and prints.
        guard let node = try? Yams.compose(yaml: text, .basic, .default, .utf8), let mapping = node.mapping else {
            return nil
        }
        var prices: [String: Price] = [:]
        for (keyNode, valueNode) in mapping {
            guard let model = keyNode.scalar?.string, !model.isEmpty, !model.contains(where: \.isNewline),
                let fields = valueNode.mapping
            else { return nil }
            var values: [String: Double] = [:]
            for (fieldNode, amountNode) in fields {
                guard let field = fieldNode.scalar?.string, Self.fields.contains(field),
                    let amount = amountNode.scalar.flatMap({ Double($0.string) }), amount.isFinite, amount >= 0
                else { return nil }
                values[field] = amount
            }
            guard let input = values["input"], let output = values["output"] else { return nil }
            if let factor = values["priority-factor"], factor < 1 { return nil }
            prices[model] = Price(
                inputPerMillion: input,
                outputPerMillion: output,
                thinkingPerMillion: values["thinking"] ?? output,
                cachedInputPerMillion: values["cached-input"],
                priorityFactor: values["priority-factor"]
            )
        }
        return PriceTable(prices)
    }

    /// `table` in flow style, models in order of name, every field written out:
    /// `{gemini-2.5-flash: {input: 0.3, output: 2.5, thinking: 2.5}}`.
    static func format(_ table: PriceTable) -> String {
        let rows = table.prices.sorted { $0.key < $1.key }.map { model, price in
            var fields = [
                "input: \(decimal(price.inputPerMillion))", "output: \(decimal(price.outputPerMillion))",
                "thinking: \(decimal(price.thinkingPerMillion))",
            ]
            if let cached = price.cachedInputPerMillion { fields.append("cached-input: \(decimal(cached))") }
            if let factor = price.priorityFactor { fields.append("priority-factor: \(decimal(factor))") }
            return "\(key(model)): {" + fields.joined(separator: ", ") + "}"
        }
        return "{" + rows.joined(separator: ", ") + "}"
    }

    /// A model name as a YAML key: plain when it is only letters, digits, `.`, `_` and `-`
    /// (starting with a letter or digit), else double-quoted (`"llama3.1:8b"`).
    private static func key(_ model: String) -> String {
        let plain = model.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                || "._-".unicodeScalars.contains($0)
        }
        if plain, let first = model.unicodeScalars.first, !"._-".unicodeScalars.contains(first) {
            return model
        }
        var quoted = "\""
        for scalar in model.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }
}
