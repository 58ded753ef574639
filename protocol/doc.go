// Package protocol writes and reads the wire formats of the helper's callers:
// the JSON of `get`, kubectl's ExecCredential, docker's and git's
// credential-helper protocols and shell exports. It uses the standard library
// only and knows nothing of Gcore, caches or keyrings: values in, bytes out.
// The JSON it reads is decoded by encoding/json into typed structs, with
// errors that never show the input (jsonr.go); the JSON it writes, printed on
// every cache hit, is written by hand (see jsonw.go for why). Every input is
// bounded in size.
package protocol
