package cgroupfstest

import (
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
)

// noSuchPid is a pid no kernel hands out (above PID_MAX_LIMIT) and no
// fake would reach: writing it must give ESRCH, not EINVAL (it fits in
// an int).
const noSuchPid = "2147483647"

// scenarios lists every conformance check, in the order they run. The
// expectations were measured on Linux 6.18 (host) and a Debian kernel in
// a VM; see the reference notes of the project.
var scenarios = []scenario{
	{name: "files/fresh-child", run: freshChild},
	{name: "mkdir/errors", run: mkdirErrors},
	{name: "mkdir/limits", run: mkdirLimits},
	{name: "rmdir/errors", run: rmdirErrors},
	{name: "write/generic", run: writeGeneric},
	{name: "subtree_control/parse", run: subtreeParse},
	{name: "subtree_control/files-follow", run: subtreeFilesFollow},
	{name: "subtree_control/order", run: subtreeOrder},
	{name: "subtree_control/no-internal-process", needTasks: true, run: noInternalProcess},
	{name: "subtree_control/threaded-allows-tasks", needTasks: true, run: threadedAllowsTasks},
	{name: "threaded", run: threadedMode},
	{name: "threaded/tasks", needTasks: true, run: threadedTasks},
	{name: "procs/move", needTasks: true, run: procsMove},
	{name: "procs/parse", needTasks: true, run: procsParse},
	{name: "events/populated", needTasks: true, run: eventsPopulated},
	{name: "events/watch-closes-on-rmdir", run: watchClosesOnRmdir},
	{name: "kill", needTasks: true, run: killScenario},
	{name: "freeze", run: freezeScenario},
	{name: "freeze/tasks", needTasks: true, run: freezeTasks},
	{name: "cpuset/cpus", run: cpusetCpus},
	{name: "cpuset/mems", run: cpusetMems},
	{name: "cpuset/clear-populated", needTasks: true, run: cpusetClearPopulated},
}

// coreFiles are the files every non-root cgroup has, with their modes.
var coreFiles = map[string]fs.FileMode{
	"cgroup.controllers":     0o444,
	"cgroup.events":          0o444,
	"cgroup.freeze":          0o644,
	"cgroup.kill":            0o200,
	"cgroup.max.depth":       0o644,
	"cgroup.max.descendants": 0o644,
	"cgroup.procs":           0o644,
	"cgroup.stat":            0o444,
	"cgroup.subtree_control": 0o644,
	"cgroup.threads":         0o644,
	"cgroup.type":            0o644,
}

func freshChild(x *ctx) {
	x.mkdir(x.dir)
	list := x.listing(".")
	if mode, ok := list[x.dir+"/"]; !ok {
		x.Errorf("readdir .: the new cgroup %s is missing or not a directory (entries %v)", x.dir, keys(list))
	} else if !mode.IsDir() {
		x.Errorf("readdir .: %s has mode %v, want a directory", x.dir, mode)
	}
	list = x.listing(x.dir)
	for name, want := range coreFiles {
		mode, ok := list[name]
		switch {
		case !ok:
			x.Errorf("readdir %s: interface file %s is missing", x.dir, name)
		case mode.Perm() != want:
			x.Errorf("readdir %s: %s has mode %v, the kernel gives %v", x.dir, name, mode.Perm(), want)
		case !mode.IsRegular():
			x.Errorf("readdir %s: %s has mode %v, want a regular file", x.dir, name, mode)
		}
	}
	x.content(x.p("cgroup.events"), "populated 0\nfrozen 0\n")
	x.content(x.p("cgroup.freeze"), "0\n")
	x.content(x.p("cgroup.max.depth"), "max\n")
	x.content(x.p("cgroup.max.descendants"), "max\n")
	x.content(x.p("cgroup.procs"), "")
	x.content(x.p("cgroup.threads"), "")
	x.content(x.p("cgroup.subtree_control"), "")
	x.content(x.p("cgroup.type"), "domain\n")
	// A child offers what its parent's subtree_control enables.
	x.content(x.p("cgroup.controllers"), x.read("cgroup.subtree_control"))
	if stat := x.read(x.p("cgroup.stat")); !hasLine([]byte(stat), "nr_descendants 0") {
		x.Errorf("read %s: %q lacks the line \"nr_descendants 0\"", x.p("cgroup.stat"), stat)
	}
	_, err := x.fsys.ReadFile(x.p("cgroup.kill"))
	x.gotErr("read the write-only "+x.p("cgroup.kill"), err, unix.EINVAL)
	_, err = x.fsys.ReadFile(x.dir)
	x.gotErr("read the cgroup directory "+x.dir, err, unix.EISDIR)
	_, err = x.fsys.ReadDir(x.p("cgroup.procs"))
	x.gotErr("readdir the file "+x.p("cgroup.procs"), err, unix.ENOTDIR)
	_, err = x.fsys.ReadDir(x.p("missing"))
	x.gotErr("readdir the missing "+x.p("missing"), err, unix.ENOENT)
}

func keys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func mkdirErrors(x *ctx) {
	x.mkdir(x.dir)
	x.gotErr("mkdir the existing "+x.dir, x.fsys.Mkdir(x.dir), unix.EEXIST)
	x.gotErr("mkdir "+x.p("missing/child")+" (parent missing)", x.fsys.Mkdir(x.p("missing/child")), unix.ENOENT)
	x.gotErr("mkdir "+x.p("cgroup.procs")+" (named like an interface file)", x.fsys.Mkdir(x.p("cgroup.procs")), unix.EEXIST)
	x.gotErr("mkdir "+x.p("cgroup.procs/x")+" (parent is a file)", x.fsys.Mkdir(x.p("cgroup.procs/x")), unix.ENOTDIR)
	x.gotErr("mkdir a name holding a newline", x.fsys.Mkdir(x.p("a\nb")), unix.EINVAL)
	// A name that is not an interface file here is a fine cgroup name.
	x.mkdir(x.p("cpu.weight"))
	x.mkdir(x.p("child"))
	x.content(x.p("cgroup.stat"), x.read(x.p("cgroup.stat"))) // readable with children
	if stat := x.read(x.p("cgroup.stat")); !hasLine([]byte(stat), "nr_descendants 2") {
		x.Errorf("read %s: %q lacks the line \"nr_descendants 2\"", x.p("cgroup.stat"), stat)
	}
}

func mkdirLimits(x *ctx) {
	x.mkdir(x.dir)
	depth := x.p("cgroup.max.depth")
	desc := x.p("cgroup.max.descendants")
	for _, c := range []struct {
		data string
		want unix.Errno
	}{{"-1", unix.ERANGE}, {"abc", unix.EINVAL}, {"max x", unix.EINVAL}, {"2147483648", unix.ERANGE}, {"1 1", unix.EINVAL}} {
		x.write(depth, c.data, c.want)
		x.write(desc, c.data, c.want)
	}
	x.content(depth, "max\n")
	x.write(depth, "0x3", 0) // kstrtoint base 0
	x.content(depth, "3\n")
	x.write(depth, " max\n", 0)
	x.content(depth, "max\n")

	x.write(depth, "1", 0)
	x.mkdir(x.p("a"))
	x.gotErr("mkdir "+x.p("a/b")+" beyond cgroup.max.depth 1", x.fsys.Mkdir(x.p("a/b")), unix.EAGAIN)
	x.write(depth, "max", 0)
	x.write(desc, "1", 0)
	x.gotErr("mkdir "+x.p("b")+" beyond cgroup.max.descendants 1", x.fsys.Mkdir(x.p("b")), unix.EAGAIN)
	x.gotErr("mkdir "+x.p("a/b")+" beyond cgroup.max.descendants 1 of the grandparent", x.fsys.Mkdir(x.p("a/b")), unix.EAGAIN)
	x.write(desc, "max", 0)
	x.content(desc, "max\n")
	x.mkdir(x.p("b"))
}

func rmdirErrors(x *ctx) {
	x.mkdir(x.dir)
	x.mkdir(x.p("child"))
	x.gotErr("rmdir "+x.dir+" with a child cgroup", x.fsys.Rmdir(x.dir), unix.EBUSY)
	x.gotErr("rmdir the missing "+x.p("missing"), x.fsys.Rmdir(x.p("missing")), unix.ENOENT)
	x.gotErr("rmdir the interface file "+x.p("cgroup.procs"), x.fsys.Rmdir(x.p("cgroup.procs")), unix.ENOTDIR)
	if x.gotErr("rmdir the empty leaf "+x.p("child"), x.fsys.Rmdir(x.p("child")), 0) {
		_, err := x.fsys.ReadFile(x.p("child/cgroup.procs"))
		x.gotErr("read a file of the removed "+x.p("child"), err, unix.ENOENT)
		x.gotErr("rmdir the removed "+x.p("child")+" again", x.fsys.Rmdir(x.p("child")), unix.ENOENT)
	}
}

func writeGeneric(x *ctx) {
	x.mkdir(x.dir)
	for _, f := range []string{"cgroup.controllers", "cgroup.events", "cgroup.stat"} {
		x.write(x.p(f), "x", unix.EINVAL)
	}
	x.write(x.p("cgroup.type"), "domain", unix.EINVAL)
	x.write(x.p("cgroup.type"), "bogus", unix.EINVAL)
	x.write(x.p("cgroup.nosuch"), "1", unix.ENOENT)
	x.write(x.p("missing/cgroup.procs"), "1", unix.ENOENT)
	x.write(x.dir, "1", unix.EISDIR)
	// A zero-length write reaches the kernel, which ignores it even for
	// files that reject every other write.
	for _, f := range []string{"cgroup.procs", "cgroup.events", "cgroup.kill", "cgroup.subtree_control", "cgroup.freeze", "cgroup.max.depth"} {
		x.write(x.p(f), "", 0)
	}
	x.content(x.p("cgroup.events"), "populated 0\nfrozen 0\n")
	// Longer than a page: kernfs refuses the write as a whole.
	x.write(x.p("cgroup.procs"), strings.Repeat(" ", 5000)+noSuchPid, unix.E2BIG)
	x.write(x.p("cgroup.subtree_control"), strings.Repeat(" ", 5000), unix.E2BIG)
	x.write(x.p("cgroup.procs"), strings.Repeat(" ", 4000)+noSuchPid, unix.ESRCH)
}

func subtreeParse(x *ctx) {
	x.mkdir(x.dir)
	sc := x.p("cgroup.subtree_control")
	for _, c := range []struct {
		data string
		want unix.Errno
	}{
		{"+bogus", unix.EINVAL},
		{"+cpuacct", unix.EINVAL},    // v1 only
		{"+devices", unix.EINVAL},    // v1 only
		{"+freezer", unix.EINVAL},    // v1 only
		{"cpuset", unix.EINVAL},      // no sign
		{"+", unix.EINVAL},           // no name
		{"++cpuset", unix.EINVAL},    // name "+cpuset"
		{"+perf_event", unix.ENOENT}, // implicit: never listed, never enabled
		{" ", 0},
		{"\n", 0},
		{"-memory", 0}, // disabling what is not enabled is a no-op
	} {
		x.write(sc, c.data, c.want)
	}
	// A known controller the cgroup's cgroup.controllers does not offer.
	offered := strings.Fields(x.read(x.p("cgroup.controllers")))
	for _, c := range []string{"cpuset", "cpu", "io", "memory", "hugetlb", "pids"} {
		if !slices.Contains(offered, c) {
			x.write(sc, "+"+c, unix.ENOENT)
			break
		}
	}
	x.content(sc, "")
	if len(x.rootCtrls) == 0 {
		return
	}
	// The whole write is validated before anything changes.
	ctrl := x.rootCtrls[0]
	x.write("cgroup.subtree_control", "+"+ctrl+" +bogus", unix.EINVAL)
	if got := strings.Fields(x.read("cgroup.subtree_control")); slices.Contains(got, ctrl) {
		x.Errorf("write %q to cgroup.subtree_control of the root failed but enabled %s anyway: the kernel validates the whole write first", "+"+ctrl+" +bogus", ctrl)
		x.enabled = append(x.enabled, ctrl)
	}
}

func subtreeFilesFollow(x *ctx) {
	if len(x.rootCtrls) == 0 {
		x.Skipf("needs a controller in cgroup.controllers of the FS root, which is empty: enable one in the parent's cgroup.subtree_control, or run in the VM (go test -exec 'go run ./cmd/cgvm')")
	}
	ctrl := x.rootCtrls[0]
	for _, c := range x.rootCtrls {
		if c == "cpuset" || c == "pids" || c == "memory" {
			ctrl = c // controllers with files on every non-root cgroup
			break
		}
	}
	x.mkdir(x.dir)
	x.mkdir(x.p("child"))
	ctrlFiles := func(dir string) []string {
		var out []string
		for name := range x.listing(dir) {
			if strings.HasPrefix(name, ctrl+".") && !strings.HasSuffix(name, ".pressure") {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out
	}
	if files := ctrlFiles(x.dir); len(files) > 0 {
		x.Errorf("readdir %s: %s files %v before the parent enabled %s", x.dir, ctrl, files, ctrl)
	}
	x.enableInRoot(ctrl)
	x.content(x.p("cgroup.controllers"), ctrl+"\n")
	if files := ctrlFiles(x.dir); len(files) == 0 {
		x.Errorf("readdir %s: no %s.* files after the parent enabled %s", x.dir, ctrl, ctrl)
	}
	x.content(x.p("child/cgroup.controllers"), "")
	x.write(x.p("cgroup.subtree_control"), "+"+ctrl, 0)
	x.content(x.p("cgroup.subtree_control"), ctrl+"\n")
	x.content(x.p("child/cgroup.controllers"), ctrl+"\n")
	x.write(x.p("cgroup.subtree_control"), "+"+ctrl, 0) // already enabled: no-op
	x.write("cgroup.subtree_control", "-"+ctrl, unix.EBUSY)
	x.write(x.p("cgroup.subtree_control"), "-"+ctrl, 0)
	x.content(x.p("child/cgroup.controllers"), "")
	x.write("cgroup.subtree_control", "-"+ctrl, 0)
	x.enabled = slices.DeleteFunc(x.enabled, func(c string) bool { return c == ctrl })
	if files := ctrlFiles(x.dir); len(files) > 0 {
		x.Errorf("readdir %s: %s files %v remain after the parent disabled %s", x.dir, ctrl, files, ctrl)
	}
	x.content(x.p("cgroup.controllers"), "")
}

func subtreeOrder(x *ctx) {
	// Controllers are listed in the kernel's order, whatever the order
	// of the write.
	var two []string
	for _, c := range []string{"cpuset", "cpu", "io", "memory", "hugetlb", "pids"} {
		if x.has(c) && len(two) < 2 {
			two = append(two, c)
		}
	}
	if len(two) < 2 {
		x.Skipf("needs two controllers in cgroup.controllers of the FS root, which lists %q: run in the VM (go test -exec 'go run ./cmd/cgvm')", strings.Join(x.rootCtrls, " "))
	}
	x.enableInRoot(two[0])
	x.enableInRoot(two[1])
	x.mkdir(x.dir)
	x.write(x.p("cgroup.subtree_control"), "+"+two[1]+" +"+two[0], 0)
	x.content(x.p("cgroup.subtree_control"), two[0]+" "+two[1]+"\n")
	// A later token wins over an earlier one for the same controller.
	x.write(x.p("cgroup.subtree_control"), "+"+two[1]+" -"+two[1], 0)
	x.content(x.p("cgroup.subtree_control"), two[0]+"\n")
	x.write(x.p("cgroup.subtree_control"), "-"+two[0], 0)
	x.content(x.p("cgroup.subtree_control"), "")
}

func noInternalProcess(x *ctx) {
	ctrl := x.needDomainController()
	x.enableInRoot(ctrl)
	x.mkdir(x.dir)
	pid := x.spawn(x.dir)
	// Tasks in the cgroup: it may not enable a domain controller.
	x.write(x.p("cgroup.subtree_control"), "+"+ctrl, unix.EBUSY)
	x.content(x.p("cgroup.subtree_control"), "")
	x.kill(pid)
	x.waitEvents(x.dir, "populated 0")
	// Controllers enabled: no task may join, even without children.
	x.write(x.p("cgroup.subtree_control"), "+"+ctrl, 0)
	_, err := x.cfg.tasks.Spawn(x.dir)
	if err == nil {
		x.Errorf("spawn a task into %s with %q in its cgroup.subtree_control: succeeded, the kernel gives EBUSY", x.dir, ctrl)
	} else {
		x.gotErr("spawn a task into "+x.dir+" with "+ctrl+" enabled below it", err, unix.EBUSY)
	}
	x.mkdir(x.p("leaf"))
	other := x.spawn(x.p("leaf"))
	x.write(x.p("cgroup.procs"), strconv.Itoa(other), unix.EBUSY)
	if got := x.procs(x.p("leaf")); !slices.Equal(got, []string{strconv.Itoa(other)}) {
		x.Errorf("read %s/cgroup.procs after a refused move: got %v, want [%d]", x.p("leaf"), got, other)
	}
	// The FS root is a cgroup too, unless it is the hierarchy root
	// (which has no cgroup.type and may mix tasks and controllers): with
	// a domain controller enabled below it, no task may join it.
	if _, err := x.fsys.ReadFile("cgroup.type"); err == nil {
		x.write("cgroup.procs", strconv.Itoa(other), unix.EBUSY)
	}
}

func threadedAllowsTasks(x *ctx) {
	// cpuset, cpu and pids are threaded controllers: a cgroup that could
	// become a thread root may enable them while holding tasks, and
	// accept tasks with them enabled (cgroup_vet_subtree_control_enable,
	// cgroup_migrate_vet_dst).
	var ctrl string
	for _, c := range []string{"cpuset", "cpu", "pids"} {
		if x.has(c) {
			ctrl = c
			break
		}
	}
	if ctrl == "" {
		x.Skipf("needs a threaded controller (cpuset, cpu or pids), but cgroup.controllers of the FS root lists %q: run in the VM (go test -exec 'go run ./cmd/cgvm')", strings.Join(x.rootCtrls, " "))
	}
	x.enableInRoot(ctrl)
	x.mkdir(x.dir)
	x.spawn(x.dir)
	x.write(x.p("cgroup.subtree_control"), "+"+ctrl, 0)
	x.spawn(x.dir)
	if got := len(x.procs(x.dir)); got != 2 {
		x.Errorf("read %s/cgroup.procs: %d tasks, want the 2 spawned", x.dir, got)
	}
	// Tasks plus a threaded controller make a thread root, under which
	// a new domain cgroup is invalid.
	x.content(x.p("cgroup.type"), "domain threaded\n")
	x.mkdir(x.p("child"))
	x.content(x.p("child/cgroup.type"), "domain invalid\n")
	x.write(x.p("child/cgroup.subtree_control"), "+"+ctrl, unix.EOPNOTSUPP)
	x.write(x.p("cgroup.subtree_control"), "-"+ctrl, 0)
	x.content(x.p("cgroup.type"), "domain\n")
	x.content(x.p("child/cgroup.type"), "domain\n")
}

// threadedMode checks cgroup.type without tasks: a threaded child makes
// its parent a thread root, whose domain children are invalid, and the
// parent reverts when its threaded children are gone.
func threadedMode(x *ctx) {
	x.mkdir(x.dir)
	x.mkdir(x.p("t"))
	x.mkdir(x.p("d"))
	x.write(x.p("t/cgroup.type"), "domain", unix.EINVAL)
	x.write(x.p("t/cgroup.type"), "threaded threaded", unix.EINVAL)
	x.write(x.p("t/cgroup.type"), " threaded\n", 0)
	x.write(x.p("t/cgroup.type"), "threaded", 0) // again: no-op
	x.content(x.p("t/cgroup.type"), "threaded\n")
	x.content(x.p("cgroup.type"), "domain threaded\n")
	x.content(x.p("d/cgroup.type"), "domain invalid\n")
	_, err := x.fsys.ReadFile(x.p("t/cgroup.procs"))
	x.gotErr("read cgroup.procs of the threaded "+x.p("t"), err, unix.EOPNOTSUPP)
	x.content(x.p("t/cgroup.threads"), "")
	// cgroup.kill takes whole processes down: not in a threaded cgroup.
	x.write(x.p("t/cgroup.kill"), "1", unix.EOPNOTSUPP)
	x.write(x.p("t/cgroup.kill"), "2", unix.ERANGE)
	// A domain child of a threaded cgroup is invalid too, until it is
	// made threaded.
	x.mkdir(x.p("t/x"))
	x.content(x.p("t/x/cgroup.type"), "domain invalid\n")
	x.write(x.p("t/x/cgroup.type"), "threaded", 0)
	x.content(x.p("t/x/cgroup.type"), "threaded\n")
	x.write(x.p("d/cgroup.type"), "threaded", 0)
	x.content(x.p("d/cgroup.type"), "threaded\n")
	// The parent reverts to a plain domain with its threaded children
	// gone.
	for _, d := range []string{"t/x", "t", "d"} {
		x.gotErr("rmdir "+x.p(d), x.fsys.Rmdir(x.p(d)), 0)
	}
	x.content(x.p("cgroup.type"), "domain\n")
	// A domain controller enabled below a cgroup keeps its children
	// from turning threaded.
	if ctrl := firstDomainController(x); ctrl != "" {
		x.enableInRoot(ctrl)
		x.write(x.p("cgroup.subtree_control"), "+"+ctrl, 0)
		x.mkdir(x.p("m"))
		x.write(x.p("m/cgroup.type"), "threaded", unix.EOPNOTSUPP)
		x.content(x.p("m/cgroup.type"), "domain\n")
		x.gotErr("rmdir "+x.p("m"), x.fsys.Rmdir(x.p("m")), 0)
		x.write(x.p("cgroup.subtree_control"), "-"+ctrl, 0)
	}
	// A threaded cgroup is offered only the threaded controllers its
	// parent enables.
	if x.has("cpuset") {
		x.enableInRoot("cpuset")
		x.write(x.p("cgroup.subtree_control"), "+cpuset", 0)
		x.mkdir(x.p("c"))
		x.write(x.p("c/cgroup.type"), "threaded", 0)
		x.content(x.p("c/cgroup.controllers"), "cpuset\n")
		if ctrl := firstDomainController(x); ctrl != "" {
			// The thread root may not enable domain controllers.
			x.enableInRoot(ctrl)
			x.write(x.p("cgroup.subtree_control"), "+"+ctrl, unix.EOPNOTSUPP)
		}
	}
}

// firstDomainController returns a domain controller the root offers,
// or "".
func firstDomainController(x *ctx) string {
	for _, c := range domainControllers {
		if x.has(c) {
			return c
		}
	}
	return ""
}

// threadedTasks checks where tasks may go in threaded mode.
func threadedTasks(x *ctx) {
	x.mkdir(x.dir)
	x.mkdir(x.p("root"))
	x.mkdir(x.p("root/t"))
	x.mkdir(x.p("root/u"))
	x.mkdir(x.p("root/d"))
	x.write(x.p("root/t/cgroup.type"), "threaded", 0)
	x.write(x.p("root/u/cgroup.type"), "threaded", 0)
	// An invalid domain takes no tasks.
	if _, err := x.cfg.tasks.Spawn(x.p("root/d")); err == nil {
		x.Errorf("spawn a task into the invalid domain %s: succeeded, the kernel gives EOPNOTSUPP", x.p("root/d"))
	} else {
		x.gotErr("spawn a task into the invalid domain "+x.p("root/d"), err, unix.EOPNOTSUPP)
	}
	// A process may live in a threaded cgroup; the thread root lists it.
	pid := x.spawn(x.p("root/t"))
	s := strconv.Itoa(pid)
	if got := x.procs(x.p("root")); !slices.Contains(got, s) {
		x.Errorf("read %s/cgroup.procs: %v lacks %s, whose threads are in the threaded %s", x.p("root"), got, s, x.p("root/t"))
	}
	if threads := strings.Fields(x.read(x.p("root/t/cgroup.threads"))); !slices.Contains(threads, s) {
		x.Errorf("read %s/cgroup.threads: %v lacks the main thread %s", x.p("root/t"), threads, s)
	}
	// A thread moves within its domain.
	x.write(x.p("root/u/cgroup.threads"), s, 0)
	if threads := strings.Fields(x.read(x.p("root/u/cgroup.threads"))); !slices.Contains(threads, s) {
		x.Errorf("read %s/cgroup.threads after moving thread %s there: %v", x.p("root/u"), s, threads)
	}
	if threads := strings.Fields(x.read(x.p("root/t/cgroup.threads"))); slices.Contains(threads, s) {
		x.Errorf("read %s/cgroup.threads: thread %s is still listed after it moved", x.p("root/t"), s)
	}
	// ... but not out of it.
	x.mkdir(x.p("other"))
	x.write(x.p("other/cgroup.threads"), s, unix.EOPNOTSUPP)
	// A populated cgroup cannot turn threaded.
	x.mkdir(x.p("pop"))
	x.spawn(x.p("pop"))
	x.write(x.p("pop/cgroup.type"), "threaded", unix.EOPNOTSUPP)
	// Nor can a child of a cgroup with populated domain children.
	x.mkdir(x.p("z"))
	x.write(x.p("z/cgroup.type"), "threaded", unix.EOPNOTSUPP)
	// The whole process moves back to the thread root through
	// cgroup.procs.
	x.write(x.p("root/cgroup.procs"), s, 0)
	if threads := strings.Fields(x.read(x.p("root/cgroup.threads"))); !slices.Contains(threads, s) {
		x.Errorf("read %s/cgroup.threads after moving process %s there: %v", x.p("root"), s, threads)
	}
}

func procsMove(x *ctx) {
	x.mkdir(x.dir)
	x.mkdir(x.p("a"))
	x.mkdir(x.p("b"))
	x.mkdir(x.p("c"))
	pa := x.spawn(x.p("a"))
	pb := x.spawn(x.p("b"))
	sa, sb := strconv.Itoa(pa), strconv.Itoa(pb)
	if got := x.procs(x.p("a")); !slices.Equal(got, []string{sa}) {
		x.Errorf("read %s/cgroup.procs after a spawn: got %v, want [%s]", x.p("a"), got, sa)
	}
	// Join order, not sorted: b's task joins first.
	x.write(x.p("c/cgroup.procs"), " "+sb+" \n", 0)
	x.write(x.p("c/cgroup.procs"), fmt.Sprintf("%#x", pa), 0) // base 0: hex
	if got := x.procs(x.p("c")); !slices.Equal(got, []string{sb, sa}) {
		x.Errorf("read %s/cgroup.procs: got %v, want [%s %s] (join order)", x.p("c"), got, sb, sa)
	}
	if got := x.procs(x.p("a")); len(got) != 0 {
		x.Errorf("read %s/cgroup.procs after its task moved out: got %v, want none", x.p("a"), got)
	}
	x.write(x.p("c/cgroup.procs"), sb, 0) // already there
	// cgroup.threads lists every thread; a process's main thread has its
	// pid (a real sleeper may have more threads).
	threads := strings.Fields(x.read(x.p("c/cgroup.threads")))
	for _, pid := range []string{sa, sb} {
		if !slices.Contains(threads, pid) {
			x.Errorf("read %s/cgroup.threads: %v lacks the main thread %s of a task in the cgroup", x.p("c"), threads, pid)
		}
	}
	x.content(x.p("a/cgroup.events"), "populated 0\nfrozen 0\n")
	x.content(x.p("c/cgroup.events"), "populated 1\nfrozen 0\n")
	x.content(x.p("cgroup.events"), "populated 1\nfrozen 0\n")
	x.gotErr("rmdir "+x.p("c")+" holding tasks", x.fsys.Rmdir(x.p("c")), unix.EBUSY)
	x.gotErr("rmdir "+x.dir+" with a populated child", x.fsys.Rmdir(x.dir), unix.EBUSY)
	// Moving into the test's own root works: it has no controllers
	// enabled below it during this scenario.
	x.write("cgroup.procs", sa, 0)
	x.write(x.p("a/cgroup.procs"), sa, 0)
}

func procsParse(x *ctx) {
	x.mkdir(x.dir)
	pid := x.spawn(x.dir)
	s := strconv.Itoa(pid)
	procs := x.p("cgroup.procs")
	for _, c := range []struct {
		data string
		want unix.Errno
	}{
		{s + " " + s, unix.EINVAL},
		{"abc", unix.EINVAL},
		{"-1", unix.EINVAL},
		{"99999999999999", unix.EINVAL},
		{"2147483648", unix.EINVAL},
		{"1e3", unix.EINVAL},
		{"0x", unix.EINVAL},
		{"08", unix.EINVAL}, // octal
		{" ", unix.EINVAL},
		{"\n", unix.EINVAL},
		{"\x00" + s, unix.EINVAL}, // the kernel stops at the NUL
		{noSuchPid, unix.ESRCH},
		{s + "\n\n", 0},
		{"\t" + s + "\t\n", 0},
		{"+" + s, 0},
		{s + "\x00junk", 0},
	} {
		x.write(procs, c.data, c.want)
	}
	if got := x.procs(x.dir); !slices.Equal(got, []string{s}) {
		x.Errorf("read %s: got %v, want [%s]", procs, got, s)
	}
}

func eventsPopulated(x *ctx) {
	x.mkdir(x.dir)
	x.mkdir(x.p("mid"))
	x.mkdir(x.p("mid/leaf"))
	w, err := x.fsys.Watch(x.p("cgroup.events"))
	if err != nil {
		x.Fatalf("watch %s: %v", x.p("cgroup.events"), err)
	}
	defer w.Close()
	pid := x.spawn(x.p("mid/leaf"))
	// The change two levels down is the top cgroup's change too.
	select {
	case <-w.Events():
	case <-time.After(x.cfg.timeout):
		x.Errorf("watch %s: no event within %v after a task was placed two levels below", x.p("cgroup.events"), x.cfg.timeout)
	}
	for _, d := range []string{x.dir, x.p("mid"), x.p("mid/leaf")} {
		x.content(d+"/cgroup.events", "populated 1\nfrozen 0\n")
	}
	x.gotErr("rmdir "+x.p("mid/leaf")+" holding a task", x.fsys.Rmdir(x.p("mid/leaf")), unix.EBUSY)
	x.kill(pid)
	if x.waitEvents(x.dir, "populated 0") {
		x.content(x.p("mid/leaf/cgroup.events"), "populated 0\nfrozen 0\n")
		x.gotErr("rmdir "+x.p("mid/leaf")+" after its task ended", x.fsys.Rmdir(x.p("mid/leaf")), 0)
	}
	_, err = x.fsys.Watch(x.p("missing/cgroup.events"))
	x.gotErr("watch a file of a missing cgroup", err, unix.ENOENT)
	_, err = x.cfg.tasks.Spawn(x.p("missing"))
	x.gotErr("spawn a task into the missing "+x.p("missing"), err, unix.ENOENT)
}

func watchClosesOnRmdir(x *ctx) {
	x.mkdir(x.dir)
	// Close closes the channel.
	closed, err := x.fsys.Watch(x.p("cgroup.events"))
	if err != nil {
		x.Fatalf("watch %s: %v", x.p("cgroup.events"), err)
	}
	if err := closed.Close(); err != nil {
		x.Errorf("close the watcher of %s: %v", x.p("cgroup.events"), err)
	}
	select {
	case _, ok := <-closed.Events():
		if ok {
			// One pending event may remain; the next receive must
			// see the close.
			if _, ok := <-closed.Events(); ok {
				x.Errorf("watch %s: channel still delivers after Close", x.p("cgroup.events"))
			}
		}
	case <-time.After(x.cfg.timeout):
		x.Errorf("watch %s: channel still open %v after Close", x.p("cgroup.events"), x.cfg.timeout)
	}
	x.mkdir(x.p("gone"))
	w, err := x.fsys.Watch(x.p("gone/cgroup.events"))
	if err != nil {
		x.Fatalf("watch %s: %v", x.p("gone/cgroup.events"), err)
	}
	defer w.Close()
	if err := x.fsys.Rmdir(x.p("gone")); err != nil {
		x.Fatalf("rmdir %s: %v", x.p("gone"), err)
	}
	deadline := time.After(x.cfg.timeout)
	for {
		select {
		case _, ok := <-w.Events():
			if ok {
				continue // a last event may come before the close
			}
			return
		case <-deadline:
			x.Errorf("watch %s: channel still open %v after the cgroup was removed", x.p("gone/cgroup.events"), x.cfg.timeout)
			return
		}
	}
}

func killScenario(x *ctx) {
	x.mkdir(x.dir)
	x.mkdir(x.p("empty"))
	for _, c := range []struct {
		data string
		want unix.Errno
	}{{"0", unix.ERANGE}, {"2", unix.ERANGE}, {"-1", unix.ERANGE}, {"abc", unix.EINVAL}, {"1 1", unix.EINVAL}} {
		x.write(x.p("empty/cgroup.kill"), c.data, c.want)
	}
	x.write(x.p("empty/cgroup.kill"), "1\n", 0) // an empty cgroup is fine
	x.mkdir(x.p("full"))
	x.mkdir(x.p("full/sub"))
	x.spawn(x.p("full"))
	x.spawn(x.p("full/sub"))
	x.spawn(x.p("full/sub"))
	x.write(x.p("full/cgroup.kill"), "1", 0)
	if x.waitEvents(x.p("full"), "populated 0") {
		if got := x.procs(x.p("full/sub")); len(got) != 0 {
			x.Errorf("read %s/cgroup.procs after cgroup.kill of the parent: got %v, want none", x.p("full/sub"), got)
		}
	}
}

func freezeScenario(x *ctx) {
	x.mkdir(x.dir)
	fz := x.p("cgroup.freeze")
	for _, c := range []struct {
		data string
		want unix.Errno
	}{{"2", unix.ERANGE}, {"-1", unix.ERANGE}, {"max", unix.EINVAL}, {"1 1", unix.EINVAL}} {
		x.write(fz, c.data, c.want)
	}
	x.content(fz, "0\n")
	x.write(fz, " 1\n", 0)
	x.content(fz, "1\n")
	x.waitEvents(x.dir, "frozen 1")
	// A child made inside a frozen cgroup is frozen, with its own
	// cgroup.freeze still 0.
	x.mkdir(x.p("child"))
	x.content(x.p("child/cgroup.freeze"), "0\n")
	x.waitEvents(x.p("child"), "frozen 1")
	x.write(fz, "0", 0)
	x.waitEvents(x.dir, "frozen 0")
	x.waitEvents(x.p("child"), "frozen 0")
}

func freezeTasks(x *ctx) {
	x.mkdir(x.dir)
	pid := x.spawn(x.dir)
	x.write(x.p("cgroup.freeze"), "1", 0)
	x.waitEvents(x.dir, "frozen 1")
	x.content(x.p("cgroup.events"), "populated 1\nfrozen 1\n")
	// A frozen task still dies when killed.
	x.kill(pid)
	x.waitEvents(x.dir, "populated 0")
	x.write(x.p("cgroup.freeze"), "0", 0)
}

func cpusetCpus(x *ctx) {
	x.needController("cpuset")
	x.enableInRoot("cpuset")
	x.mkdir(x.dir)
	cpus := x.p("cpuset.cpus")
	rootEff := x.read("cpuset.cpus.effective")
	x.content(cpus, "\n")
	x.content(x.p("cpuset.cpus.effective"), rootEff)
	ids := strings.Split(strings.TrimSpace(rootEff), ",")
	first, _, _ := strings.Cut(ids[0], "-")
	for _, c := range []struct {
		data string
		want unix.Errno
	}{{"abc", unix.EINVAL}, {"0-65535", unix.ERANGE}, {"65535", unix.ERANGE}, {"3-1", unix.EINVAL}, {"0-", unix.EINVAL}, {"0,,x", unix.EINVAL}} {
		x.write(cpus, c.data, c.want)
	}
	x.content(cpus, "\n")
	x.write(cpus, first+"\n", 0)
	x.content(cpus, first+"\n")
	x.content(x.p("cpuset.cpus.effective"), first+"\n")
	x.write(cpus, "", 0) // ignored: an empty write never clears
	x.content(cpus, first+"\n")
	// A child's effective CPUs are its own within the parent's.
	x.write(x.p("cgroup.subtree_control"), "+cpuset", 0)
	x.mkdir(x.p("child"))
	x.content(x.p("child/cpuset.cpus.effective"), first+"\n")
	x.write(x.p("child/cpuset.cpus"), strings.TrimSpace(rootEff), 0)
	x.content(x.p("child/cpuset.cpus.effective"), first+"\n")
	// Disjoint from the parent: the child falls back to the parent's.
	if second := secondCPU(rootEff, first); second != "" {
		x.write(x.p("child/cpuset.cpus"), second, 0)
		x.content(x.p("child/cpuset.cpus"), second+"\n")
		x.content(x.p("child/cpuset.cpus.effective"), first+"\n")
	}
	x.write(cpus, "\n", 0) // clears: inherit the parent's
	x.content(cpus, "\n")
	x.content(x.p("cpuset.cpus.effective"), rootEff)
	if second := secondCPU(rootEff, first); second != "" {
		x.content(x.p("child/cpuset.cpus.effective"), second+"\n")
	} else {
		x.content(x.p("child/cpuset.cpus.effective"), rootEff)
	}
}

// secondCPU returns a CPU of the list other than first, or "".
func secondCPU(list, first string) string {
	set, err := cgroupfs.ParseCPUSet(list)
	if err != nil {
		return ""
	}
	for _, id := range set.IDs() {
		if s := strconv.Itoa(id); s != first {
			return s
		}
	}
	return ""
}

func cpusetMems(x *ctx) {
	x.needController("cpuset")
	x.enableInRoot("cpuset")
	x.mkdir(x.dir)
	mems := x.p("cpuset.mems")
	rootEff := x.read("cpuset.mems.effective")
	x.content(mems, "\n")
	x.content(x.p("cpuset.mems.effective"), rootEff)
	first, _, _ := strings.Cut(strings.Split(strings.TrimSpace(rootEff), ",")[0], "-")
	x.write(mems, "abc", unix.EINVAL)
	x.write(mems, "0-65535", unix.ERANGE)
	x.write(mems, first, 0)
	x.content(mems, first+"\n")
	x.content(x.p("cpuset.mems.effective"), first+"\n")
	x.write(mems, "\n", 0)
	x.content(mems, "\n")
	x.content(x.p("cpuset.mems.effective"), rootEff)
}

// cpusetClearPopulated: a cpuset holding tasks (itself or below) cannot
// go from some CPUs or nodes to none, even though an empty set means
// "inherit" on cgroup v2 (validate_change: ENOSPC).
func cpusetClearPopulated(x *ctx) {
	x.needController("cpuset")
	x.enableInRoot("cpuset")
	x.mkdir(x.dir)
	first, _, _ := strings.Cut(strings.Split(strings.TrimSpace(x.read("cpuset.cpus.effective")), ",")[0], "-")
	mem, _, _ := strings.Cut(strings.Split(strings.TrimSpace(x.read("cpuset.mems.effective")), ",")[0], "-")
	x.write(x.p("cpuset.cpus"), first, 0)
	x.write(x.p("cpuset.mems"), mem, 0)
	x.mkdir(x.p("leaf"))
	pid := x.spawn(x.p("leaf"))
	x.write(x.p("cpuset.cpus"), "\n", unix.ENOSPC)
	x.write(x.p("cpuset.mems"), "\n", unix.ENOSPC)
	x.content(x.p("cpuset.cpus"), first+"\n")
	x.kill(pid)
	x.waitEvents(x.dir, "populated 0")
	x.write(x.p("cpuset.cpus"), "\n", 0)
	x.write(x.p("cpuset.mems"), "\n", 0)
	x.content(x.p("cpuset.cpus"), "\n")
}
