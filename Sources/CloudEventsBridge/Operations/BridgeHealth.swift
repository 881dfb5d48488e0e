import CloudEvents

/// What `/healthz` and `/readyz` answer: whether the bridge process serves, and whether each
/// route can move events now.
///
/// A route is ready when its source subscription is in place and its sink has answered
/// something (any status: an answer proves the sink is reachable, whatever it thought of the
/// event). The bridge is ready when every route is and it is not stopping. The engine reports
/// each change; every method is safe to call from any thread.
public final class BridgeHealth: Sendable {
    private struct RouteState: Sendable {
        var subscribed = false
        var sink = SinkState.notAnswered
    }

    private enum SinkState: Sendable {
        case notAnswered
        case answered
        case unreachable
    }

    private struct State: Sendable {
        // In the order the routes were named, so that the report reads like the configuration.
        var names: [String]
        var routes: [String: RouteState]
        var stopping = false
        var stopped = false
    }

    private let state: Locked<State>

    /// Health for a bridge running `routes`, none of them subscribed or answered yet.
    ///
    /// - Parameter routes: the routes' names.
    public init(routes: [String]) {
        var names: [String] = []
        var states: [String: RouteState] = [:]
        for name in routes where states[name] == nil {
            names.append(name)
            states[name] = RouteState()
        }
        state = Locked(State(names: names, routes: states))
    }

    /// Records whether `route`'s source subscription is in place (false again while it
    /// reconnects). A route not named at ``init(routes:)`` is added.
    ///
    /// - Parameters:
    ///   - route: the route's name.
    ///   - subscribed: whether its subscription is in place.
    public func setSubscribed(_ route: String, _ subscribed: Bool) {
        update(route) { $0.subscribed = subscribed }
    }

    /// Records whether `route`'s sink answered (any status), or became unreachable (false).
    /// A route not named at ``init(routes:)`` is added.
    ///
    /// - Parameters:
    ///   - route: the route's name.
    ///   - answered: `true` when the sink answered something, `false` when it could not be
    ///     reached or did not answer in time.
    public func setSinkAnswered(_ route: String, _ answered: Bool) {
        update(route) { $0.sink = answered ? .answered : .unreachable }
    }

    /// Whether `route`'s sink has answered and not become unreachable since.
    ///
    /// - Parameter route: the route's name.
    /// - Returns: `false` for a route never named.
    public func sinkAnswered(_ route: String) -> Bool {
        state.withLock { $0.routes[route]?.sink == .answered }
    }

    /// Whether `route`'s source subscription is in place.
    ///
    /// - Parameter route: the route's name.
    /// - Returns: `false` for a route never named.
    public func isSubscribed(_ route: String) -> Bool {
        state.withLock { $0.routes[route]?.subscribed ?? false }
    }

    /// Records that the bridge is stopping: it is no longer ready, so that a load balancer
    /// sends nothing new its way, but still live while it drains.
    public func setStopping() {
        state.withLock { $0.stopping = true }
    }

    /// Records that the bridge has stopped: neither live nor ready.
    public func setStopped() {
        state.withLock {
            $0.stopping = true
            $0.stopped = true
        }
    }

    /// Whether the process serves: true until ``setStopped()``, draining included.
    public var isLive: Bool {
        state.withLock { !$0.stopped }
    }

    /// Whether every route is subscribed and its sink answered, and the bridge is not stopping.
    public var isReady: Bool {
        state.withLock { state in
            !state.stopping && state.routes.values.allSatisfy { $0.subscribed && $0.sink == .answered }
        }
    }

    /// One line per route, such as `sensors: subscribed, sink answered` or
    /// `sensors: not subscribed, sink unreachable`, and a last line `stopping` or `stopped`
    /// when it applies; lines are separated by newlines, with none at the end.
    public var report: String {
        state.withLock { state in
            var lines = state.names.map { name in
                let route = state.routes[name] ?? RouteState()
                let subscription = route.subscribed ? "subscribed" : "not subscribed"
                let sink =
                    switch route.sink {
                    case .notAnswered: "sink not answered yet"
                    case .answered: "sink answered"
                    case .unreachable: "sink unreachable"
                    }
                return "\(name): \(subscription), \(sink)"
            }
            if state.stopped {
                lines.append("stopped")
            } else if state.stopping {
                lines.append("stopping")
            }
            return lines.joined(separator: "\n")
        }
    }

    private func update(_ route: String, _ change: (inout RouteState) -> Void) {
        state.withLock { state in
            if state.routes[route] == nil {
                state.names.append(route)
                state.routes[route] = RouteState()
            }
            change(&state.routes[route, default: RouteState()])
        }
    }
}
