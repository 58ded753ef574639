package iam

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"syscall"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestServerMessage(t *testing.T) {
	tests := []struct {
		name, body string
		secrets    []string
		want       string
	}{
		{"errors of errors", `{"errors": {"errors": ["No active account found with the given credentials."]}}`, nil, "no active account found with the given credentials"},
		{"field errors", `{"errors": {"password": ["This field is required."], "username": ["Enter a valid email."]}}`, nil, "password: this field is required; username: enter a valid email"},
		{"non-field errors", `{"errors": {"non_field_errors": ["Bad."]}}`, nil, "bad"},
		{"errors as a list", `{"errors": ["One.", "Two"]}`, nil, "one; two"},
		{"nested", `{"errors": {"client_user": {"role": ["Unknown role."]}}}`, nil, "role: unknown role"},
		{"message", `{"message": "JSON parse error - Expecting value"}`, nil, "JSON parse error - Expecting value"},
		{"detail", `{"detail": "Not found."}`, nil, "not found"},
		{"all shapes", `{"detail": "D", "message": "M", "errors": {"f": "E"}}`, nil, "f: e; m; d"},
		{"non-strings ignored", `{"errors": {"f": [1, true, null, {"g": 2}]}, "message": 5}`, nil, ""},
		{"not json", `<html>502</html>`, nil, ""},
		{"empty", ``, nil, ""},
		{"unknown keys", `{"code": "token_not_valid"}`, nil, ""},
		{"secret echoed", `{"message": "Password s3cret! is wrong", "errors": {"password": ["s3cret!"]}}`, []string{"s3cret!", ""}, "password: [redacted]; password [redacted] is wrong"},
		{"secret at the start", `{"message": "Hunter2 is wrong"}`, []string{"Hunter2"}, "[redacted] is wrong"},
		{"acronym kept", `{"message": "OTP required"}`, nil, "OTP required"},
		{"control characters", `{"message": "a\tb\u0000c\u009bd"}`, nil, "a b c d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := serverMessage([]byte(tt.body), tt.secrets); got != tt.want {
				t.Errorf("serverMessage(%s) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}

func FuzzServerMessage(f *testing.F) {
	for _, s := range []string{
		`{"errors": {"errors": ["No active account found with the given credentials."]}}`,
		`{"errors": {"password": ["x"]}, "message": "m", "detail": "d"}`,
		`{"message": "` + strings.Repeat("ü", 300) + `"}`,
		`{"errors": [[["deep"]]]}`, `not json`,
	} {
		f.Add(s, "secret")
	}
	f.Fuzz(func(t *testing.T, body, secret string) {
		got := serverMessage([]byte(body), []string{secret})
		if n := utf8.RuneCountInString(got); n > maxMessage+1 {
			t.Errorf("message has %d runes, want at most %d", n, maxMessage+1)
		}
		if strings.ContainsFunc(got, unicode.IsControl) {
			t.Errorf("message %q has control characters", got)
		}
		// Redaction can only be promised for secrets the cleanup does not
		// itself produce or split: long enough, and not made of the words
		// and symbols serverMessage adds.
		if len(secret) >= 8 && !strings.ContainsAny(secret, ":;[]…. \t") && !strings.ContainsFunc(secret, unicode.IsControl) &&
			strings.Contains(body, secret) && strings.Contains(got, secret) {
			t.Errorf("message %q contains the secret %q", got, secret)
		}
	})
}

// FuzzRequestID: what the server calls its request id reaches a message only as a short plain
// token, and never when it holds (or is part of) a secret of the request.
func FuzzRequestID(f *testing.F) {
	f.Add(`{"request_id": "req-8f3a2c"}`, "", "secret-token")
	f.Add(`{"request_id": 7}`, "abc", "x")
	f.Add(`{}`, "abc-123", "abc-123")
	f.Add(`{"request_id": "a\nb"}`, "", "")
	f.Fuzz(func(t *testing.T, body, header, secret string) {
		res := response{body: []byte(body), header: textproto.MIMEHeader{"X-Request-Id": {header}}}
		id := requestID(res, []string{secret})
		if id == "" {
			return
		}
		if len(id) > maxRequestID || strings.ContainsFunc(id, func(r rune) bool {
			return !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:", r)
		}) {
			t.Errorf("request id %q is not a plain short token", id)
		}
		if secret != "" && strings.Contains(id, secret) {
			t.Errorf("request id %q holds the secret %q", id, secret)
		}
	})
}

func TestMentionsOTP(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{`{"errors": {"one_time_password": ["This field is required."]}}`, true},
		{`{"detail": "Invalid OTP"}`, true},
		{`{"detail": "otp_invalid"}`, true},
		{`{"message": "2FA is enabled for this account"}`, true},
		{`{"message": "Enter the one-time password"}`, true},
		{`{"message": "Two-factor authentication required"}`, true},
		{`{"message": "TOTP code expired"}`, true},
		{`{"errors": {"errors": ["No active account found with the given credentials."]}}`, false},
		{`{"errors": {"password": ["This field is required."]}}`, false},
		{`{"message": "user hotpot@example.com not found"}`, false},
		{`{"message": "JSON parse error - Expecting value"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			if got := mentionsOTP([]byte(tt.body)); got != tt.want {
				t.Errorf("mentionsOTP(%s) = %t, want %t", tt.body, got, tt.want)
			}
		})
	}
}

func TestErrorTexts(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		err  error
		want string
	}{
		// Values as a caller's fake would build them: no operation known.
		{&UnavailableError{Status: 503}, "iam: server unavailable: 503 Service Unavailable"},
		{&UnavailableError{Err: refused}, "iam: server unavailable: dial tcp: connection refused"},
		{&UnavailableError{Status: 200, Err: errors.New("malformed response: x"), op: opLogin}, "iam login: server unavailable: 200 OK: malformed response: x"},
		{&UnavailableError{Err: context.DeadlineExceeded, op: opRefresh}, "iam refresh: server unavailable: timed out: context deadline exceeded"},
		{&RateLimitedError{}, "iam: rate limited (429 Too Many Requests)"},
		{&RateLimitedError{RetryAfter: 90_000_000_000, op: opMe}, "iam me: rate limited (429 Too Many Requests), retry after 1m30s"},
		{&APIError{Status: 599}, "iam: unexpected response (599)"},
		{&APIError{Status: 409, Message: "exists", op: opSwitch}, "iam switch account: exists (409 Conflict)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUnavailableTimeout(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{context.DeadlineExceeded, true},
		{fmt.Errorf("read response body: %w", context.DeadlineExceeded), true},
		{&net.OpError{Op: "dial", Err: &net.DNSError{IsTimeout: true}}, true},
		{context.Canceled, false},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			if got := (&UnavailableError{Err: tt.err}).Timeout(); got != tt.want {
				t.Errorf("Timeout() = %t, want %t", got, tt.want)
			}
		})
	}
}
