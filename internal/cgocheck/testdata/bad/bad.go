// Package bad has a Go type error beside its cgo calls.
package bad

// #include <stdlib.h>
import "C"

// Broken returns a string as an int.
func Broken() int {
	_ = C.CString("x")
	return "not an int"
}
