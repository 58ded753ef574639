// Command baseline is the yardstick of the reference's performance targets: the least a Go credential helper can do, print
// a fixed ExecCredential of about 1 KB to stdout and exit. The helper's cache hits are measured
// as multiples of this program's wall time, so it must stay this small: no flags, no encoding,
// nothing read. Build it like the helper (static, -trimpath) so only the work differs.
package main

import "os"

// doc is shaped like the helper's kube answer, with a Gcore-like RS256 access token.
const doc = `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false},"status":{"token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzY3MzY1OTQ1LCJqdGkiOiI4ZjNiMmMxZDllN2E0ZjZiOGMwZDJlNGY2YThiMGMxZCIsInVzZXJfaWQiOjIwMTkzNCwiY2xpZW50X2lkIjo3NzgxMDIsImVtYWlsIjoiZGVtb0BleGFtcGxlLmNvbSIsInVzZXJuYW1lIjoiZGVtb0BleGFtcGxlLmNvbSIsImNsaWVudF9uYW1lIjoiRXhhbXBsZSBMdGQiLCJ1c2VyX2dyb3VwcyI6WzFdLCJpc19hZG1pbiI6ZmFsc2UsInJqdGkiOiJhNDFjOWUwYjdkNWY0ZTJhOWM4YjZkNGYyZTBhMWMzYiIsInVzZXJfdHlwZSI6ImNvbW1vbiIsInNzb19hdXRoIjpmYWxzZX0.c92P2-zHd3OC2pYwL82DeaGdyy8Yck0kF4nP47GiCpj7ZfZzp72dpiifA9SHEA8JMOE9mQfHdlNwl9cyhDujS38BqRV1p0do_43-7tcVtUFQwjqDSQcRkMQbZhvYSmIR9QTYrwA2Ne3pDXhg-rVlaxKQoTLHrEVWFk9VA_ZowuweIj-0GQIPd8x8La6PMHKCMPy7xCFrpGIdZWv9NgBF3fj5zZdN_-IFNS9k_tqapJMZCv0lNnFCAsWcVNRLYhITFzWVoj4DmV5fn3Qg9ZZ71ZMi3WIuoCdP6DrRnD-5MCi9ofCNMq_zY-F7mhRrDBobCYP2QT29tGRBa9LnmH1LhQ","expirationTimestamp":"2026-01-02T14:54:05Z"}}` + "\n"

func main() {
	if _, err := os.Stdout.WriteString(doc); err != nil {
		os.Exit(1)
	}
}
