package cgroupfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// Real-looking /proc/self/mountinfo contents.
const (
	// This machine kind: systemd hybrid mode.
	mountinfoHybrid = `22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
23 28 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw
28 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
31 22 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
32 31 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
33 31 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
34 31 0:31 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory
`
	// Debian 12 / Fedora: pure v2.
	mountinfoPureV2 = `23 29 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
29 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`
	// CentOS 7: cgroup v1 only.
	mountinfoV1Only = `18 60 0:17 / /sys rw,nosuid,nodev,noexec,relatime shared:6 - sysfs sysfs rw
24 18 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:7 - tmpfs tmpfs ro,mode=755
25 24 0:21 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:8 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
28 24 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct
`
	// A docker container with a private cgroup namespace, read-only.
	mountinfoContainer = `600 580 0:52 / / rw,relatime master:297 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X:/var/lib/docker/overlay2/l/Y
607 605 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup ro,nsdelegate
`
	// No optional fields, and paths with escaped space, tab, newline and
	// backslash.
	mountinfoWeird = `40 23 0:40 / /mnt/my\040cgroups rw,relatime - cgroup2 none rw
41 23 0:40 /sub\011dir /mnt/tab\011and\012nl\134x rw,relatime shared:3 master:4 - cgroup2 none rw
42 23 0:41 / /mnt/not\040cgroup rw - tmpfs none rw
`
)

func TestParseMountInfo(t *testing.T) {
	tests := []struct {
		desc    string
		in      string
		want    []Mount
		wantErr string
	}{
		{desc: "hybrid", in: mountinfoHybrid, want: []Mount{{Point: "/sys/fs/cgroup/unified", Root: "/"}}},
		{desc: "pure v2", in: mountinfoPureV2, want: []Mount{{Point: "/sys/fs/cgroup", Root: "/"}}},
		{desc: "v1 only", in: mountinfoV1Only},
		{desc: "empty", in: ""},
		{desc: "container read-only", in: mountinfoContainer, want: []Mount{{Point: "/sys/fs/cgroup", Root: "/", ReadOnly: true}}},
		{desc: "escaped paths", in: mountinfoWeird, want: []Mount{
			{Point: "/mnt/my cgroups", Root: "/"},
			{Point: "/mnt/tab\tand\nnl\\x", Root: "/sub\tdir"},
		}},
		{desc: "blank lines", in: "\n" + mountinfoPureV2 + "\n\n", want: []Mount{{Point: "/sys/fs/cgroup", Root: "/"}}},
		{desc: "no separator", in: "26 22 0:23 / /sys/fs/cgroup rw cgroup2 cgroup2 rw\n", wantErr: "line 1 is malformed"},
		{desc: "too short", in: mountinfoPureV2 + "26 - cgroup2\n", wantErr: "line 4 is malformed"},
		{desc: "separator last", in: "26 22 0:23 / /sys/fs/cgroup rw -\n", wantErr: "line 1 is malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := ParseMountInfo(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseMountInfo = %v, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(got, tc.want), "ParseMountInfo")
		})
	}
}

func TestUnescapeMountInfo(t *testing.T) {
	for in, want := range map[string]string{
		`/plain`:       "/plain",
		`/a\040b`:      "/a b",
		`/end\040`:     "/end ",
		`/short\04`:    `/short\04`,
		`/notoctal\08`: `/notoctal\08`,
		`\134\134`:     `\\`,
		`\`:            `\`,
	} {
		if got := unescapeMountInfo(in); got != want {
			t.Errorf("unescapeMountInfo(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPickMount(t *testing.T) {
	tests := []struct {
		desc    string
		mounts  []Mount
		want    string
		wantErr error
	}{
		{"none", nil, "", ErrNoCgroup2},
		{"one", []Mount{{Point: "/mnt/x", Root: "/"}}, "/mnt/x", nil},
		{"hybrid beats odd place", []Mount{{Point: "/mnt/x", Root: "/"}, {Point: "/sys/fs/cgroup/unified", Root: "/"}}, "/sys/fs/cgroup/unified", nil},
		{"writable beats read-only", []Mount{{Point: "/sys/fs/cgroup", Root: "/", ReadOnly: true}, {Point: "/mnt/x", Root: "/"}}, "/mnt/x", nil},
		{"whole hierarchy beats a subtree", []Mount{{Point: "/sys/fs/cgroup", Root: "/sub"}, {Point: "/mnt/x", Root: "/"}}, "/mnt/x", nil},
		{"tie keeps first", []Mount{{Point: "/mnt/a", Root: "/"}, {Point: "/mnt/b", Root: "/"}}, "/mnt/a", nil},
		{"over-mount hides", []Mount{{Point: "/sys/fs/cgroup", Root: "/"}, {Point: "/sys/fs/cgroup", Root: "/", ReadOnly: true}}, "/sys/fs/cgroup", nil},
	}
	for _, tc := range tests {
		got, err := pickMount(tc.mounts)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), "mount -t cgroup2") {
				t.Errorf("%s: pickMount error %v, want %v saying how to mount cgroup2", tc.desc, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got.Point != tc.want {
			t.Errorf("%s: pickMount = %+v, %v; want %s", tc.desc, got, err, tc.want)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	tests := []struct {
		desc    string
		in      string
		want    string
		wantErr string
	}{
		{desc: "hybrid", in: "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/31c2\n1:cpu:/\n0::/\n", want: "/"},
		{desc: "pure v2 session", in: "0::/user.slice/user-1000.slice/session-2.scope\n", want: "/user.slice/user-1000.slice/session-2.scope"},
		{desc: "no trailing newline", in: "0::/system.slice/docker.service", want: "/system.slice/docker.service"},
		{desc: "colon in path", in: "0::/a:b/c\n", want: "/a:b/c"},
		{desc: "space in path", in: "0::/my app.scope\n", want: "/my app.scope"},
		{desc: "v1 only", in: "11:cpuset:/\n1:name=systemd:/user.slice\n", wantErr: "no \"0::\" line"},
		{desc: "empty", in: "", wantErr: "no \"0::\" line"},
		{desc: "deleted", in: "0::/gone (deleted)\n", wantErr: "has been removed"},
		{desc: "relative", in: "0::oops\n", wantErr: "no absolute path"},
	}
	for _, tc := range tests {
		got, err := ParseProcCgroup(strings.NewReader(tc.in))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: ParseProcCgroup = %q, %v; want an error containing %q", tc.desc, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: ParseProcCgroup = %q, %v; want %q", tc.desc, got, err, tc.want)
		}
	}
	_, err := ParseProcCgroup(strings.NewReader("1:cpu:/\n"))
	if !errors.Is(err, ErrNoCgroup2) {
		t.Errorf("v1-only error %v does not wrap ErrNoCgroup2", err)
	}
}

func TestMayCreate(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown a test directory to another uid: run with sudo")
	}
	const owner, stranger = 4242, 4343
	dir := t.TempDir()
	for _, f := range []string{"cgroup.procs", "cgroup.subtree_control"} {
		assert.NilError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o644))
	}
	chownAll := func(uid int, files ...string) {
		t.Helper()
		for _, f := range files {
			assert.NilError(t, os.Chown(filepath.Join(dir, f), uid, -1))
		}
	}
	chownAll(owner, ".", "cgroup.procs", "cgroup.subtree_control")

	// Faccessat checks our own (root) credentials, so only the
	// ownership half differs between these cases.
	if delegated, can, reason := mayCreate(dir, owner); !delegated || !can || reason != "" {
		t.Errorf("owner: delegated %v, can %v, reason %q; want true, true, \"\"", delegated, can, reason)
	}
	if delegated, can, reason := mayCreate(dir, 0); delegated || !can || reason != "" {
		t.Errorf("root: delegated %v, can %v, reason %q; want false, true, \"\"", delegated, can, reason)
	}
	delegated, can, reason := mayCreate(dir, stranger)
	if delegated || can {
		t.Errorf("stranger: delegated %v, can %v; want false, false", delegated, can)
	}
	for _, s := range []string{"Delegate=yes", "owned by uid 4242", "uid 4343"} {
		if !strings.Contains(reason, s) {
			t.Errorf("stranger: reason does not mention %q: %s", s, reason)
		}
	}
	// Owning the directory but not cgroup.procs is no delegation.
	chownAll(stranger, ".", "cgroup.subtree_control")
	if _, can, reason := mayCreate(dir, stranger); can || !strings.Contains(reason, "cgroup.procs") {
		t.Errorf("half-delegated: can %v, reason %q; want false naming cgroup.procs", can, reason)
	}
	if _, can, reason := mayCreate(filepath.Join(dir, "nope"), stranger); can || !strings.Contains(reason, "cannot check") {
		t.Errorf("missing dir: can %v, reason %q", can, reason)
	}
}
