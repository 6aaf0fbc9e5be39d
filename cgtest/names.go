package cgtest

import "errors"

// ErrTestEnded is wrapped by the error of a Group method called after
// the group's teardown has begun (the test has ended): the cgroup could
// no longer be removed by anyone, so nothing is created.
var ErrTestEnded = errors.New("the test has ended, and its cgroups were torn down")

// levels returns every prefix of the checked name, shortest first:
// "a/b/c" gives "a", "a/b", "a/b/c".
func levels(name string) []string {
	var out []string
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			out = append(out, name[:i])
		}
	}
	return append(out, name)
}
