// Package vmtest tells a test whether it runs inside the guest of the cgvm
// runner (github.com/cgguard/cgguard/cmd/cgvm), where cgroup v2 at
// /sys/fs/cgroup offers every controller (cpuset included) and enables
// them all for new cgroups, and skips tests that need that kernel
// everywhere else. Any module can import it.
//
// Run a package's tests in the guest:
//
//	scripts/vm-setup.sh    # from a cgguard checkout: qemu and Debian kernels
//	CGO_ENABLED=0 go install github.com/cgguard/cgguard/cmd/cgvm@latest
//	go test -exec "$(go env GOPATH)/bin/cgvm" ./pkg
package vmtest

import "os"

// EnvVar is the environment variable the cgvm runner sets to "1" for the
// test binary it runs inside the VM (and only there: a value the host had
// is not passed in).
const EnvVar = "CGGUARD_VM"

// CgroupRoot is where the VM mounts cgroup v2. Before the test starts,
// every controller the kernel offers there is enabled in its
// cgroup.subtree_control, so new cgroups get them all.
const CgroupRoot = "/sys/fs/cgroup"

// SkipReason is the message SkipUnlessVM skips with: what is missing and the
// commands that provide it.
const SkipReason = "needs the full cgroup v2 hierarchy (cpuset included) of the cgguard VM; " +
	"run: scripts/vm-setup.sh && CGO_ENABLED=0 go install github.com/cgguard/cgguard/cmd/cgvm@latest && " +
	`go test -exec "$(go env GOPATH)/bin/cgvm" <this package>`

// InVM reports whether the test binary runs as the cgvm runner's test child
// inside the VM. It is false everywhere else, including on hosts whose
// cgroup v2 happens to have every controller.
func InVM() bool {
	return os.Getenv(EnvVar) == "1"
}

// TB is the part of testing.TB that SkipUnlessVM uses, so that recording
// fakes work too.
type TB interface {
	Helper()
	Skip(args ...any)
}

// SkipUnlessVM skips the test with SkipReason unless it runs inside the
// cgvm VM. Inside the VM it does nothing; outside, like t.Skip, it does not
// return (with a *testing.T).
func SkipUnlessVM(t TB) {
	t.Helper()
	if !InVM() {
		t.Skip(SkipReason)
	}
}
