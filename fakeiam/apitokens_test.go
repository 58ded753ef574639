package fakeiam

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"testing"
	"time"
)

func TestAPITokens(t *testing.T) {
	f := newFixture(t, Config{})
	bearer := "Bearer " + f.login(t, aliceEmail, alicePW).Access
	create := map[string]any{
		"name": "ci", "description": "d", "exp_date": "2030-02-01T00:00:00.000000Z",
		"client_user": map[string]any{"role": map[string]any{"name": "Administrators"}},
	}

	r := f.do(t, "POST", "/iam/v2/clients/1001/tokens", bearer, create)
	var created tokenView
	if err := json.Unmarshal(r.body, &created); r.status != 200 || err != nil {
		t.Fatalf("create: %d %s (%v)", r.status, r.body, err)
	}
	if !regexp.MustCompile(`^` + strconv.FormatInt(created.ID, 10) + `_[0-9a-f]{64}$`).MatchString(created.Token) {
		t.Errorf("token %q is not <id>_<secret> for id %d", created.Token, created.ID)
	}
	listed := `[{"id": 1, "name": "ci", "description": "d", "exp_date": "2030-02-01T00:00:00Z", "expired": false,
		"created": "2030-01-02T03:04:05Z",
		"client_user": {"role": {"name": "Administrators"}, "user_id": 11, "user_email": "alice@example.com", "client_id": 1001}}]`
	r = f.do(t, "GET", "/iam/v2/clients/1001/tokens", bearer, nil)
	wantJSON(t, r, 200, listed)
	if bytes.Contains(r.body, []byte(created.Token[2:])) {
		t.Error("list shows the token secret")
	}
	wantJSON(t, f.do(t, "GET", "/iam/clients/me", "APIKey "+created.Token, nil), 200,
		`{"id": 1001, "name": "Alpha", "companyName": "Alpha", "email": "alice@example.com", "currentUser": 11, "status": "active"}`)
	wantJSON(t, f.do(t, "GET", "/iam/v2/clients/1001/tokens", "APIKey "+created.Token, nil), 200, listed)

	invalid := `{"errors": {"errors": ["Token is invalid or expired"]}}`
	forbidden := `{"errors": {"errors": ["You do not have permission to perform this action."]}}`
	notFound := `{"errors": {"errors": ["Not found."]}}`
	for _, tc := range []struct {
		name, method, path, auth string
		body                     any
		status                   int
		want                     string
	}{
		{"list unauthenticated", "GET", "/iam/v2/clients/1001/tokens", "", nil, 401, invalid},
		{"create in another account", "POST", "/iam/v2/clients/1002/tokens", bearer, create, 403, forbidden},
		{"create in a foreign account", "POST", "/iam/v2/clients/2001/tokens", bearer, create, 403, forbidden},
		{"create with a bad account id", "POST", "/iam/v2/clients/x/tokens", bearer, create, 404, notFound},
		{"delete unknown", "DELETE", "/iam/v2/clients/1001/tokens/99", bearer, nil, 404, notFound},
		{"delete bad id", "DELETE", "/iam/v2/clients/1001/tokens/x", bearer, nil, 404, notFound},
		{"create missing everything", "POST", "/iam/v2/clients/1001/tokens", bearer, map[string]any{}, 400,
			`{"errors": {"name": ["This field is required"], "client_user": ["A role id or name is required."]}}`},
		{"create bad exp_date", "POST", "/iam/v2/clients/1001/tokens", bearer,
			map[string]any{"name": "x", "exp_date": "tomorrow", "client_user": map[string]any{"role": map[string]any{"id": 1}}}, 400,
			`{"errors": {"exp_date": ["Datetime has wrong format. Use RFC 3339."]}}`},
		{"create past exp_date", "POST", "/iam/v2/clients/1001/tokens", bearer,
			map[string]any{"name": "x", "exp_date": "2030-01-02T03:04:05Z", "client_user": map[string]any{"role": map[string]any{"id": 1}}}, 400,
			`{"errors": {"exp_date": ["Expiration date must be in the future."]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantJSON(t, f.do(t, tc.method, tc.path, tc.auth, tc.body), tc.status, tc.want)
		})
	}
	if r := f.do(t, "POST", "/iam/v2/clients/1001/tokens", bearer, "{"); r.status != 400 || !bytes.Contains(r.body, []byte("JSON parse error - ")) {
		t.Errorf("create with bad JSON: %d %s, want 400 JSON parse error", r.status, r.body)
	}

	t.Run("permanent token by role id", func(t *testing.T) {
		r := f.do(t, "POST", "/iam/v2/clients/1001/tokens", bearer,
			`{"name": "forever", "exp_date": null, "client_user": {"role": {"id": 3}}}`)
		var v tokenView
		if err := json.Unmarshal(r.body, &v); r.status != 200 || err != nil || v.ExpDate != nil || v.ClientUser.Role != (role{ID: 3}) {
			t.Errorf("create: %d %s", r.status, r.body)
		}
	})

	t.Run("delete", func(t *testing.T) {
		path := "/iam/v2/clients/1001/tokens/" + strconv.FormatInt(created.ID, 10)
		other := "Bearer " + wantPair(t, f.do(t, "GET", "/iam/auth/jwt/clients/1002/login", bearer, nil)).Access
		wantJSON(t, f.do(t, "DELETE", "/iam/v2/clients/1002/tokens/"+strconv.FormatInt(created.ID, 10), other, nil), 404, notFound)
		if r := f.do(t, "DELETE", path, bearer, nil); r.status != 204 || len(r.body) != 0 {
			t.Fatalf("delete: %d %s, want 204 and no body", r.status, r.body)
		}
		wantJSON(t, f.do(t, "DELETE", path, bearer, nil), 404, notFound)
		wantJSON(t, f.do(t, "GET", "/iam/clients/me", "APIKey "+created.Token, nil), 401, invalid)
	})
}

func TestAPITokenCap(t *testing.T) {
	f := newFixture(t, Config{})
	bearer := "Bearer " + f.login(t, aliceEmail, alicePW).Access
	past := f.clock.Now().Add(-time.Hour)
	f.s.AddAPIToken(1001, "expired", &past) // expired tokens do not count
	f.s.AddAPIToken(1002, "other account", nil)
	for range maxLiveTokens - 1 {
		f.s.AddAPIToken(1001, "filler", nil)
	}
	body := map[string]any{"name": "x", "exp_date": nil, "client_user": map[string]any{"role": map[string]any{"id": 1}}}
	r := f.do(t, "POST", "/iam/v2/clients/1001/tokens", bearer, body)
	if r.status != 200 {
		t.Fatalf("50th token: %d %s, want 200", r.status, r.body)
	}
	wantJSON(t, f.do(t, "POST", "/iam/v2/clients/1001/tokens", bearer, body), 400,
		`{"errors": {"errors": ["The maximum number of API tokens (50) is reached."]}}`)

	var v tokenView
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, "DELETE", "/iam/v2/clients/1001/tokens/"+strconv.FormatInt(v.ID, 10), bearer, nil); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	if r := f.do(t, "POST", "/iam/v2/clients/1001/tokens", bearer, body); r.status != 200 {
		t.Errorf("after a delete: %d %s, want 200", r.status, r.body)
	}
	var st Stats
	if err := json.Unmarshal(f.do(t, "GET", "/_fake/stats", "", nil).body, &st); err != nil {
		t.Fatal(err)
	}
	if st.LiveAPITokens != maxLiveTokens+1 {
		t.Errorf("live_api_tokens %d, want %d", st.LiveAPITokens, maxLiveTokens+1)
	}
}
