module github.com/cgguard/cgguard/examples/schedext

go 1.26.0

require (
	github.com/cgguard/cgguard v0.0.0-00010101000000-000000000000
	github.com/cilium/ebpf v0.22.0
)

require golang.org/x/sys v0.50.0

replace github.com/cgguard/cgguard => ../..
