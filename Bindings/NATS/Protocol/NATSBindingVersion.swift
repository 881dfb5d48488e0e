/// The version this binding reports in `CONNECT` (`"version"`), next to `"lang": "swift"`.
///
/// `@usableFromInline` because it is the default argument of a public initializer.
@usableFromInline package let natsBindingVersion = "0.1.0"
