#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension Timestamp {
    /// The current time in UTC, with the system clock's precision.
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        // A clock outside years 1...9999 is broken; the epoch is the least surprising answer.
        return (try? Timestamp(secondsSinceEpoch: Int64(spec.tv_sec), nanosecond: Int(spec.tv_nsec)))
            ?? Timestamp(
                uncheckedYear: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0, nanosecond: 0,
                fractionDigits: 0, utcOffsetMinutes: 0, isOffsetUnknown: false, usesZulu: true, verbatim: nil)
    }
}
