package cache

import "io/fs"

// Windows protects the user's profile with ACLs, which Go's file modes and
// owners do not describe: these checks accept everything there.

const openNonBlock = 0

const openNoFollow = 0

func unsafeMode(fs.FileInfo, fs.FileMode) string { return "" }

func unsafeOwner(fs.FileInfo) string { return "" }

func checkAncestors(string) error { return nil }
