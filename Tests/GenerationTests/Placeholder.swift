import Testing

@Test func placeholderGenerationTests() {}
