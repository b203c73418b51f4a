import Synchronization

/// Which name of the output budget a provider sends, shared by its copies: once a server has
/// refused `max_completion_tokens`, every later request uses `max_tokens`.
final class OutputBudgetMemory: Sendable {
    private let refused = Atomic<Bool>(false)

    var current: OpenAIWire.OutputBudget {
        refused.load(ordering: .relaxed) ? .maxTokens : .maxCompletionTokens
    }

    func useMaxTokens() { refused.store(true, ordering: .relaxed) }
}
