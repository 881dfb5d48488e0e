import CloudEvents
import NIOCore
import NIOPosix

/// Readiness needs the sink to have answered; before the first event there is no answer, so
/// the route asks the network: a TCP connection to the sink's host and port counts, tried
/// every 2 s until it succeeds or the first send answers. A sink URL without a port is left
/// to the first send's answer.
enum SinkProbe {
    static func waitForAnswer(route: RouteConfiguration, isInProcess: Bool, health: BridgeHealth) async {
        let endpoint = route.sink
        if isInProcess {
            // An in-process sink has no address: it is always there.
            health.setSinkAnswered(route.name, true)
            return
        }
        guard let port = endpoint.port, port > 0 else { return }
        while !Task.isCancelled {
            do {
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connectTimeout(.seconds(2))
                    .connect(host: endpoint.host, port: port).get()
                try? await channel.close()
                health.setSinkAnswered(route.name, true)
                return
            } catch {
                try? await Task.sleep(for: .seconds(2))
            }
        }
    }
}
