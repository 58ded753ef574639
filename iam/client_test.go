package iam

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewClient(t *testing.T) {
	c, err := NewClient("http://127.0.0.1:9/", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.BaseURL(), "http://127.0.0.1:9"; got != want {
		t.Errorf("BaseURL() = %q, want %q", got, want)
	}
	if _, err := NewClient("http://example.com", Options{}); !errors.Is(err, ErrInsecureURL) {
		t.Errorf("NewClient(http://example.com) = %v, want ErrInsecureURL", err)
	}
	if _, err := NewClient("https://api.gcore.com", Options{TLS: &tls.Config{InsecureSkipVerify: true}}); err == nil {
		t.Error("NewClient accepted a tls configuration with verification disabled")
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	target, targetHits := serve(t, reply(200, tokensBody))
	srv, hits := serve(t, reply(http.StatusTemporaryRedirect, "", "Location", target.URL+"/iam/auth/jwt/refresh"))
	c, _ := newTestClient(t, srv.URL, Options{})
	_, err := c.Refresh(testCtx(t), refreshJWT)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusTemporaryRedirect {
		t.Fatalf("Refresh() = %v, want an APIError with status 307", err)
	}
	if hits.Load() != 1 || targetHits.Load() != 0 {
		t.Errorf("requests: origin %d, redirect target %d; want 1 and 0", hits.Load(), targetHits.Load())
	}
}

// seenRequest is what the fake server saw.
type seenRequest struct {
	Method, Path, Authorization, ContentType, Accept, UserAgent string
	Body                                                        map[string]any
}

func capture(t *testing.T, got *seenRequest, answer http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		*got = seenRequest{
			Method: r.Method, Path: r.URL.RequestURI(), Authorization: r.Header.Get("Authorization"),
			ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"), UserAgent: r.Header.Get("User-Agent"),
		}
		b, _ := io.ReadAll(r.Body)
		if len(b) > 0 {
			if err := json.Unmarshal(b, &got.Body); err != nil {
				t.Errorf("request body %q is not json: %v", b, err)
			}
		}
		answer(w, r)
	}
}

// requestCase is one successful call: what the server saw and what the call
// returned.
type requestCase struct {
	name   string
	ua     string
	call   func(ctx context.Context, c *Client) (any, error)
	status int // of the answer; 0 means 200
	answer string
	want   any
	seen   seenRequest
}

func runRequestCases(t *testing.T, tests []requestCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen seenRequest
			status := tt.status
			if status == 0 {
				status = 200
			}
			srv, _ := serve(t, capture(t, &seen, reply(status, tt.answer, "Date", serverDate.Format(http.TimeFormat))))
			c, _ := newTestClient(t, srv.URL+"/", Options{UserAgent: tt.ua})
			got, err := tt.call(testCtx(t), c)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.seen, seen); diff != "" {
				t.Errorf("request seen by the server (-want +got):\n%s", diff)
			}
		})
	}
}

// serverDate is the Date header of runRequestCases' answers: IAM's clock, not the test's.
var serverDate = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

func TestRequests(t *testing.T) {
	// The pair carries when IAM issued it by IAM's clock, for the token's lifetime.
	wantTokens := Tokens{Access: accessJWT, Refresh: refreshJWT, IssuedAt: serverDate}
	runRequestCases(t, []requestCase{
		{
			name: "login without otp",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Login(ctx, Credentials{Username: "dev@example.com", Password: testPassword})
			},
			answer: tokensBody, want: wantTokens,
			seen: seenRequest{
				Method: "POST", Path: "/iam/auth/jwt/login", ContentType: "application/json", Accept: "application/json",
				UserAgent: "gcore-credential-helper", Body: map[string]any{"username": "dev@example.com", "password": testPassword},
			},
		},
		{
			name: "login with otp",
			ua:   "test-agent/1",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Login(ctx, Credentials{Username: "dev@example.com", Password: testPassword, OTP: testOTP})
			},
			answer: tokensBody, want: wantTokens,
			seen: seenRequest{
				Method: "POST", Path: "/iam/auth/jwt/login", ContentType: "application/json", Accept: "application/json",
				UserAgent: "test-agent/1", Body: map[string]any{"username": "dev@example.com", "password": testPassword, "one_time_password": testOTP},
			},
		},
		{
			name:   "refresh",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Refresh(ctx, refreshJWT) },
			answer: tokensBody, want: wantTokens,
			seen: seenRequest{
				Method: "POST", Path: "/iam/auth/jwt/refresh", ContentType: "application/json", Accept: "application/json",
				UserAgent: "gcore-credential-helper", Body: map[string]any{"refresh": refreshJWT},
			},
		},
		{
			name:   "switch account",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.SwitchAccount(ctx, accessJWT, 512345) },
			answer: tokensBody, want: wantTokens,
			seen: seenRequest{
				Method: "GET", Path: "/iam/auth/jwt/clients/512345/login", Authorization: "Bearer " + accessJWT,
				Accept: "application/json", UserAgent: "gcore-credential-helper",
			},
		},
		{
			name:   "me with an access token",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Me(ctx, BearerAuthorization(accessJWT)) },
			answer: `{"id":512345,"email":"dev@example.com","name":"Example Ltd","currentUser":281234,"status":"active","users":[]}`,
			want:   Account{ID: 512345, Email: "dev@example.com", Name: "Example Ltd", CurrentUser: 281234},
			seen: seenRequest{
				Method: "GET", Path: "/iam/clients/me", Authorization: "Bearer " + accessJWT,
				Accept: "application/json", UserAgent: "gcore-credential-helper",
			},
		},
		{
			name:   "me with an api token",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Me(ctx, APIKeyAuthorization(testAPIKey)) },
			answer: `{"id":7,"email":"a@b.c","name":"n","currentUser":8}`,
			want:   Account{ID: 7, Email: "a@b.c", Name: "n", CurrentUser: 8},
			seen: seenRequest{
				Method: "GET", Path: "/iam/clients/me", Authorization: "APIKey " + testAPIKey,
				Accept: "application/json", UserAgent: "gcore-credential-helper",
			},
		},
		{
			name: "create api token expiring, role by name, with a description",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateAPIToken(ctx, accessJWT, 512345, APITokenRequest{
					Name: "gcore-credential-helper default@laptop",
					// Sent in UTC, the fraction dropped.
					ExpiresAt:   time.Date(2026, 1, 3, 4, 4, 5, 999_999_999, time.FixedZone("CET", 3600)),
					RoleName:    "Administrators",
					Description: "minted for kubectl",
				})
			},
			answer: mintedBody, want: APIToken{ID: 77, Token: testMintedToken},
			seen: seenRequest{
				Method: "POST", Path: "/iam/v2/clients/512345/tokens", Authorization: "Bearer " + accessJWT,
				ContentType: "application/json", Accept: "application/json", UserAgent: "gcore-credential-helper",
				Body: map[string]any{
					"name":        "gcore-credential-helper default@laptop",
					"exp_date":    "2026-01-03T03:04:05Z",
					"client_user": map[string]any{"role": map[string]any{"name": "Administrators"}},
					"description": "minted for kubectl",
				},
			},
		},
		{
			name: "create api token never expiring, role by id, answered 201",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateAPIToken(ctx, accessJWT, 512345, APITokenRequest{Name: "ci", RoleName: "ignored", RoleID: 3})
			},
			status: 201, answer: `{"token":"` + testMintedToken + `","id":77}`, want: APIToken{ID: 77, Token: testMintedToken},
			seen: seenRequest{
				Method: "POST", Path: "/iam/v2/clients/512345/tokens", Authorization: "Bearer " + accessJWT,
				ContentType: "application/json", Accept: "application/json", UserAgent: "gcore-credential-helper",
				Body: map[string]any{
					"name":        "ci",
					"exp_date":    nil,
					"client_user": map[string]any{"role": map[string]any{"id": 3.0}},
				},
			},
		},
		{
			name: "delete api token",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.DeleteAPIToken(ctx, accessJWT, 512345, 77)
			},
			status: 204,
			seen: seenRequest{
				Method: "DELETE", Path: "/iam/v2/clients/512345/tokens/77", Authorization: "Bearer " + accessJWT,
				Accept: "application/json", UserAgent: "gcore-credential-helper",
			},
		},
	})
}

func TestInvalidArgumentsSendNothing(t *testing.T) {
	srv, hits := serve(t, reply(200, tokensBody))
	c, _ := newTestClient(t, srv.URL, Options{})
	if _, err := c.SwitchAccount(testCtx(t), accessJWT, 0); err == nil {
		t.Error("SwitchAccount(client 0) succeeded")
	}
	if _, err := c.Me(testCtx(t), ""); err == nil {
		t.Error("Me(\"\") succeeded")
	}
	if _, err := c.CreateAPIToken(testCtx(t), accessJWT, -1, APITokenRequest{Name: "ci", RoleID: 1}); err == nil {
		t.Error("CreateAPIToken(client -1) succeeded")
	}
	for _, ids := range [][2]int64{{0, 77}, {512345, 0}} {
		if err := c.DeleteAPIToken(testCtx(t), accessJWT, ids[0], ids[1]); err == nil {
			t.Errorf("DeleteAPIToken(client %d, token %d) succeeded", ids[0], ids[1])
		}
	}
	if hits.Load() != 0 {
		t.Errorf("server saw %d requests, want 0", hits.Load())
	}
}

// errorCase is a call that fails after exactly one request.
type errorCase struct {
	name    string
	call    call
	handler http.HandlerFunc
	is      error // sentinel the error must match
	as      any   // the typed error it must be, see checkAs
	msg     string
}

func runErrorCases(t *testing.T, tests []errorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, hits := serve(t, tt.handler)
			c, _ := newTestClient(t, srv.URL, Options{})
			err := tt.call(testCtx(t), c)
			if err == nil {
				t.Fatal("call succeeded, want an error")
			}
			if got := err.Error(); got != tt.msg {
				t.Errorf("error\n got %q\nwant %q", got, tt.msg)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if tt.as != nil {
				checkAs(t, err, tt.as)
			}
			// None of these is worth repeating: one request each.
			if n := hits.Load(); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	long := strings.Repeat("é", 300)
	runErrorCases(t, []errorCase{
		{
			name: "no active account", call: callLogin,
			handler: reply(400, `{"errors": {"errors": ["No active account found with the given credentials."]}}`),
			is:      ErrBadCredentials,
			msg:     "iam login: no active account found with the given credentials",
		},
		{
			name: "missing field", call: callLogin,
			handler: reply(400, `{"errors": {"password": ["This field is required."]}}`),
			is:      ErrBadCredentials,
			msg:     "iam login: password: this field is required",
		},
		{
			name: "json parse error", call: callLogin,
			handler: reply(400, `{"message": "JSON parse error - Expecting value: line 1 column 1 (char 0)"}`),
			is:      ErrBadCredentials,
			msg:     "iam login: JSON parse error - Expecting value: line 1 column 1 (char 0)",
		},
		{
			name: "login 400 without a body", call: callLogin,
			handler: reply(400, ``),
			is:      ErrBadCredentials,
			msg:     "iam login: bad credentials (400)",
		},
		{
			name: "otp field required", call: callLogin,
			handler: reply(400, `{"errors": {"one_time_password": ["This field is required."]}}`),
			is:      ErrOTPRequired,
			msg:     "iam login: one-time password required or wrong (400): one_time_password: this field is required",
		},
		{
			name: "wrong 2fa code", call: callLogin,
			handler: reply(400, `{"errors": {"errors": ["Invalid 2FA code."]}}`),
			is:      ErrOTPRequired,
			msg:     "iam login: one-time password required or wrong (400): invalid 2FA code",
		},
		{
			name: "otp detail", call: callLogin,
			handler: reply(400, `{"detail": "OTP is not valid"}`),
			is:      ErrOTPRequired,
			msg:     "iam login: one-time password required or wrong (400): OTP is not valid",
		},
		{
			name: "one-time wording", call: callLogin,
			handler: reply(400, `{"message": "Please provide your One-Time Password"}`),
			is:      ErrOTPRequired,
			msg:     "iam login: one-time password required or wrong (400): please provide your One-Time Password",
		},
		{
			name: "blacklisted refresh token", call: callRefresh,
			handler: reply(401, `{"detail": "Token is blacklisted", "code": "token_not_valid"}`),
			is:      ErrTokenRejected,
			msg:     "iam refresh: token rejected (401): token is blacklisted",
		},
		{
			name: "refresh 401 without a body", call: callRefresh,
			handler: reply(401, ``),
			is:      ErrTokenRejected,
			msg:     "iam refresh: token rejected (401)",
		},
		{
			name: "me 401", call: callMeAPIKey,
			handler: reply(401, `{"detail": "Invalid token."}`),
			is:      ErrTokenRejected,
			msg:     "iam me: token rejected (401): invalid token",
		},
		{
			name: "switch 401", call: callSwitch,
			handler: reply(401, `{}`),
			is:      ErrTokenRejected,
			msg:     "iam switch account: token rejected (401)",
		},
		{
			name: "switch to a foreign account", call: callSwitch,
			handler: reply(403, `{"detail": "You do not have permission to perform this action."}`),
			is:      ErrForbidden,
			msg:     "iam switch account: no access to that account (403): you do not have permission to perform this action",
		},
		{
			name: "switch to an unknown account", call: callSwitch,
			handler: reply(404, `<html>not found</html>`),
			is:      ErrForbidden,
			msg:     "iam switch account: no access to that account (404)",
		},
		{
			name: "me 403", call: callMe,
			handler: reply(403, `{"detail": "You do not have permission to perform this action."}`),
			as:      &APIError{Status: 403, Message: "you do not have permission to perform this action"},
			msg:     "iam me: you do not have permission to perform this action (403 Forbidden)",
		},
		{
			name: "refresh 400", call: callRefresh,
			handler: reply(400, `{"errors": {"refresh": ["This field may not be blank."]}}`),
			as:      &APIError{Status: 400, Message: "refresh: this field may not be blank"},
			msg:     "iam refresh: refresh: this field may not be blank (400 Bad Request)",
		},
		{
			name: "several fields", call: callRefresh,
			handler: reply(422, `{"errors": {"b": ["Two.", "Three."], "a": "One."}, "message": "Invalid input"}`),
			as:      &APIError{Status: 422, Message: "a: one; b: two; b: three; invalid input"},
			msg:     "iam refresh: a: one; b: two; b: three; invalid input (422 Unprocessable Entity)",
		},
		{
			name: "html error page", call: callMe,
			handler: reply(418, `<html><body>I'm a teapot</body></html>`),
			as:      &APIError{Status: 418},
			msg:     "iam me: unexpected response (418 I'm a teapot)",
		},
		{
			name: "long message", call: callMe,
			handler: reply(409, `{"message": "`+long+`"}`),
			as:      &APIError{Status: 409, Message: strings.Repeat("é", 200) + "…"},
			msg:     "iam me: " + strings.Repeat("é", 200) + "… (409 Conflict)",
		},
		{
			name: "control characters", call: callMe,
			handler: reply(409, `{"message": "bad\n\u001b[31mthing"}`),
			as:      &APIError{Status: 409, Message: "bad  [31mthing"},
			msg:     "iam me: bad  [31mthing (409 Conflict)",
		},
		{
			name: "refresh 503", call: callRefresh,
			handler: reply(503, `{"message": "maintenance"}`),
			as:      &UnavailableError{Status: 503},
			msg:     "iam refresh: server unavailable: 503 Service Unavailable",
		},
		{
			name: "login 200 not json", call: callLogin,
			handler: reply(200, `<html>welcome</html>`),
			as:      &UnavailableError{Status: 200},
			msg:     "iam login: server unavailable: 200 OK: malformed response: want a json object with access and refresh tokens",
		},
		{
			name: "switch 200 without refresh", call: callSwitch,
			handler: reply(200, `{"access": "x"}`),
			as:      &UnavailableError{Status: 200},
			msg:     "iam switch account: server unavailable: 200 OK: malformed response: want a json object with access and refresh tokens",
		},
		{
			name: "me 200 without id", call: callMe,
			handler: reply(200, `{"email": "dev@example.com"}`),
			as:      &UnavailableError{Status: 200},
			msg:     "iam me: server unavailable: 200 OK: malformed response: want a json object with an account id",
		},
		{
			name: "me 200 too large", call: callMe,
			handler: reply(200, `{"id": 1, "pad": "`+strings.Repeat("x", maxBody)+`"}`),
			as:      &UnavailableError{Status: 200},
			msg:     "iam me: server unavailable: 200 OK: malformed response: want a json object with an account id",
		},
		{
			name: "create api token 401", call: callCreateToken,
			handler: reply(401, `{"errors": {"errors": ["Token is invalid or expired"]}}`),
			is:      ErrTokenRejected,
			msg:     "iam create api token: token rejected (401): token is invalid or expired",
		},
		{
			name: "create api token 403", call: callCreateToken,
			handler: reply(403, `{"detail": "You do not have permission to perform this action."}`),
			is:      ErrForbidden,
			msg:     "iam create api token: forbidden (403): you do not have permission to perform this action",
		},
		{
			name: "create api token over the cap", call: callCreateToken,
			handler: reply(400, `{"errors": {"errors": ["The maximum number of API tokens (50) is reached."]}}`),
			as:      &APIError{Status: 400, Message: "the maximum number of API tokens (50) is reached"},
			msg:     "iam create api token: the maximum number of API tokens (50) is reached (400 Bad Request)",
		},
		{
			name: "create api token bad fields", call: callCreateToken,
			handler: reply(400, `{"errors": {"exp_date": ["Expiration date must be in the future."], "client_user": {"role": ["Unknown role."]}}}`),
			as:      &APIError{Status: 400, Message: "role: unknown role; exp_date: expiration date must be in the future"},
			msg:     "iam create api token: role: unknown role; exp_date: expiration date must be in the future (400 Bad Request)",
		},
		{
			name: "create api token 404", call: callCreateToken,
			handler: reply(404, `{"detail": "Not found."}`),
			as:      &APIError{Status: 404, Message: "not found"},
			msg:     "iam create api token: not found (404 Not Found)",
		},
		{
			name: "create api token 503", call: callCreateToken,
			handler: reply(503, ``),
			as:      &UnavailableError{Status: 503},
			msg:     "iam create api token: server unavailable: 503 Service Unavailable",
		},
		{
			name: "create api token 200 without id", call: callCreateToken,
			handler: reply(200, `{"token": "`+testMintedToken+`"}`),
			as:      &UnavailableError{Status: 200},
			msg:     "iam create api token: server unavailable: 200 OK: malformed response: want a json object with a token and its id",
		},
		{
			name: "create api token 201 with a string id", call: callCreateToken,
			handler: reply(201, `{"token": "`+testMintedToken+`", "id": "77"}`),
			as:      &UnavailableError{Status: 201},
			msg:     "iam create api token: server unavailable: 201 Created: malformed response: want a json object with a token and its id",
		},
		{
			name: "delete api token 401", call: callDeleteToken,
			handler: reply(401, ``),
			is:      ErrTokenRejected,
			msg:     "iam delete api token: token rejected (401)",
		},
		{
			name: "delete api token 403", call: callDeleteToken,
			handler: reply(403, `{"errors": {"errors": ["You do not have permission to perform this action."]}}`),
			is:      ErrForbidden,
			msg:     "iam delete api token: forbidden (403): you do not have permission to perform this action",
		},
		{
			name: "delete api token 400", call: callDeleteToken,
			handler: reply(400, `{"message": "Bad request"}`),
			as:      &APIError{Status: 400, Message: "bad request"},
			msg:     "iam delete api token: bad request (400 Bad Request)",
		},
		{
			name: "refresh 429 too long to wait", call: callRefresh,
			handler: reply(429, ``, "Retry-After", "3600"),
			as:      &RateLimitedError{RetryAfter: time.Hour},
			msg:     "iam refresh: rate limited (429 Too Many Requests), retry after 1h0m0s",
		},
	})
}

// checkAs asserts that err is of want's type with the same exported fields
// (UnavailableError.Err excepted: its text is checked through the message).
func checkAs(t *testing.T, err error, want any) {
	t.Helper()
	switch want := want.(type) {
	case *APIError:
		var got *APIError
		if !errors.As(err, &got) {
			t.Fatalf("%v is not an *APIError", err)
		}
		if got.Status != want.Status || got.Message != want.Message {
			t.Errorf("APIError{Status: %d, Message: %q}, want {%d, %q}", got.Status, got.Message, want.Status, want.Message)
		}
	case *UnavailableError:
		var got *UnavailableError
		if !errors.As(err, &got) {
			t.Fatalf("%v is not an *UnavailableError", err)
		}
		if got.Status != want.Status {
			t.Errorf("UnavailableError.Status = %d, want %d", got.Status, want.Status)
		}
	case *RateLimitedError:
		var got *RateLimitedError
		if !errors.As(err, &got) {
			t.Fatalf("%v is not a *RateLimitedError", err)
		}
		if got.RetryAfter != want.RetryAfter {
			t.Errorf("RetryAfter = %s, want %s", got.RetryAfter, want.RetryAfter)
		}
	default:
		t.Fatalf("checkAs: unhandled %T", want)
	}
}

// retryCase is a call whose server answers with handlers in turn: how many
// requests it sees and how long the client waits in between.
type retryCase struct {
	name      string
	call      call
	handlers  []http.HandlerFunc
	opts      Options
	wantErr   any // nil, or the typed error expected (see checkAs)
	wantHits  int32
	wantWaits []time.Duration
}

func runRetryCases(t *testing.T, tests []retryCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, hits := serve(t, tt.handlers...)
			c, rec := newTestClient(t, srv.URL, tt.opts)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := tt.call(ctx, c)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("call failed: %v", err)
			}
			if tt.wantErr != nil {
				checkAs(t, err, tt.wantErr)
			}
			if n := hits.Load(); n != tt.wantHits {
				t.Errorf("server saw %d requests, want %d", n, tt.wantHits)
			}
			waits, _ := rec.recorded()
			if diff := cmp.Diff(tt.wantWaits, waits); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetry(t *testing.T) {
	fixedNow := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	runRetryCases(t, []retryCase{
		{
			name: "login 503 then ok", call: callLogin,
			handlers: []http.HandlerFunc{reply(503, ``), reply(502, ``), reply(200, tokensBody)},
			wantHits: 3, wantWaits: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond},
		},
		{
			name: "login 503 three times", call: callLogin,
			handlers: []http.HandlerFunc{reply(503, ``)},
			wantErr:  &UnavailableError{Status: 503},
			wantHits: 3, wantWaits: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond},
		},
		{
			name: "me 429 honours retry-after seconds", call: callMe,
			handlers: []http.HandlerFunc{reply(429, ``, "Retry-After", "2"), reply(200, `{"id":1}`)},
			wantHits: 2, wantWaits: []time.Duration{2 * time.Second},
		},
		{
			name: "switch 429 honours an http-date", call: callSwitch,
			opts:     Options{Now: func() time.Time { return fixedNow }},
			handlers: []http.HandlerFunc{reply(429, ``, "Retry-After", fixedNow.Add(5*time.Second).Format(http.TimeFormat)), reply(200, tokensBody)},
			wantHits: 2, wantWaits: []time.Duration{5 * time.Second},
		},
		{
			name: "503 retry-after honoured", call: callMe,
			handlers: []http.HandlerFunc{reply(503, ``, "Retry-After", "1"), reply(200, `{"id":1}`)},
			wantHits: 2, wantWaits: []time.Duration{time.Second},
		},
		{
			name: "login 429 retry-after beyond the deadline fails fast", call: callLogin,
			handlers: []http.HandlerFunc{reply(429, ``, "Retry-After", "3600"), reply(200, tokensBody)},
			wantErr:  &RateLimitedError{RetryAfter: time.Hour}, wantHits: 1,
		},
		{
			name: "login 503 retry-after beyond the deadline fails fast", call: callLogin,
			handlers: []http.HandlerFunc{reply(503, ``, "Retry-After", "3600"), reply(200, tokensBody)},
			wantErr:  &UnavailableError{Status: 503}, wantHits: 1,
		},
		{
			name: "login 429 three times", call: callLogin,
			handlers: []http.HandlerFunc{reply(429, ``)},
			wantErr:  &RateLimitedError{}, wantHits: 3,
			wantWaits: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond},
		},
		{
			name: "login reset after sending", call: callLogin,
			handlers: []http.HandlerFunc{raw(t, ""), reply(200, tokensBody)},
			wantHits: 2, wantWaits: []time.Duration{200 * time.Millisecond},
		},
		{
			name: "switch truncated body", call: callSwitch,
			handlers: []http.HandlerFunc{raw(t, truncatedOK), reply(200, tokensBody)},
			wantHits: 2, wantWaits: []time.Duration{200 * time.Millisecond},
		},
		{
			name: "login attempt timeout", call: callLogin, opts: Options{Timeout: 2 * time.Second},
			handlers: []http.HandlerFunc{hang, reply(200, tokensBody)},
			wantHits: 2, wantWaits: []time.Duration{200 * time.Millisecond},
		},
		{
			name: "login malformed 200 is not retried", call: callLogin,
			handlers: []http.HandlerFunc{reply(200, `{}`), reply(200, tokensBody)},
			wantErr:  &UnavailableError{Status: 200}, wantHits: 1,
		},
		{
			name: "refresh 429 is retried", call: callRefresh,
			handlers: []http.HandlerFunc{reply(429, ``, "Retry-After", "1"), reply(200, tokensBody)},
			wantHits: 2, wantWaits: []time.Duration{time.Second},
		},
		{
			name: "create api token 429 is retried", call: callCreateToken,
			handlers: []http.HandlerFunc{reply(429, ``), reply(429, ``, "Retry-After", "1"), reply(201, mintedBody)},
			wantHits: 3, wantWaits: []time.Duration{200 * time.Millisecond, time.Second},
		},
		{
			name: "delete api token 503 then 204", call: callDeleteToken,
			handlers: []http.HandlerFunc{reply(503, ``), reply(204, ``)},
			wantHits: 2, wantWaits: []time.Duration{200 * time.Millisecond},
		},
		{
			name: "delete api token 404 is already gone", call: callDeleteToken,
			handlers: []http.HandlerFunc{reply(404, `{"errors": {"errors": ["Not found."]}}`)},
			wantHits: 1,
		},
		{
			// The first delete worked but its answer was lost: the retry's 404 means done.
			name: "delete api token reset after sending then 404", call: callDeleteToken,
			handlers: []http.HandlerFunc{raw(t, ""), reply(404, ``)},
			wantHits: 2, wantWaits: []time.Duration{200 * time.Millisecond},
		},
		{
			name: "delete api token attempt timeout", call: callDeleteToken, opts: Options{Timeout: 2 * time.Second},
			handlers: []http.HandlerFunc{hang, reply(204, ``)},
			wantHits: 2, wantWaits: []time.Duration{200 * time.Millisecond},
		},
		{
			name: "delete api token 503 three times", call: callDeleteToken,
			handlers: []http.HandlerFunc{reply(503, ``)},
			wantErr:  &UnavailableError{Status: 503},
			wantHits: 3, wantWaits: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond},
		},
	})
}

func TestBackoffBeyondDeadlineFailsFast(t *testing.T) {
	srv, hits := serve(t, reply(503, ``), reply(200, tokensBody))
	c, rec := newTestClient(t, srv.URL, Options{})
	// The first backoff (200ms) cannot fit a 150ms budget.
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	err := callLogin(ctx, c)
	var u *UnavailableError
	if !errors.As(err, &u) {
		t.Fatalf("Login() = %v, want an UnavailableError", err)
	}
	waits, _ := rec.recorded()
	if n := hits.Load(); n > 1 || len(waits) != 0 {
		t.Errorf("server saw %d requests and the client waited %v; want at most 1 request and no wait", n, waits)
	}
}

func TestNoDeadlineBoundsTheWait(t *testing.T) {
	srv, hits := serve(t, reply(429, ``, "Retry-After", "10"), reply(200, tokensBody))
	c, rec := newTestClient(t, srv.URL, Options{Timeout: 5 * time.Second})
	err := callMe(context.Background(), c)
	checkAs(t, err, &RateLimitedError{RetryAfter: 10 * time.Second})
	waits, _ := rec.recorded()
	if n := hits.Load(); n != 1 || len(waits) != 0 {
		t.Errorf("server saw %d requests and the client waited %v; want 1 request and no wait", n, waits)
	}
}

// notResent are the calls that must not reach the server twice: a refresh
// token is single use, each minted API token counts against the cap, and a
// registry user's secret is shown only by the call that created it.
var notResent = []struct {
	name string
	call call
}{
	{"refresh", callRefresh},
	{"create api token", callCreateToken},
	{"create registry user", callCreateRegistryUser},
}

// TestNotResent guards the calls in notResent: once the request may have
// reached the server, it is not sent again.
func TestNotResent(t *testing.T) {
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		status      int
		wantTimeout bool
	}{
		{name: "503", handler: reply(503, ``), status: 503},
		{name: "502 with retry-after", handler: reply(502, ``, "Retry-After", "1"), status: 502},
		{name: "attempt timeout", handler: hang, wantTimeout: true},
		{name: "reset after sending", handler: raw(t, "")},
		{name: "truncated body", handler: raw(t, truncatedOK), status: 200},
		{name: "not json", handler: reply(200, `<html>`), status: 200},
	}
	for _, nr := range notResent {
		for _, tt := range tests {
			t.Run(nr.name+" "+tt.name, func(t *testing.T) {
				srv, hits := serve(t, tt.handler, reply(200, tokensBody))
				c, rec := newTestClient(t, srv.URL, Options{Timeout: time.Second})
				err := nr.call(testCtx(t), c)
				var u *UnavailableError
				if !errors.As(err, &u) {
					t.Fatalf("call = %v, want an UnavailableError", err)
				}
				if u.Status != tt.status || u.Timeout() != tt.wantTimeout {
					t.Errorf("call = %v: Status %d, Timeout() %t; want %d, %t", err, u.Status, u.Timeout(), tt.status, tt.wantTimeout)
				}
				waits, _ := rec.recorded()
				if n := hits.Load(); n != 1 || len(waits) != 0 {
					t.Errorf("server saw %d requests and the client waited %v; want exactly 1 request and no wait", n, waits)
				}
			})
		}
	}
}

func TestNotResentRetriedWhenNothingWasSent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // now nothing listens there: connection refused
	for _, nr := range notResent {
		t.Run(nr.name, func(t *testing.T) {
			c, rec := newTestClient(t, "http://"+addr, Options{})
			err := nr.call(testCtx(t), c)
			var u *UnavailableError
			if !errors.As(err, &u) || u.Status != 0 || u.Timeout() {
				t.Fatalf("call = %v, want an UnavailableError without status or timeout", err)
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("call = %v, want it to wrap ECONNREFUSED", err)
			}
			// Three attempts: two waits between them.
			waits, _ := rec.recorded()
			if diff := cmp.Diff([]time.Duration{200 * time.Millisecond, 400 * time.Millisecond}, waits); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDialFailed(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", &url.Error{Op: "Post", URL: "http://x", Err: refused}, true},
		{"no route", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.EHOSTUNREACH}, true},
		{"dns", &url.Error{Op: "Post", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", IsNotFound: true}}}, true},
		{"reset while reading", &url.Error{Op: "Post", Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}, false},
		{"write failed", &net.OpError{Op: "write", Err: syscall.EPIPE}, false},
		{"eof", &url.Error{Op: "Post", Err: io.EOF}, false},
		{"deadline", &url.Error{Op: "Post", Err: context.DeadlineExceeded}, false},
		{"truncated", fmt.Errorf("read response body: %w", io.ErrUnexpectedEOF), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dialFailed(tt.err); got != tt.want {
				t.Errorf("dialFailed(%v) = %t, want %t", tt.err, got, tt.want)
			}
		})
	}
}

// TestUntrustedCertificate guards the reference's security rules (TLS verification always on) and
// issue #5 item 2: a server whose certificate does not verify gets one
// attempt, which never reaches it, and an error that says the certificate is
// not trusted, for every call, single-use ones included.
func TestUntrustedCertificate(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		reply(200, tokensBody)(w, r)
	}))
	t.Cleanup(srv.Close)
	// trusted trusts the server's certificate, which names 127.0.0.1 but not
	// localhost.
	trusted := &tls.Config{RootCAs: x509.NewCertPool()}
	trusted.RootCAs.AddCert(srv.Certificate())
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	tests := []struct {
		name, url  string
		tls        *tls.Config
		wantReason string
	}{
		{"unknown authority", srv.URL, nil, "x509: certificate signed by unknown authority"},
		{"wrong host name", "https://localhost:" + port, trusted, "x509: certificate is valid for"},
	}
	calls := []struct {
		name string
		call call
	}{
		{"login", callLogin}, {"refresh", callRefresh}, {"me", callMe}, {"create api token", callCreateToken},
	}
	for _, tt := range tests {
		for _, cl := range calls {
			t.Run(tt.name+" "+cl.name, func(t *testing.T) {
				c, rec := newTestClient(t, tt.url, Options{TLS: tt.tls})
				err := cl.call(testCtx(t), c)
				if !errors.Is(err, ErrUntrustedCertificate) {
					t.Fatalf("call = %v, want ErrUntrustedCertificate", err)
				}
				host := strings.TrimPrefix(tt.url, "https://")
				if want := "the tls certificate of " + host + " is not trusted: " + tt.wantReason; !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
				if waits, _ := rec.recorded(); len(waits) != 0 {
					t.Errorf("the client waited %v to try again, want no retry", waits)
				}
				if n := hits.Load(); n != 0 {
					t.Errorf("the handler saw %d requests, want none", n)
				}
			})
		}
	}
	// The same server, trusted and named as its certificate says, answers.
	c, _ := newTestClient(t, srv.URL, Options{TLS: trusted})
	if err := callLogin(testCtx(t), c); err != nil {
		t.Errorf("with the certificate trusted: %v", err)
	}
}

func TestCallerDeadline(t *testing.T) {
	srv, hits := serve(t, hang, reply(200, `{"id":1}`))
	c, rec := newTestClient(t, srv.URL, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := callMe(ctx, c)
	var u *UnavailableError
	if !errors.As(err, &u) || !u.Timeout() || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Me() = %v, want an UnavailableError caused by the deadline", err)
	}
	waits, _ := rec.recorded()
	if n := hits.Load(); n > 1 || len(waits) != 0 {
		t.Errorf("server saw %d requests and the client waited %v; want at most 1 request and no wait", n, waits)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	tests := []struct {
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 7 ", 7 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
		{"999999999999", 24 * time.Hour, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, ok := retryAfter(textproto.MIMEHeader{"Retry-After": {tt.value}}, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("retryAfter(%q) = %s, %t; want %s, %t", tt.value, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "120", "-5", "Fri, 02 Jan 2026 15:04:05 GMT", "9223372036854775807"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d, _ := retryAfter(textproto.MIMEHeader{"Retry-After": {v}}, now); d < 0 {
			t.Errorf("retryAfter(%q) = %s, negative", v, d)
		}
	})
}

func TestSleepCtx(t *testing.T) {
	if err := sleepCtx(context.Background(), time.Millisecond); err != nil {
		t.Errorf("sleepCtx(1ms) = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepCtx(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleepCtx(cancelled, 1h) = %v, want context.Canceled", err)
	}
}

// TestSecretsNeverShown runs every call against a server that echoes the
// request (body and Authorization) in its error bodies, and checks that no
// error string and no trace line contains a secret.
func TestSecretsNeverShown(t *testing.T) {
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			said := string(b) + " " + r.Header.Get("Authorization")
			body, _ := json.Marshal(map[string]any{
				"message": said,
				"detail":  strings.ToUpper(said[:1]) + said[1:],
				"errors":  map[string]any{"password": []string{said}},
				// Secrets of answers that are malformed for lack of other
				// fields: a minted token without its id, a registry user
				// without id and expiry, a cluster config without a host.
				"token":              testMintedToken,
				"secret":             testRegistrySecret,
				"client_key":         clusterKeyB64,
				"client_certificate": clusterCertB64,
			})
			reply(status, string(body))(w, r)
		}
	}
	noLeak := func(t *testing.T, rec *recorder, err error) {
		t.Helper()
		_, lines := rec.recorded()
		lines = append(lines, fmt.Sprint(Credentials{Username: "u", Password: testPassword, OTP: testOTP}),
			fmt.Sprintf("%+v", Tokens{Access: accessJWT, Refresh: refreshJWT}), fmt.Sprintf("%+v", APIToken{ID: 77, Token: testMintedToken}),
			fmt.Sprintf("%+v", RegistryUser{ID: 9, Secret: testRegistrySecret}),
			fmt.Sprintf("%+v", ClusterConfig{CACertPEM: clusterCAPEM, ClientCertPEM: clusterCertPEM, ClientKeyPEM: clusterKeyPEM}))
		if err != nil {
			lines = append(lines, err.Error())
		}
		for _, s := range lines {
			for _, secret := range secrets {
				if strings.Contains(s, secret) {
					t.Errorf("%q contains the secret %q", s, secret)
				}
			}
		}
	}
	statuses := []int{200, 400, 401, 403, 404, 409, 429, 500}
	calls := map[string]call{
		"login": callLogin, "refresh": callRefresh, "switch": callSwitch, "me": callMe, "me api key": callMeAPIKey,
		"create api token": callCreateToken, "delete api token": callDeleteToken,
		"list registries": callListRegistries, "create registry user": callCreateRegistryUser,
		"list projects": callListProjects, "list regions": callListRegions, "delete registry user": callDeleteRegistryUser,
		"list clusters": callListClusters, "cluster config": callClusterConfig,
	}
	for _, status := range statuses {
		for name, call := range calls {
			t.Run(fmt.Sprintf("%s %d", name, status), func(t *testing.T) {
				srv, _ := serve(t, echo(status))
				c, rec := newTestClient(t, srv.URL, Options{})
				err := call(testCtx(t), c)
				// A delete succeeds on any 2xx, and on 404: already gone.
				if wantErr := !strings.HasPrefix(name, "delete ") || (status != 200 && status != 404); (err != nil) != wantErr {
					t.Fatalf("call = %v, want an error: %t", err, wantErr)
				}
				noLeak(t, rec, err)
			})
		}
	}
	t.Run("create api token succeeds", func(t *testing.T) {
		srv, _ := serve(t, reply(201, mintedBody))
		c, rec := newTestClient(t, srv.URL, Options{})
		tok, err := c.CreateAPIToken(testCtx(t), accessJWT, 512345, APITokenRequest{Name: "ci", RoleID: 1})
		if err != nil || tok.Token != testMintedToken {
			t.Fatalf("CreateAPIToken() = %v, %v; want the minted token", tok, err)
		}
		noLeak(t, rec, nil)
	})
	t.Run("create registry user succeeds", func(t *testing.T) {
		srv, _ := serve(t, reply(201, registryUserBody))
		c, rec := newTestClient(t, srv.URL, Options{})
		u, err := c.CreateRegistryUser(testCtx(t), bearerAuth, 1, 2, 3, RegistryUserRequest{Name: "laptop", DurationDays: 1})
		if err != nil || u.Secret != testRegistrySecret {
			t.Fatalf("CreateRegistryUser() = %v, %v; want the new user", u, err)
		}
		noLeak(t, rec, nil)
	})
	t.Run("cluster config succeeds", func(t *testing.T) {
		srv, _ := serve(t, reply(200, clusterConfigBody(nil)))
		c, rec := newTestClient(t, srv.URL, Options{})
		cc, err := c.ClusterConfig(testCtx(t), bearerAuth, 1, 2, "prod")
		if err != nil || string(cc.ClientKeyPEM) != string(clusterKeyPEM) {
			t.Fatalf("ClusterConfig() = %v, %v; want the config", cc, err)
		}
		noLeak(t, rec, nil)
	})
}

func TestDebugf(t *testing.T) {
	srv, _ := serve(t, reply(503, ``), reply(200, tokensBody))
	c, rec := newTestClient(t, srv.URL, Options{})
	if err := callLogin(testCtx(t), c); err != nil {
		t.Fatal(err)
	}
	_, lines := rec.recorded()
	want := []string{
		"iam: POST /iam/auth/jwt/login attempt 1: 503 after",
		"iam: POST /iam/auth/jwt/login: retrying in 200ms",
		"iam: POST /iam/auth/jwt/login attempt 2: 200 after",
	}
	if len(lines) != len(want) {
		t.Fatalf("trace lines = %q, want %d lines", lines, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("trace line %d = %q, want prefix %q", i, lines[i], w)
		}
	}
}

func TestPing(t *testing.T) {
	date := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Error("ping sent credentials")
		}
		w.Header().Set("Date", date.Format(http.TimeFormat))
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Ping(context.Background())
	if err != nil || !got.Equal(date) {
		t.Fatalf("Ping = %s, %v; want %s", got, err, date)
	}
	srv.Close()
	var unavailable *UnavailableError
	if _, err := c.Ping(context.Background()); !errors.As(err, &unavailable) {
		t.Fatalf("Ping of a closed server: %v, want an UnavailableError", err)
	}
}
