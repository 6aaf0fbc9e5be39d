package cgroupfs

import (
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
				assert.ErrorContains(t, err, tc.wantErr, "ParseMountInfo = %v", got)
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
		assert.Check(t, is.Equal(unescapeMountInfo(in), want), "unescapeMountInfo(%q)", in)
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
			assert.Check(t, is.ErrorIs(err, tc.wantErr), tc.desc)
			assert.Check(t, is.ErrorContains(err, "mount -t cgroup2"), "%s: says how to mount cgroup2", tc.desc)
			continue
		}
		assert.Check(t, err, tc.desc)
		assert.Check(t, is.Equal(got.Point, tc.want), "%s: pickMount = %+v", tc.desc, got)
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
			assert.Check(t, is.ErrorContains(err, tc.wantErr), "%s: ParseProcCgroup = %q", tc.desc, got)
			continue
		}
		assert.Check(t, err, tc.desc)
		assert.Check(t, is.Equal(got, tc.want), "%s: ParseProcCgroup", tc.desc)
	}
	_, err := ParseProcCgroup(strings.NewReader("1:cpu:/\n"))
	assert.Check(t, is.ErrorIs(err, ErrNoCgroup2), "v1 only")
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
	// mayCreateResult is mayCreate's answer, to compare whole.
	type mayCreateResult struct {
		Delegated, Can bool
		Reason         string
	}
	mayCreateOf := func(dir string, uid int) mayCreateResult {
		d, c, r := mayCreate(dir, uid)
		return mayCreateResult{d, c, r}
	}
	assert.Check(t, is.Equal(mayCreateOf(dir, owner), mayCreateResult{Delegated: true, Can: true}), "owner")
	assert.Check(t, is.Equal(mayCreateOf(dir, 0), mayCreateResult{Can: true}), "root")
	stranger1 := mayCreateOf(dir, stranger)
	assert.Check(t, !stranger1.Delegated && !stranger1.Can, "stranger: %+v; want neither delegated nor can", stranger1)
	for _, s := range []string{"Delegate=yes", "owned by uid 4242", "uid 4343"} {
		assert.Check(t, is.Contains(stranger1.Reason, s), "stranger: reason")
	}
	// Owning the directory but not cgroup.procs is no delegation.
	chownAll(stranger, ".", "cgroup.subtree_control")
	half := mayCreateOf(dir, stranger)
	assert.Check(t, !half.Can, "half-delegated: %+v; want false naming cgroup.procs", half)
	assert.Check(t, is.Contains(half.Reason, "cgroup.procs"), "half-delegated: reason")
	missing := mayCreateOf(filepath.Join(dir, "nope"), stranger)
	assert.Check(t, !missing.Can, "missing dir: %+v", missing)
	assert.Check(t, is.Contains(missing.Reason, "cannot check"), "missing dir: reason")
}
