import Testing

@Test func placeholderWatcherTests() {}
