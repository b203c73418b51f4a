import Foundation
import Yams

/// A `--config` file: flat YAML `name: value` lines, each name a setting's config key, read
/// once and checked whole before any value is used, so a typo cannot pass silently. A setting
/// whose type takes a mapping (`prices`) may hold one; its entry is then the mapping's YAML.
struct ConfigFile: Sendable, Equatable {
    /// One `name: value` line.
    struct Entry: Sendable, Equatable {
        /// The value as written, without quotes or surrounding blanks.
        var text: String
        /// The key's line, from 1.
        var line: Int
    }

    /// The path as given, for messages.
    let path: String
    /// The values by key.
    let entries: [String: Entry]

    /// The keys whose value may be a mapping.
    static let mappingKeys = Set(Setting.all.filter(\.acceptsMapping).map(\.configKey))

    /// Reads and checks the file at `path`.
    /// - Throws: `SettingsError` (`unreadableConfigFile`, `malformedConfigFile`, `unknownKey`)
    ///   with `path:line:` where there is a line.
    static func read(
        path: String,
        known: [String] = Setting.all.map(\.configKey),
        mappings: Set<String> = mappingKeys
    ) throws(SettingsError) -> ConfigFile {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
            throw .unreadableConfigFile(path: path, reason: reason)
        }
        return try parse(text, path: path, known: known, mappings: mappings)
    }

    /// Parses `text`, the content of the file at `path`: every key must be one of `known`, once
    /// (Yams refuses duplicates), with a single value, or a mapping for the keys in `mappings`.
    /// An empty file (or one of comments) sets nothing.
    static func parse(
        _ text: String,
        path: String,
        known: [String],
        mappings: Set<String> = []
    ) throws(SettingsError) -> ConfigFile {
        let node: Node?
        do {
            // The encoding is explicit: Yams' default reads an environment variable and prints.
            node = try Yams.compose(yaml: text, .basic, .default, .utf8)
        } catch let error as YamlError {
            throw located(error, path: path)
        } catch {
            throw .malformedConfigFile(path: path, line: 1, "not valid YAML: \(error)")
        }
        guard let node else { return ConfigFile(path: path, entries: [:]) }
        guard let mapping = node.mapping else {
            throw .malformedConfigFile(
                path: path,
                line: node.mark?.line ?? 1,
                "the config file must be a mapping of `name: value` lines"
            )
        }
        var entries: [String: Entry] = [:]
        for (keyNode, valueNode) in mapping {
            let line = keyNode.mark?.line ?? 1
            guard let key = keyNode.scalar?.string, known.contains(key) else {
                throw .unknownKey(keyNode.scalar?.string ?? "\(keyNode)", path: path, line: line, known: known)
            }
            if mappings.contains(key), valueNode.mapping != nil {
                // Its type reads the mapping as YAML, as it reads a flag's `{...}`.
                let yaml: String
                do { yaml = try Yams.serialize(node: valueNode) } catch {
                    throw .malformedConfigFile(path: path, line: line, "'\(key)' cannot be read: \(error)")
                }
                entries[key] = Entry(text: yaml.trimmingCharacters(in: .whitespacesAndNewlines), line: line)
                continue
            }
            guard let scalar = valueNode.scalar else {
                throw .malformedConfigFile(
                    path: path,
                    line: line,
                    "'\(key)' must be a single value, not a list or a mapping"
                )
            }
            let value = scalar.string.trimmingCharacters(in: .whitespaces)
            guard scalar.style != .plain || !["", "~", "null", "Null", "NULL"].contains(value) else {
                throw .malformedConfigFile(
                    path: path,
                    line: line,
                    "'\(key)' has no value: give one, or remove the line"
                )
            }
            entries[key] = Entry(text: value, line: line)
        }
        return ConfigFile(path: path, entries: entries)
    }

    /// A YAML syntax error as `path:LINE: not valid YAML: problem`.
    private static func located(_ error: YamlError, path: String) -> SettingsError {
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            // libyaml reports a key without `:` where the next token starts; the key's own line
            // is the one to fix.
            let line = context.map { $0.text.contains("simple key") ? $0.mark.line : mark.line } ?? mark.line
            return .malformedConfigFile(path: path, line: line, "not valid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let names = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return .malformedConfigFile(
                path: path,
                line: context.mark.line,
                "\(names) is set more than once (first here): keep one"
            )
        default:
            return .malformedConfigFile(path: path, line: 1, "not valid YAML: \(error)")
        }
    }
}
