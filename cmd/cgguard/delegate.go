package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
)

// delegateCpusetFix is how root gives users' systemd scopes the cpuset
// controller: systemd delegates to user@.service only what its Delegate=
// lists (cpu, memory and pids by default).
const delegateCpusetFix = `as root: mkdir -p /etc/systemd/system/user@.service.d && ` +
	`printf '[Service]\nDelegate=cpu cpuset io memory pids\n' > /etc/systemd/system/user@.service.d/delegate.conf && ` +
	`systemctl daemon-reload, then log in again`

// delegation is what doctor found about delegation for a user without
// root: the delegated cgroup that holds doctor (d, when err is nil), and
// what the user's systemd would hand a new scope.
type delegation struct {
	uid int
	// d is the delegated cgroup doctor runs in; err says why there is
	// none (not delegated, or unreadable).
	d   cgtest.Delegation
	err error
	// userManager is the cgroup of user@<uid>.service and its
	// cgroup.controllers (nil when it does not exist or is unreadable):
	// at most what a scope made by systemd-run --user gets.
	userManager     string
	userControllers []string
}

// findDelegation gathers the facts of delegation for doctor, changing
// nothing. It returns false for root, who needs no delegation.
func findDelegation(caps cgroupfs.Capabilities) (delegation, bool) {
	if caps.Root || caps.Mountpoint == "" {
		return delegation{}, false
	}
	dl := delegation{uid: os.Geteuid()}
	if caps.Delegated {
		dl.d, dl.err = cgtest.InspectDelegation(caps.Parent)
	} else {
		dl.err = fmt.Errorf("%s is not delegated to uid %d", caps.Parent, dl.uid)
	}
	dl.userManager = filepath.Join(caps.Mountpoint, "user.slice", "user-"+strconv.Itoa(dl.uid)+".slice", "user@"+strconv.Itoa(dl.uid)+".service")
	if data, err := os.ReadFile(filepath.Join(dl.userManager, "cgroup.controllers")); err == nil {
		dl.userControllers = strings.Fields(string(data))
	}
	return dl, true
}

// checks reports the delegated cgroup, the other processes in it, and the
// controllers per-test roots will get there; without delegation, what a
// scope of systemd-run --user would get, and the command.
func (dl delegation) checks() []check {
	var out []check
	if dl.err != nil {
		c := check{Section: secHost, Name: "delegated cgroup", Status: statusWarn,
			Detail: "none: " + dl.err.Error(), Fix: cgroupfs.DelegateCommand}
		out = append(out, c)
	} else {
		d := dl.d
		out = append(out, check{Section: secHost, Name: "delegated cgroup", Status: statusOK,
			Detail: fmt.Sprintf("%s, delegated to uid %d: offers %q, enables %q for its children", d.Dir, dl.uid, strings.Join(d.Offered, " "), strings.Join(d.Enabled, " "))})
		c := check{Section: secHost, Name: "other processes"}
		switch {
		case len(d.Others) == 0:
			c.Status, c.Detail = statusOK, "none: a test process moves into a leaf of its own (cgtest.LeafName) and enables every controller offered here"
		case len(d.Missing()) == 0:
			c.Status, c.Detail = statusOK, fmt.Sprintf("pids %v, but every controller is enabled already", d.Others)
		default:
			c.Status, c.Detail = statusWarn, d.Advice()
			c.Fix = cgroupfs.DelegateCommand
		}
		out = append(out, c)
		out = append(out, check{Section: secHost, Name: "per-test roots get", Status: statusInfo,
			Detail: fmt.Sprintf("%q (in %s)", strings.Join(d.Controllers(), " "), d.Dir)})
	}
	c := check{Section: secHost, Name: "user manager"}
	switch {
	case dl.userControllers == nil:
		c.Status, c.Detail = statusInfo, fmt.Sprintf("%s not found: no systemd user manager to delegate a scope, so systemd-run --user cannot help here; run as root or in the VM runner", dl.userManager)
	case !slices.Contains(dl.userControllers, "cpuset"):
		c.Status = statusWarn
		c.Detail = fmt.Sprintf("a scope of %s gets at most %q from user@%d.service: no cpuset, so tests that need it skip", cgroupfs.DelegateCommand, strings.Join(dl.userControllers, " "), dl.uid)
		c.Fix = delegateCpusetFix
	default:
		c.Status = statusOK
		c.Detail = fmt.Sprintf("a scope of %s gets at most %q from user@%d.service", cgroupfs.DelegateCommand, strings.Join(dl.userControllers, " "), dl.uid)
	}
	return append(out, c)
}

// cpusetCheck is the "cpuset" line for a user without root: whether
// per-test roots in the delegated cgroup get it, and if not, why and
// how to get it; the general line is written for root.
func (dl delegation) cpusetCheck() check {
	c := check{Section: secHost, Name: "cpuset"}
	d := dl.d
	switch {
	case dl.err != nil:
		c.Status, c.Detail = statusWarn, fmt.Sprintf("no cgroup is delegated to uid %d here, so no per-test root can be made: tests that need cpuset skip, as all real cgroup tests do", dl.uid)
		c.Fix = cgroupfs.DelegateCommand
		if dl.userControllers != nil && !slices.Contains(dl.userControllers, "cpuset") {
			c.Fix += "; for cpuset in such a scope, " + delegateCpusetFix
		}
	case slices.Contains(d.Controllers(), "cpuset"):
		c.Status, c.Detail = statusOK, "per-test roots in the delegated cgroup "+d.Dir+" get it: groups can pin CPUs"
	case slices.Contains(d.Offered, "cpuset"):
		c.Status, c.Detail = statusWarn, "offered to "+d.Dir+", but other processes there keep it from being enabled: tests that need cpuset skip"
		c.Fix = cgroupfs.DelegateCommand
	default:
		c.Status, c.Detail = statusWarn, "not delegated to "+d.Dir+": tests that need cpuset skip"
		c.Fix = delegateCpusetFix + "; or " + vmHint
	}
	return c
}

// sweepRootOutsideLeaf returns the delegated cgroup when dir is the leaf
// this process moved into (see cgtest.LeafName): per-test roots, and the
// leaves of dead runs, are beside it.
func sweepRootOutsideLeaf(dir string) string {
	if self, err := cgtest.Self(); err == nil && filepath.Base(dir) == cgtest.LeafName(self) {
		return filepath.Dir(dir)
	}
	return dir
}
