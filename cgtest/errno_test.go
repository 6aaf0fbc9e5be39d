package cgtest_test

import "golang.org/x/sys/unix"

var (
	errnoEBUSY  error = unix.EBUSY
	errnoEACCES error = unix.EACCES
	errnoEROFS  error = unix.EROFS
	errnoEIO    error = unix.EIO
)
