"""Developer tools: generators of survey submissions for tests, benchmarks and the device simulator."""
