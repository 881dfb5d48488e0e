import NIOCore
public import ServiceLifecycle

extension NATSClient: Service {
    /// Holds the client until the service group shuts down gracefully, the task is cancelled,
    /// or the client closes (or gives up reconnecting); then closes it.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await gracefulShutdown() }
            group.addTask { try? await self.ended.futureResult.get() }
            await group.next()
            // Cancellation ends gracefulShutdown(); closing ends the other child.
            group.cancelAll()
            await self.close()
        }
    }
}
