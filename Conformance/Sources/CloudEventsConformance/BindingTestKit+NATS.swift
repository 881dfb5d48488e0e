import Foundation

extension ConformanceTarget {
    /// NATS through the server at `host:port` (nats-server 2.2 or later: binary mode needs
    /// headers), a subject per cell (`ce-conformance.<cell>`), with `username` and `password`
    /// (or a token as `username` alone) when the server asks for them. Its wire rows read what
    /// the sender published with a ``RawNATSConnection`` subscribed to the cell's subject.
    ///
    /// - Parameters:
    ///   - host: the server's host.
    ///   - port: the server's plain client port.
    ///   - username: the user (or the token, without a password), or `nil`.
    ///   - password: the password.
    public static func nats(host: String, port: Int, username: String? = nil, password: String? = nil)
        -> ConformanceTarget
    {
        let encode = { (text: String) in
            text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))
                ?? text
        }
        let credentials =
            username.map { user in password.map { "\(encode(user)):\(encode($0))@" } ?? "\(encode(user))@" } ?? ""
        return ConformanceTarget(
            name: "NATS", receiverEndpoint: "nats://\(credentials)\(host):\(port)/ce-conformance.{cell}",
            wireProbe: .rawNATS)
    }

    /// The NATS target for the variables in `environment`: through the server at
    /// `CE_TEST_NATS_HOST:CE_TEST_NATS_PORT` (`127.0.0.1` by default) when `CE_TEST_NATS_PORT`
    /// is set, as `Scripts/brokers env` exports it (the server without authentication). Only a
    /// tool or test that registers the NATS binding asks for it (`ce conformance`, the NATS
    /// binding's tests), so ``fromEnvironment(_:)`` leaves it out.
    ///
    /// - Parameter environment: the variables to read (``brokersEnvironment()`` for the process's).
    /// - Returns: the target, or the sentence saying why the NATS rows are not run.
    public static func natsFromEnvironment(_ environment: [String: String]) -> ConformanceTargetList {
        let value = { (name: String) in environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        guard let text = value("CE_TEST_NATS_PORT") else {
            return ConformanceTargetList(
                targets: [],
                notRun: ["NATS rows not run: CE_TEST_NATS_PORT is not set (eval \"$(Scripts/brokers env)\" sets it)"])
        }
        guard let port = Int(text), (1...65535).contains(port) else {
            return ConformanceTargetList(
                targets: [], notRun: ["NATS rows not run: CE_TEST_NATS_PORT '\(text)' is not a port number"])
        }
        return ConformanceTargetList(
            targets: [.nats(host: value("CE_TEST_NATS_HOST") ?? "127.0.0.1", port: port)], notRun: [])
    }
}
