// Package good uses cgo correctly as far as Go's side goes.
package good

// #include <stdlib.h>
import "C"

import "unsafe"

// Free hands s to C and back.
func Free(s string) int {
	cs := C.CString(s)
	defer C.free(unsafe.Pointer(cs))
	return len(s)
}
