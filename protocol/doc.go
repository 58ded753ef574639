// Package protocol writes and reads the wire formats of the helper's callers:
// the JSON of `get`, and (later) kubectl's ExecCredential, docker's and git's
// credential-helper protocols and shell exports. It uses the standard library
// only and knows nothing of Gcore, caches or keyrings: values in, bytes out.
package protocol
