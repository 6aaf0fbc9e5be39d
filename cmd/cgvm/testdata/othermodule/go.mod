module example.com/othermodule

go 1.26.0

require github.com/cgguard/cgguard v0.0.0

require golang.org/x/sys v0.50.0 // indirect

replace github.com/cgguard/cgguard => ../../../..
