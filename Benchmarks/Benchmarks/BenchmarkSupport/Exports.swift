// The sample event lives in BenchmarkSample, which does not link the benchmark package (and
// its malloc interposer); benchmarks get it through BenchmarkSupport as before.
@_exported import BenchmarkSample
