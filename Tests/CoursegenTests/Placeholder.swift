import Testing

@Test func placeholderCoursegenTests() {}
