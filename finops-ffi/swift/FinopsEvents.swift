// The events of an analysis as an AsyncSequence, beside the generated Swift bindings (it is Swift, not generated;
// no Swift toolchain runs here, so it is compiled only by the app that ships it).
import Foundation

private final class StreamListener: EventListener {
    private let continuation: AsyncStream<AnalysisEvent>.Continuation

    init(_ continuation: AsyncStream<AnalysisEvent>.Continuation) {
        self.continuation = continuation
    }

    func onEvent(event: AnalysisEvent) {
        continuation.yield(event)
        if event.kind == "completed" || event.kind == "failed" {
            continuation.finish()
        }
    }
}

public extension Finops {
    /// `for await event in try finops.events(request)`: the sequence ends after `completed` or `failed`; leaving
    /// the loop (or cancelling the task) cancels the analysis. A bad request throws here.
    func events(_ request: AnalysisRequestFfi) throws -> AsyncStream<AnalysisEvent> {
        var failure: Error?
        let sequence = AsyncStream<AnalysisEvent>(bufferingPolicy: .unbounded) { continuation in
            do {
                let task = try self.stream(request: request, listener: StreamListener(continuation))
                continuation.onTermination = { _ in task.cancel() }
            } catch {
                failure = error
                continuation.finish()
            }
        }
        if let failure { throw failure }
        return sequence
    }
}
