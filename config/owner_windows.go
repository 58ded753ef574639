package config

import "io/fs"

// owner reports nothing on Windows, whose ACLs Go's FileInfo does not describe.
func owner(fs.FileInfo) (uid, me int, ok bool) { return 0, 0, false }
