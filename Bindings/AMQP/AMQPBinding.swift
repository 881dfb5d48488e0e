import CQpidProton

/// The version of qpid-proton the binding was built against, e.g. `0.37.0`.
package var protonVersionString: String { "\(PN_VERSION_MAJOR).\(PN_VERSION_MINOR).\(PN_VERSION_POINT)" }
