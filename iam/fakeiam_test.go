package iam

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
	"github.com/google/go-cmp/cmp"
)

// TestAPITokensAgainstFakeIAM proves that the client and fakeiam agree on the
// wire for minting and deleting API tokens, the fake's call counters standing
// in for Gcore to show what was sent how often.
func TestAPITokensAgainstFakeIAM(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	srv, err := fakeiam.New(fakeiam.Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	const account = 512345
	srv.AddUser(fakeiam.User{
		Email: "dev@example.com", Password: testPassword, UserID: 281234,
		Accounts: []fakeiam.Account{{ID: account, Name: "Example Ltd"}, {ID: 600001, Name: "Other"}},
		Groups:   []fakeiam.Group{{ID: 1, Name: "Administrators"}},
	})
	c, _ := newTestClient(t, srv.Start(t), Options{})
	ctx := testCtx(t)
	sess, err := c.Login(ctx, Credentials{Username: "dev@example.com", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := ParseClaims(sess.Access)
	if err != nil {
		t.Fatal(err)
	}
	if claims.ClientID != account || len(claims.UserGroups) == 0 {
		t.Fatalf("claims = %+v, want client %d and a group", claims, account)
	}
	// sent reports how many create and delete requests the fake saw since the last call.
	var lastCreates, lastDeletes int
	sent := func(t *testing.T, wantCreates, wantDeletes int) {
		t.Helper()
		creates, deletes := srv.Calls(fakeiam.CreateToken)-lastCreates, srv.Calls(fakeiam.DeleteToken)-lastDeletes
		lastCreates, lastDeletes = lastCreates+creates, lastDeletes+deletes
		if creates != wantCreates || deletes != wantDeletes {
			t.Errorf("fake saw %d creates and %d deletes, want %d and %d", creates, deletes, wantCreates, wantDeletes)
		}
	}

	tok, err := c.CreateAPIToken(ctx, sess.Access, account, APITokenRequest{
		Name: "gcore-credential-helper default@laptop", ExpiresAt: now.Add(12 * time.Hour),
		RoleName: claims.UserGroups[0].Name, Description: "test",
	})
	if err != nil {
		t.Fatalf("CreateAPIToken(by role name) = %v", err)
	}
	if !strings.HasPrefix(tok.Token, strconv.FormatInt(tok.ID, 10)+"_") {
		t.Errorf("minted token %d is not <id>_<secret>", tok.ID)
	}
	got, err := c.Me(ctx, APIKeyAuthorization(tok.Token))
	if diff := cmp.Diff(Account{ID: account, Email: "dev@example.com", Name: "Example Ltd", CurrentUser: 281234}, got); err != nil || diff != "" {
		t.Errorf("Me(minted token) = %v; account (-want +got):\n%s", err, diff)
	}
	forever, err := c.CreateAPIToken(ctx, sess.Access, account, APITokenRequest{Name: "ci", RoleID: claims.UserGroups[0].ID})
	if err != nil || forever.ID == tok.ID {
		t.Fatalf("CreateAPIToken(by role id, never expiring) = %v, %v; want a second token", forever, err)
	}
	sent(t, 2, 0)

	// A JWT acts only in its own account.
	if _, err := c.CreateAPIToken(ctx, sess.Access, 600001, APITokenRequest{Name: "x", RoleID: 1}); !errors.Is(err, ErrForbidden) {
		t.Errorf("CreateAPIToken(other account) = %v, want ErrForbidden", err)
	}
	if err := c.DeleteAPIToken(ctx, sess.Access, 600001, tok.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("DeleteAPIToken(other account) = %v, want ErrForbidden", err)
	}
	if _, err := c.CreateAPIToken(ctx, "not-a-jwt", account, APITokenRequest{Name: "x", RoleID: 1}); !errors.Is(err, ErrTokenRejected) {
		t.Errorf("CreateAPIToken(bad access token) = %v, want ErrTokenRejected", err)
	}
	sent(t, 2, 1)

	if err := c.DeleteAPIToken(ctx, sess.Access, account, tok.ID); err != nil {
		t.Fatalf("DeleteAPIToken() = %v", err)
	}
	if _, err := c.Me(ctx, APIKeyAuthorization(tok.Token)); !errors.Is(err, ErrTokenRejected) {
		t.Errorf("Me(deleted token) = %v, want ErrTokenRejected", err)
	}
	if err := c.DeleteAPIToken(ctx, sess.Access, account, tok.ID); err != nil {
		t.Errorf("DeleteAPIToken(already deleted) = %v, want nil", err)
	}
	sent(t, 0, 2)

	// Faults: a create whose answer is lost is not sent again; a 429 is.
	srv.Inject(fakeiam.CreateToken, fakeiam.Fault{ConsumeThenFail: true, Times: 1})
	var u *UnavailableError
	if _, err := c.CreateAPIToken(ctx, sess.Access, account, APITokenRequest{Name: "lost", RoleID: 1}); !errors.As(err, &u) || u.Status != http.StatusBadGateway {
		t.Errorf("CreateAPIToken(answer lost) = %v, want an UnavailableError with status 502", err)
	}
	sent(t, 1, 0)
	srv.Inject(fakeiam.CreateToken, fakeiam.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1", Times: 1})
	limited, err := c.CreateAPIToken(ctx, sess.Access, account, APITokenRequest{Name: "limited", RoleID: 1})
	if err != nil {
		t.Errorf("CreateAPIToken(429 once) = %v", err)
	}
	sent(t, 2, 0)
	srv.Inject(fakeiam.DeleteToken, fakeiam.Fault{Status: http.StatusServiceUnavailable, Times: 1})
	if err := c.DeleteAPIToken(ctx, sess.Access, account, limited.ID); err != nil {
		t.Errorf("DeleteAPIToken(503 once) = %v", err)
	}
	sent(t, 0, 2)

	// The cap: the fake counts live tokens, whoever made them.
	for range 50 {
		srv.AddAPIToken(account, "filler", nil)
	}
	_, err = c.CreateAPIToken(ctx, sess.Access, account, APITokenRequest{Name: "one too many", RoleID: 1})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !strings.Contains(apiErr.Message, "(50)") {
		t.Errorf("CreateAPIToken(over the cap) = %v, want a 400 APIError naming the cap", err)
	}
	sent(t, 1, 0)
}
