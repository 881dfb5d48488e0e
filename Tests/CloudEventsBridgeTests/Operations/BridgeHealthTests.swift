import CloudEventsBridge
import Testing

@Suite("BridgeHealth")
struct BridgeHealthTests {
    @Test("ready only once every route is subscribed and its sink answered")
    func readyWhenEveryRouteIs() {
        let health = BridgeHealth(routes: ["sensors", "alarms"])
        #expect(health.isLive)
        #expect(!health.isReady)
        #expect(health.report == "sensors: not subscribed, sink not answered yet\nalarms: not subscribed, sink not answered yet")

        health.setSubscribed("sensors", true)
        health.setSinkAnswered("sensors", true)
        #expect(!health.isReady)
        #expect(health.isSubscribed("sensors"))
        #expect(health.sinkAnswered("sensors"))
        #expect(!health.sinkAnswered("alarms"))

        health.setSubscribed("alarms", true)
        #expect(!health.isReady)
        health.setSinkAnswered("alarms", true)
        #expect(health.isReady)
        #expect(health.report == "sensors: subscribed, sink answered\nalarms: subscribed, sink answered")
    }

    @Test("a lost subscription or an unreachable sink makes the bridge not ready again")
    func readinessIsLost() {
        let health = BridgeHealth(routes: ["sensors"])
        health.setSubscribed("sensors", true)
        health.setSinkAnswered("sensors", true)
        #expect(health.isReady)

        health.setSinkAnswered("sensors", false)
        #expect(!health.isReady)
        #expect(!health.sinkAnswered("sensors"))
        #expect(health.report == "sensors: subscribed, sink unreachable")
        health.setSinkAnswered("sensors", true)
        #expect(health.isReady)

        health.setSubscribed("sensors", false)
        #expect(!health.isReady)
        #expect(health.report == "sensors: not subscribed, sink answered")
        #expect(health.isLive)
    }

    @Test("stopping is live but not ready; stopped is neither")
    func stopping() {
        let health = BridgeHealth(routes: ["sensors"])
        health.setSubscribed("sensors", true)
        health.setSinkAnswered("sensors", true)
        health.setStopping()
        #expect(health.isLive)
        #expect(!health.isReady)
        #expect(health.report == "sensors: subscribed, sink answered\nstopping")
        health.setStopped()
        #expect(!health.isLive)
        #expect(!health.isReady)
        #expect(health.report == "sensors: subscribed, sink answered\nstopped")
    }

    @Test("a route named only later is added and counts for readiness")
    func unknownRouteIsAdded() {
        let health = BridgeHealth(routes: ["sensors", "sensors"])
        health.setSubscribed("sensors", true)
        health.setSinkAnswered("sensors", true)
        #expect(health.isReady)
        health.setSubscribed("late", true)
        #expect(!health.isReady)
        #expect(health.report == "sensors: subscribed, sink answered\nlate: subscribed, sink not answered yet")
        #expect(!health.isSubscribed("never"))
        #expect(!health.sinkAnswered("never"))
    }
}
