import Foundation
import SystemPackage
import Platform
public import Outlines
import Providers

/// Reads prompt template files: the installation's (`system-template`, `chapter-template`) and a
/// course's own, named by its outline (`prompt:`, `system-prompt:`) and kept beside it.
public enum CoursePrompts {
    /// The settings `outline` is generated with: `base` with the course's own templates and
    /// context in place of the installation's.
    ///
    /// - Parameters:
    ///   - outlinePath: where the outline is; its templates are looked up beside it.
    ///   - displayName: the outline's name in messages.
    ///   - root: the folder a template must be inside, symbolic links resolved (the inbox); the
    ///     outline's own folder when nil.
    /// - Throws: `OutlineError` at the outline's line when a named file is missing or outside
    ///   `root`; `PromptTemplateError` naming the template when it cannot be read or used.
    public static func settings(
        for outline: Outline,
        at outlinePath: String,
        displayName: String,
        within root: String? = nil,
        base: GenerationSettings
    ) throws -> GenerationSettings {
        var settings = base
        if let context = outline.context { settings.context = context }
        if let tier = outline.serviceTier.flatMap(ServiceTier.init(rawValue:)) { settings.serviceTier = tier }
        guard outline.prompt != nil || outline.systemPrompt != nil else { return settings }
        let folder = (outlinePath as NSString).deletingLastPathComponent
        let displayFolder = (displayName as NSString).deletingLastPathComponent
        let boundary = AbsolutePath(root ?? folder).resolved
        for (key, reference, role) in [
            ("prompt", outline.prompt, PromptTemplate.Role.chapter),
            ("system-prompt", outline.systemPrompt, .system),
        ] {
            guard let reference else { continue }
            let path = "\(folder)/\(reference.path)"
            let shown = displayFolder.isEmpty ? reference.path : "\(displayFolder)/\(reference.path)"
            func refuse(_ why: String) -> OutlineError {
                OutlineError(
                    file: displayName,
                    line: reference.line,
                    message: "`\(key)` names \(reference.path), \(why)"
                )
            }
            guard FileManager.default.fileExists(atPath: path) else {
                throw refuse(
                    "which is not there: create it beside the outline, or remove the key to use the installation's template"
                )
            }
            let target = AbsolutePath(path).resolved
            guard boundary.contains(target) else {
                throw refuse("which leads outside the inbox (\(target)): keep templates in the inbox")
            }
            let template = try load(path, role: role, displayName: shown)
            switch role {
            case .chapter: settings.templates.chapter = template
            case .system: settings.templates.system = template
            }
        }
        return settings
    }

    /// Reads and checks the template at `path`.
    /// - Throws: `PromptTemplateError` naming `displayName` (the path when nil): not a regular
    ///   file, unreadable, over `PromptTemplate.maximumBytes`, not UTF-8, or not a usable template.
    public static func load(_ path: String, role: PromptTemplate.Role, displayName: String? = nil)
        throws(PromptTemplateError)
        -> PromptTemplate
    {
        let shown = displayName ?? path
        func failure(_ message: String) -> PromptTemplateError {
            PromptTemplateError(.cannotRead, file: shown, line: nil, message: message)
        }
        let bytes: [UInt8]
        do {
            bytes = try SmallFile.read(path, limit: PromptTemplate.maximumBytes)
        } catch {
            switch error {
            case .cannotOpen(let code), .cannotRead(let code):
                throw failure("cannot read the template: \(code.words); check the path and its permissions")
            case .notRegular:
                throw failure("this is not a regular file: save the template as an ordinary file")
            case .tooLarge(let size):
                throw failure(
                    "the template is \(size) bytes, over the limit of \(PromptTemplate.maximumBytes): "
                        + "a prompt is instructions, not reference material"
                )
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw failure("the template is not UTF-8 text: save it as UTF-8")
        }
        return try PromptTemplate(text, role: role, origin: shown)
    }
}
