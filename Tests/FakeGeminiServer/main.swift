import FakeGemini
