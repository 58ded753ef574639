// Package iam is the HTTP client for the Gcore IAM API: password login, token
// refresh, account switch, credential verification and minting and deleting
// permanent API tokens (the reference's Gcore IAM calls, service credentials), plus reading the claims of the JWTs it
// returns. It also makes the few Gcore Cloud calls that turn an IAM session
// into service credentials (the reference's service credentials): listing container registries and
// creating, renewing and deleting registry users; listing Managed Kubernetes
// clusters and fetching a cluster's client certificate.
//
// It owns the wire: request shapes, the retry policy, and turning status codes
// and Gcore's error bodies into errors callers can branch on. It keeps no state
// between calls and knows nothing of caches, profiles or prompts.
package iam

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/baseurl"
	"github.com/G-Core/gcore-credential-helper/internal/http1"
)

const (
	defaultTimeout   = 15 * time.Second
	defaultUserAgent = "gcore-credential-helper"

	// maxAttempts bounds how often one call is sent, including the first time.
	maxAttempts = 3
	// firstBackoff is the wait before the second attempt; it doubles after that.
	firstBackoff = 200 * time.Millisecond
	// maxBody caps what is read of any response: IAM and Cloud answers are a
	// few KiB, a cluster config or a long list a few tens.
	maxBody = 1 << 20
	// maxRetryAfter (seconds) clamps absurd Retry-After values.
	maxRetryAfter = 24 * 60 * 60
)

// Options configures a Client. Zero values get defaults.
type Options struct {
	// TLS configures https connections (tests give their server's roots).
	// Default: the system's roots. Verification is always on: a configuration
	// that turns it off is refused. Redirects are never followed, and the
	// proxy is the environment's (http1.ProxyFromEnvironment).
	TLS *tls.Config
	// Timeout bounds one attempt (connect, send, read the whole answer).
	// Default 15s. The ctx deadline bounds the whole call, retries included.
	Timeout time.Duration
	// UserAgent is sent with every request. Default "gcore-credential-helper".
	UserAgent string
	// Debugf, when set, receives one line per attempt: method, path, status and
	// duration. Bodies and headers are never passed to it.
	Debugf func(format string, args ...any)
	// Sleep waits between attempts. Default: a timer that returns early with
	// ctx.Err() when ctx is done.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock, used to turn an HTTP-date Retry-After into a wait, to
	// check that a wait fits the ctx deadline, and to time attempts. Default
	// time.Now.
	Now func() time.Time
}

// Client calls one Gcore API endpoint, which serves both IAM and Cloud. It is
// safe for concurrent use.
type Client struct {
	base      *url.URL
	http      *http1.Client
	timeout   time.Duration
	userAgent string
	debugf    func(format string, args ...any)
	sleep     func(ctx context.Context, d time.Duration) error
	now       func() time.Time
}

// NewClient returns a client for the IAM API at baseURL (for example
// "https://api.gcore.com"), which must pass baseurl.Parse.
func NewClient(baseURL string, opts Options) (*Client, error) {
	base, err := baseurl.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	if opts.TLS != nil && opts.TLS.InsecureSkipVerify {
		return nil, fmt.Errorf("iam: %w", http1.ErrInsecureTLS)
	}
	// http1 follows no redirect: one would resend a password or token to a
	// place the user did not configure (possibly over plain http), and a 307
	// would resend a refresh token the first server may have consumed.
	hc := &http1.Client{TLS: opts.TLS, MaxBody: maxBody}
	c := &Client{
		base:      base,
		http:      hc,
		timeout:   opts.Timeout,
		userAgent: opts.UserAgent,
		debugf:    opts.Debugf,
		sleep:     opts.Sleep,
		now:       opts.Now,
	}
	if c.timeout <= 0 {
		c.timeout = defaultTimeout
	}
	if c.userAgent == "" {
		c.userAgent = defaultUserAgent
	}
	if c.debugf == nil {
		c.debugf = func(string, ...any) {}
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// BaseURL returns the validated base URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.base.String() }

// BearerAuthorization is the Authorization header value for a JWT access token.
func BearerAuthorization(access string) string { return "Bearer " + access }

// APIKeyAuthorization is the Authorization header value for a permanent API
// token ("<id>_<secret>").
func APIKeyAuthorization(token string) string { return "APIKey " + token }

// Credentials are what a password login sends.
type Credentials struct {
	Username string
	Password string
	// OTP is the one-time password; it is sent only when not empty.
	OTP string
}

// String keeps the password and OTP out of accidental %v formatting.
func (cr Credentials) String() string {
	return fmt.Sprintf("{Username:%s Password:[redacted] OTP:[redacted]}", cr.Username)
}

// Tokens is the pair every successful login, refresh or account switch returns.
type Tokens struct {
	Access  string
	Refresh string
	// IssuedAt is when IAM answered, by its own clock (the Date header),
	// zero when it sent none. Gcore's JWTs carry no iat, so this with the
	// access token's exp is its lifetime, whatever this machine's clock says.
	IssuedAt time.Time
}

// String keeps the tokens out of accidental %v formatting.
func (Tokens) String() string { return "{Access:[redacted] Refresh:[redacted]}" }

// Account is the part of GET /iam/clients/me this tool uses.
type Account struct {
	ID          int64  `json:"id"`
	Email       string `json:"email"`
	Name        string `json:"name"`
	CurrentUser int64  `json:"currentUser"`
}

// Login exchanges a username and password (and OTP, when set) for tokens of
// the user's first account.
func (c *Client) Login(ctx context.Context, cr Credentials) (Tokens, error) {
	body := struct {
		Username string `json:"username"`
		Password string `json:"password"`
		OTP      string `json:"one_time_password,omitempty"`
	}{cr.Username, cr.Password, cr.OTP}
	return c.tokens(ctx, request{
		op: opLogin, method: "POST", path: "/iam/auth/jwt/login",
		body: body, resend: true, secrets: []string{cr.Password, cr.OTP},
	})
}

// Refresh exchanges a refresh token for a new pair. Gcore refresh tokens are
// single-use, so the request is sent again only when the connection could not
// be made or the server answered 429. After a 5xx, a timeout, a reset or a
// truncated answer it returns an UnavailableError at once: the token may or
// may not have been spent, which only another try can tell (IAM refuses a
// spent one with 401, ErrTokenRejected).
func (c *Client) Refresh(ctx context.Context, refresh string) (Tokens, error) {
	return c.tokens(ctx, request{
		op: opRefresh, method: "POST", path: "/iam/auth/jwt/refresh",
		body: struct {
			Refresh string `json:"refresh"`
		}{refresh},
		resend: false, secrets: []string{refresh},
	})
}

// SwitchAccount exchanges an access token for tokens of another account
// (client) the user belongs to.
func (c *Client) SwitchAccount(ctx context.Context, access string, clientID int64) (Tokens, error) {
	if clientID <= 0 {
		return Tokens{}, fmt.Errorf("%s: invalid client id %d", opSwitch, clientID)
	}
	return c.tokens(ctx, request{
		op: opSwitch, method: "GET", path: "/iam/auth/jwt/clients/" + strconv.FormatInt(clientID, 10) + "/login",
		authorization: BearerAuthorization(access), resend: true, secrets: []string{access},
	})
}

// Me returns the account a credential belongs to; it is how a credential is
// verified. authorization is the whole header value, see BearerAuthorization
// and APIKeyAuthorization.
func (c *Client) Me(ctx context.Context, authorization string) (Account, error) {
	if authorization == "" {
		return Account{}, fmt.Errorf("%s: empty authorization", opMe)
	}
	r := request{
		op: opMe, method: "GET", path: "/iam/clients/me",
		authorization: authorization, resend: true, secrets: []string{authorization},
	}
	// Authorization is "<scheme> <secret>": the secret alone may also be echoed.
	if _, secret, ok := strings.Cut(authorization, " "); ok {
		r.secrets = append(r.secrets, secret)
	}
	var a Account
	res, err := c.do(ctx, r)
	if err != nil {
		return Account{}, err
	}
	if err := json.Unmarshal(res.body, &a); err != nil || a.ID == 0 {
		return Account{}, malformed(r.op, res.status, "want a json object with an account id")
	}
	return a, nil
}

// APITokenRequest describes a permanent API token to mint (the reference's Gcore IAM calls, service credentials).
type APITokenRequest struct {
	Name string
	// ExpiresAt is sent as RFC 3339 in UTC, whole seconds; zero sends
	// "exp_date": null, a token that never expires.
	ExpiresAt time.Time
	// RoleName names the token's role (client_user.role.name), unless RoleID
	// is not zero: then the role is sent by id alone.
	RoleName string
	RoleID   int64
	// Description is sent only when not empty.
	Description string
}

// APIToken is a freshly minted permanent API token. The secret is returned
// only once, by CreateAPIToken.
type APIToken struct {
	// ID is what DeleteAPIToken takes.
	ID int64
	// Token is "<id>_<secret>", to be sent with APIKeyAuthorization.
	Token string
}

// String keeps the token out of accidental %v formatting.
func (t APIToken) String() string { return fmt.Sprintf("{ID:%d Token:[redacted]}", t.ID) }

// CreateAPIToken mints a permanent API token in account clientID, with a JWT
// access token of that account. Minting is not idempotent, and Gcore caps an
// account at about 50 live tokens, so like Refresh the request is sent again
// only when the connection could not be made or the server answered 429. After
// a 5xx, a timeout, a reset or a truncated answer it returns an
// UnavailableError at once, and the caller must assume a token may have been
// minted whose id it will never learn: one reason to give tokens an expiry.
// A 403 (the user or their role may not mint tokens there) matches
// ErrForbidden; a 400, such as the cap being reached, is an *APIError that
// carries the server's message.
func (c *Client) CreateAPIToken(ctx context.Context, access string, clientID int64, r APITokenRequest) (APIToken, error) {
	if clientID <= 0 {
		return APIToken{}, fmt.Errorf("%s: invalid client id %d", opCreateToken, clientID)
	}
	type role struct {
		ID   int64  `json:"id,omitempty"`
		Name string `json:"name,omitempty"`
	}
	body := struct {
		Name       string  `json:"name"`
		ExpDate    *string `json:"exp_date"`
		ClientUser struct {
			Role role `json:"role"`
		} `json:"client_user"`
		Description string `json:"description,omitempty"`
	}{Name: r.Name, Description: r.Description}
	if !r.ExpiresAt.IsZero() {
		exp := r.ExpiresAt.UTC().Format(time.RFC3339)
		body.ExpDate = &exp
	}
	body.ClientUser.Role = role{Name: r.RoleName}
	if r.RoleID != 0 {
		body.ClientUser.Role = role{ID: r.RoleID}
	}
	req := request{
		op: opCreateToken, method: "POST", path: tokensPath(clientID),
		body: body, authorization: BearerAuthorization(access), resend: false, secrets: []string{access},
	}
	res, err := c.do(ctx, req)
	if err != nil {
		return APIToken{}, err
	}
	var t struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal(res.body, &t); err != nil || t.ID <= 0 || t.Token == "" {
		return APIToken{}, malformed(req.op, res.status, "want a json object with a token and its id")
	}
	return APIToken{ID: t.ID, Token: t.Token}, nil
}

// DeleteAPIToken deletes permanent API token tokenID of account clientID, with
// a JWT access token of that account. Deleting is idempotent, so it is retried
// like Me, and a token that is already gone (404) is not an error.
func (c *Client) DeleteAPIToken(ctx context.Context, access string, clientID, tokenID int64) error {
	if clientID <= 0 || tokenID <= 0 {
		return fmt.Errorf("%s: invalid client id %d or token id %d", opDeleteToken, clientID, tokenID)
	}
	_, err := c.do(ctx, request{
		op: opDeleteToken, method: "DELETE", path: tokensPath(clientID) + "/" + strconv.FormatInt(tokenID, 10),
		authorization: BearerAuthorization(access), resend: true, secrets: []string{access},
	})
	// A retry after a lost 204 lands here too.
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == statusNotFound {
		return nil
	}
	return err
}

func tokensPath(clientID int64) string {
	return "/iam/v2/clients/" + strconv.FormatInt(clientID, 10) + "/tokens"
}

func (c *Client) tokens(ctx context.Context, r request) (Tokens, error) {
	res, err := c.do(ctx, r)
	if err != nil {
		return Tokens{}, err
	}
	var t struct {
		Access  string `json:"access"`
		Refresh string `json:"refresh"`
	}
	if err := json.Unmarshal(res.body, &t); err != nil || t.Access == "" || t.Refresh == "" {
		return Tokens{}, malformed(r.op, res.status, "want a json object with access and refresh tokens")
	}
	issued, _ := http1.ParseTime(res.header.Get("Date"))
	return Tokens{Access: t.Access, Refresh: t.Refresh, IssuedAt: issued}, nil
}

// Operation names, as they start error messages; the Cloud ones are in
// cloud.go.
const (
	opLogin   = "iam login"
	opRefresh = "iam refresh"
	opSwitch  = "iam switch account"
	opMe      = "iam me"

	opCreateToken = "iam create api token"
	opDeleteToken = "iam delete api token"
)

type request struct {
	op            string
	method, path  string
	body          any // JSON-encoded when not nil
	authorization string
	// resend says whether the request may be sent again after it may have
	// reached the server. Refresh must not be: Gcore blacklists a refresh
	// token once used, so a second send after a lost answer would turn a
	// transient failure into a forced login. Nor may minting an API token:
	// a second send would mint a second token against the account's cap.
	// Such a request is therefore retried only when the dial failed (nothing
	// was sent) or on 429 (the server said it did not process it); a 5xx, a
	// timeout, a reset after sending or a truncated answer ends the call with
	// an UnavailableError.
	resend bool
	// secrets are scrubbed from anything the server says before it becomes
	// part of an error message.
	secrets []string
	// cloud marks a Cloud call, whose 403, 404 and 409 mean the same
	// whatever the resource.
	cloud bool
}

type response struct {
	status int
	header textproto.MIMEHeader
	body   []byte
}

// do sends r, retrying per the policy on request.resend, and returns a 2xx
// response or a typed error.
func (c *Client) do(ctx context.Context, r request) (response, error) {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return response{}, fmt.Errorf("%s: encode request: %w", r.op, err)
		}
	}
	for attempt := 1; ; attempt++ {
		res, err := c.send(ctx, r, payload, attempt)
		wait := firstBackoff << (attempt - 1)
		var (
			retry     bool
			certError *tls.CertificateVerificationError
		)
		switch {
		case errors.As(err, &certError):
			// Trying again cannot make the certificate trusted.
			return res, untrusted(r.op, c.base.Host, certError)
		case err != nil:
			retry = r.resend || (res.status == 0 && dialFailed(err))
			err = &UnavailableError{Status: res.status, Err: err, op: r.op}
		case res.status == statusTooManyRequests:
			after, ok := retryAfter(res.header, c.now())
			if ok {
				wait = after
			}
			retry = true
			err = &RateLimitedError{RetryAfter: after, op: r.op}
		case res.status >= 500:
			if after, ok := retryAfter(res.header, c.now()); ok {
				wait = after
			}
			retry = r.resend
			err = &UnavailableError{Status: res.status, RequestID: requestID(res, r.secrets), op: r.op}
		case res.status >= 200 && res.status < 300:
			return res, nil
		default:
			return res, failure(r, res)
		}
		if !retry || attempt == maxAttempts || !c.fits(ctx, wait) {
			return res, err
		}
		c.debugf("iam: %s %s: retrying in %s", r.method, r.path, wait)
		if c.sleep(ctx, wait) != nil {
			return res, err
		}
	}
}

// fits reports whether waiting d still leaves time for another attempt. With
// no deadline, a wait longer than one attempt's timeout is not worth it.
func (c *Client) fits(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		return d <= c.timeout
	}
	return c.now().Add(d).Before(deadline)
}

// send makes one attempt. A non-nil error with a zero status means no answer
// arrived; with a status, the body could not be read whole.
func (c *Client) send(ctx context.Context, r request, payload []byte, attempt int) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	target, err := url.Parse(c.base.String() + r.path)
	if err != nil {
		return response{}, fmt.Errorf("build request: %w", err)
	}
	req := &http1.Request{Method: r.method, URL: target, Body: payload, Header: []http1.Field{
		{Name: "Accept", Value: "application/json"},
		{Name: "User-Agent", Value: c.userAgent},
	}}
	if payload != nil {
		req.Header = append(req.Header, http1.Field{Name: "Content-Type", Value: "application/json"})
	}
	if r.authorization != "" {
		req.Header = append(req.Header, http1.Field{Name: "Authorization", Value: r.authorization})
	}
	start := c.now()
	resp, err := c.http.Do(ctx, req)
	if resp == nil {
		c.debugf("iam: %s %s attempt %d: no response after %s", r.method, r.path, attempt, c.now().Sub(start))
		return response{}, err
	}
	// A body longer than maxBody is cut, fails to decode and so reads as
	// malformed.
	res := response{status: resp.Status, header: resp.Header, body: resp.Body}
	c.debugf("iam: %s %s attempt %d: %d after %s", r.method, r.path, attempt, res.status, c.now().Sub(start))
	if err != nil {
		return res, fmt.Errorf("read response body: %w", err)
	}
	return res, nil
}

// dialFailed reports whether a transport error proves the request never left
// this machine: the connection was never established.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// retryAfter reads a Retry-After header: delay seconds or an HTTP-date.
func retryAfter(h textproto.MIMEHeader, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		// Clamped so the conversion cannot overflow; a day never fits a deadline anyway.
		return time.Duration(min(s, maxRetryAfter)) * time.Second, true
	}
	t, err := http1.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Ping reaches IAM without credentials and returns the server's clock, read
// from its Date header: `doctor` checks reachability and clock skew with it.
// Any HTTP answer (a 401 is the expected one) proves IAM is reachable.
func (c *Client) Ping(ctx context.Context) (time.Time, error) {
	res, err := c.send(ctx, request{op: "iam ping", method: "GET", path: "/iam/clients/me"}, nil, 1)
	if err != nil {
		return time.Time{}, &UnavailableError{op: "iam ping", Err: err}
	}
	date, err := http1.ParseTime(res.header.Get("Date"))
	if err != nil {
		return time.Time{}, fmt.Errorf("iam ping: no usable Date header (status %d)", res.status)
	}
	return date, nil
}
