package iam

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/G-Core/gcore-credential-helper/internal/baseurl"
	"github.com/G-Core/gcore-credential-helper/internal/http1"
)

// The status codes the client branches on.
const (
	statusBadRequest      = 400
	statusUnauthorized    = 401
	statusForbidden       = 403
	statusNotFound        = 404
	statusConflict        = 409
	statusTooManyRequests = 429
)

// Sentinel errors; match them with errors.Is. The errors returned also carry
// the operation and what the server said, for the message.
var (
	// ErrBadCredentials: a login was refused (400) for a reason other than the
	// one-time password, usually "no active account found with the given
	// credentials".
	ErrBadCredentials = errors.New("bad credentials")
	// ErrOTPRequired: a login was refused (400) because the one-time password
	// is missing or wrong.
	ErrOTPRequired = errors.New("one-time password required or wrong")
	// ErrTokenRejected: the server answered 401: the token is invalid,
	// expired or, for a refresh token, already used.
	ErrTokenRejected = errors.New("token rejected")
	// ErrForbidden: an account switch was refused (403 or 404): the user is
	// not a member of that account; or creating or deleting an API token was
	// refused (403): the user or their role may not manage tokens there; or a
	// Cloud call was refused (403), which Gcore answers for a missing
	// permission and for a quota or capacity limit alike: the error carries
	// the server's own words, which tell the two apart.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: a Cloud call named something that does not exist (404): a
	// project, region, registry, registry user or cluster.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a Cloud call would create something that already exists
	// (409), such as a registry user of the same name.
	ErrConflict = errors.New("conflict")
	// ErrInsecureURL: a base URL's scheme would send credentials in the clear.
	ErrInsecureURL = baseurl.ErrInsecure
	// ErrUntrustedCertificate: the server's TLS certificate did not verify
	// (unknown authority, wrong host name, expired), so nothing was sent.
	// Such a call is never retried, and verification is never turned off
	// (the reference's security rules).
	ErrUntrustedCertificate = errors.New("tls certificate not trusted")
)

// maxMessage bounds, in runes, how much of a server's error text is kept.
const maxMessage = 200

// RateLimitedError is a 429 that could not be retried within the deadline or
// the attempt budget.
type RateLimitedError struct {
	// RetryAfter is the server's Retry-After, zero when it sent none.
	RetryAfter time.Duration
	op         string
}

func (e *RateLimitedError) Error() string {
	s := prefix(e.op) + ": rate limited (" + statusText(statusTooManyRequests) + ")"
	if e.RetryAfter > 0 {
		s += ", retry after " + e.RetryAfter.String()
	}
	return s
}

// UnavailableError means the server could not be reached or did not answer
// usably: a 5xx, a connection error, a timeout, or a 2xx body that was
// truncated or not the expected JSON.
type UnavailableError struct {
	// Status is the HTTP status, zero when no answer arrived.
	Status int
	// Err is the underlying cause, nil for a plain 5xx.
	Err error
	// RequestID is the server's id of the request, when it gave one.
	RequestID string
	op        string
}

func (e *UnavailableError) Error() string {
	s := prefix(e.op) + ": server unavailable"
	if e.Status != 0 {
		s += ": " + statusText(e.Status)
	}
	// In the words of the reference's exit codes (exit 6), before the transport's own.
	if e.Timeout() {
		s += ": timed out"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s + requestIDSuffix(e.RequestID)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Timeout reports whether a deadline or timeout caused the failure.
func (e *UnavailableError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.Err, &t) && t.Timeout()
}

// APIError is any other refusal by the server.
type APIError struct {
	Status int
	// Message is what the error body said, cleaned up and truncated; empty
	// when it said nothing readable.
	Message string
	// RequestID is the server's id of the request, when it gave one.
	RequestID string
	op        string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "unexpected response"
	}
	return prefix(e.op) + ": " + msg + " (" + statusText(e.Status) + ")" + requestIDSuffix(e.RequestID)
}

// kindError is a refusal with a known meaning: errors.Is matches its sentinel,
// and the message keeps the server's words.
type kindError struct {
	op, text  string
	requestID string
	kind      error
}

func (e *kindError) Error() string {
	return prefix(e.op) + ": " + e.text + requestIDSuffix(e.requestID)
}

// requestIDSuffix ends a message with the server's request id, which Gcore
// support asks for.
func requestIDSuffix(id string) string {
	if id == "" {
		return ""
	}
	return " (request id " + id + ")"
}

// maxRequestID bounds a request id taken into a message.
const maxRequestID = 64

// requestID finds the server's id of the request: a "request_id" in the
// JSON body or an X-Request-ID header. Whether and where Cloud sends one is
// not documented, so both are read, and anything that is not a plain token
// of letters, digits and - _ . :, or that holds one of the request's
// secrets, is ignored.
func requestID(res response, secrets []string) string {
	var v struct {
		RequestID any `json:"request_id"`
	}
	id := ""
	if json.Unmarshal(res.body, &v) == nil {
		id, _ = v.RequestID.(string)
	}
	if id == "" && res.header != nil {
		id = res.header.Get("X-Request-ID")
	}
	if id == "" || len(id) > maxRequestID || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") != "" {
		return ""
	}
	for _, s := range secrets {
		if s != "" && (strings.Contains(id, s) || strings.Contains(s, id)) {
			return ""
		}
	}
	return id
}

func (e *kindError) Unwrap() error { return e.kind }

// prefix starts an error message: the operation, which names its service
// ("iam login", "cloud cluster config"), or "iam" when a caller's fake built
// the error without one.
func prefix(op string) string {
	if op == "" {
		return "iam"
	}
	return op
}

func statusText(code int) string {
	if t := http1.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprint(code)
}

// untrusted says in plain words that the server's certificate is not
// trusted, keeping the x509 reason; the URL in err is left out, the host says
// which server.
func untrusted(op, host string, err *tls.CertificateVerificationError) error {
	return &kindError{op: op, text: fmt.Sprintf("the tls certificate of %s is not trusted: %v", host, err.Err), kind: ErrUntrustedCertificate}
}

func malformed(op string, status int, want string) error {
	return &UnavailableError{Status: status, Err: errors.New("malformed response: " + want), op: op}
}

// failure turns a non-2xx, non-429, non-5xx answer into an error.
func failure(r request, res response) error {
	msg := serverMessage(res.body, r.secrets)
	var e kindError
	switch {
	case res.status == statusUnauthorized:
		e = kindError{text: "token rejected (401)", kind: ErrTokenRejected}
	case res.status == statusBadRequest && r.op == opLogin && mentionsOTP(res.body):
		e = kindError{text: "one-time password required or wrong (400)", kind: ErrOTPRequired}
	case res.status == statusBadRequest && r.op == opLogin:
		// Gcore's own sentence ("no active account found…") says it best.
		e = kindError{text: "bad credentials (400)", kind: ErrBadCredentials}
		if msg != "" {
			e.text, msg = msg, ""
		}
	case (res.status == statusForbidden || res.status == statusNotFound) && r.op == opSwitch:
		e = kindError{text: fmt.Sprintf("no access to that account (%d)", res.status), kind: ErrForbidden}
	case res.status == statusForbidden && (r.cloud || r.op == opCreateToken || r.op == opDeleteToken):
		e = kindError{text: "forbidden (403)", kind: ErrForbidden}
	case res.status == statusNotFound && r.cloud:
		e = kindError{text: "not found (404)", kind: ErrNotFound}
	case res.status == statusConflict && r.cloud:
		e = kindError{text: "conflict (409)", kind: ErrConflict}
	default:
		return &APIError{Status: res.status, Message: msg, RequestID: requestID(res, r.secrets), op: r.op}
	}
	e.op, e.requestID = r.op, requestID(res, r.secrets)
	if msg != "" {
		e.text += ": " + msg
	}
	return &e
}

// mentionsOTP finds the undocumented "one-time password needed or wrong" 400:
// it names the one_time_password field or talks about OTP/2FA, as
// one[_ -]?time|two[_ -]?factor|(^|[^a-z0-9])(otp|totp|2fa|mfa)([^a-z0-9]|$)
// would find it. It is written out rather than matched with regexp: linking
// regexp costs every process, every cache hit, its package initialisation
// (and that of the unicode tables it refers to); TestMentionsOTPAsPattern
// compares the two.
func mentionsOTP(body []byte) bool {
	text := string(bytes.ToLower(body))
	for _, words := range [...][2]string{{"one", "time"}, {"two", "factor"}} {
		for _, joint := range [...]string{"", "_", " ", "-"} {
			if strings.Contains(text, words[0]+joint+words[1]) {
				return true
			}
		}
	}
	for _, word := range [...]string{"otp", "totp", "2fa", "mfa"} {
		if containsWord(text, word) {
			return true
		}
	}
	return false
}

// containsWord reports whether text has word with no ASCII letter or digit
// right before or after it.
func containsWord(text, word string) bool {
	for from := 0; ; {
		at := strings.Index(text[from:], word)
		if at < 0 {
			return false
		}
		start, end := from+at, from+at+len(word)
		if (start == 0 || !isLowerAlnum(text[start-1])) && (end == len(text) || !isLowerAlnum(text[end])) {
			return true
		}
		from = start + 1
	}
}

func isLowerAlnum(b byte) bool { return 'a' <= b && b <= 'z' || '0' <= b && b <= '9' }

// serverMessage reads Gcore's error body shapes leniently:
// {"errors": {"field": ["…"]}}, {"errors": {"errors": ["…"]}}, {"message": "…"}
// (Cloud adds an "exception_class", a Python class name that tells a user
// nothing) and {"detail": "…"}. Secrets of the request are scrubbed first, in case the
// server echoes them.
func serverMessage(body []byte, secrets []string) string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	var parts []string
	for _, k := range []string{"errors", "message", "detail"} {
		parts = appendMessages(parts, k, m[k], secrets)
	}
	msg := strings.Join(parts, "; ")
	msg = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, msg)
	if utf8.RuneCountInString(msg) > maxMessage {
		msg = string([]rune(msg)[:maxMessage]) + "…"
	}
	return msg
}

// appendMessages flattens v, naming the field a message belongs to unless the
// key is one of the generic containers.
func appendMessages(parts []string, key string, v any, secrets []string) []string {
	switch v := v.(type) {
	case string:
		for _, s := range secrets {
			if s != "" {
				v = strings.ReplaceAll(v, s, "[redacted]")
			}
		}
		v = tidy(v)
		if v == "" {
			return parts
		}
		switch key {
		case "errors", "message", "detail", "non_field_errors":
			return append(parts, v)
		}
		return append(parts, key+": "+v)
	case []any:
		for _, item := range v {
			parts = appendMessages(parts, key, item, secrets)
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			parts = appendMessages(parts, k, v[k], secrets)
		}
	}
	return parts
}

// tidy makes a server sentence fit inside our error: lower-case start (unless
// it is an acronym such as "JSON"), no trailing period.
func tidy(s string) string {
	s = strings.TrimRight(strings.TrimSpace(s), ".")
	first, n := utf8.DecodeRuneInString(s)
	second, _ := utf8.DecodeRuneInString(s[n:])
	if unicode.IsUpper(first) && !unicode.IsUpper(second) {
		s = string(unicode.ToLower(first)) + s[n:]
	}
	return s
}
