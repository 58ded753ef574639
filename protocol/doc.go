// Package protocol writes and reads the wire formats of the helper's callers:
// the JSON of `get`, kubectl's ExecCredential, docker's and git's
// credential-helper protocols and shell exports. It uses the standard library
// only and knows nothing of Gcore, caches or keyrings: values in, bytes out.
// Its JSON is read and written by hand, never through encoding/json (see
// jsonw.go), and every input is bounded in size.
package protocol
