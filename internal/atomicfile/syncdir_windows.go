package atomicfile

// SyncDir does nothing: Windows has no directory sync, and NTFS journals
// metadata changes such as renames.
func SyncDir(string) error { return nil }
