package cgtest

// T is the part of *testing.T that cgtest uses. *testing.T, *testing.B
// and *testing.F satisfy it, and so does a recording fake in a test of a
// test helper. It is deliberately not testing.TB, which cannot be
// implemented outside the testing package.
//
// Cleanup must run the registered functions in last-in, first-out order
// after the test ends, as testing does; cgtest's ordering guarantees rest
// on that. Skipf and Fatalf must stop the test (testing calls
// runtime.Goexit); a fake whose Skipf returns makes Root return nil, and
// one whose Fatalf returns gets a Group that refuses every method.
type T interface {
	Helper()
	Name() string
	Cleanup(func())
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
}
