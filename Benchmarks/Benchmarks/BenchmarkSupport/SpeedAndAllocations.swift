import Benchmark

/// Registers the benchmarks `register` makes twice: once for speed (throughput, wall clock,
/// instructions) and once for allocations, with names ending in `" allocations"`. Counting
/// mallocs interposes on every allocation and would slow the speed figures of
/// allocation-heavy operations, so the two are measured apart.
public func registerForSpeedAndAllocations(_ register: (_ suffix: String) -> Void) {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .instructions],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )
    register("")
    Benchmark.defaultConfiguration = .init(
        metrics: [.mallocCountTotal],
        scalingFactor: .one,
        maxDuration: .seconds(1),
        maxIterations: 10_000
    )
    register(" allocations")
}
