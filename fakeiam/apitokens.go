package fakeiam

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxLiveTokens is Gcore's cap on unexpired API tokens per account.
const maxLiveTokens = 50

type role struct {
	ID   int64  `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// apiToken is a permanent API token. Deleting one removes it.
type apiToken struct {
	id                int64
	secret            string
	account           Account
	userID            int64
	email             string
	name, description string
	role              role
	exp               *time.Time // nil: never expires
	created           time.Time
}

func (t *apiToken) live(now time.Time) bool { return t.exp == nil || now.Before(*t.exp) }

func (t *apiToken) value() string { return strconv.FormatInt(t.id, 10) + "_" + t.secret }

// tokenView is IAM's JSON for an API token; the secret appears only in the create answer.
type tokenView struct {
	ID          int64      `json:"id"`
	Token       string     `json:"token,omitempty"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	ExpDate     *time.Time `json:"exp_date"`
	Expired     bool       `json:"expired"`
	Created     time.Time  `json:"created"`
	ClientUser  struct {
		Role      role   `json:"role"`
		UserID    int64  `json:"user_id"`
		UserEmail string `json:"user_email"`
		ClientID  int64  `json:"client_id"`
	} `json:"client_user"`
}

func (t *apiToken) view(now time.Time) tokenView {
	v := tokenView{
		ID:          t.id,
		Name:        t.name,
		Description: t.description,
		ExpDate:     t.exp,
		Expired:     !t.live(now),
		Created:     t.created,
	}
	v.ClientUser.Role = t.role
	v.ClientUser.UserID = t.userID
	v.ClientUser.UserEmail = t.email
	v.ClientUser.ClientID = t.account.ID
	return v
}

// mintLocked creates a token for p's account; s.mu must be held.
func (s *Server) mintLocked(p principal, name, description string, exp *time.Time, r role) (*apiToken, error) {
	secret, err := s.randomHex(32)
	if err != nil {
		return nil, err
	}
	s.lastTokenID++
	t := &apiToken{
		id:          s.lastTokenID,
		secret:      secret,
		account:     p.account,
		userID:      p.userID,
		email:       p.email,
		name:        name,
		description: description,
		role:        r,
		exp:         exp,
		created:     s.cfg.Now(),
	}
	s.apiTokens = append(s.apiTokens, t)
	return t, nil
}

// liveTokensLocked counts unexpired tokens of the account, or of all accounts when clientID is 0;
// s.mu must be held.
func (s *Server) liveTokensLocked(clientID int64, now time.Time) int {
	n := 0
	for _, t := range s.apiTokens {
		if (clientID == 0 || t.account.ID == clientID) && t.live(now) {
			n++
		}
	}
	return n
}

// AddAPIToken mints a permanent API token for account clientID as if the account's first user
// had created it, skipping validation and the 50-token cap so tests can set up any state, and
// returns it as "<id>_<secret>". exp nil means it never expires. It panics if Config.Rand fails.
func (s *Server) AddAPIToken(clientID int64, name string, exp *time.Time) string {
	if exp != nil {
		e := *exp
		exp = &e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := principal{account: Account{ID: clientID}}
	for _, u := range s.users {
		if i := slices.IndexFunc(u.Accounts, func(a Account) bool { return a.ID == clientID }); i >= 0 {
			p = principal{u.UserID, u.Email, u.Accounts[i]}
			break
		}
	}
	t, err := s.mintLocked(p, name, "", exp, role{ID: 1, Name: "Administrators"})
	if err != nil {
		panic("fakeiam: mint api token: " + err.Error())
	}
	return t.value()
}

// DeleteAPIToken deletes the permanent API token token ("<id>_<secret>"), as a user does in
// the portal, and reports whether there was one.
func (s *Server) DeleteAPIToken(token string) bool {
	p, ok := s.apiKeyPrincipal(token)
	if !ok {
		return false
	}
	id, _ := strconv.ParseInt(token[:strings.IndexAny(token, "_$")], 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.apiTokens)
	s.apiTokens = slices.DeleteFunc(s.apiTokens, func(t *apiToken) bool { return t.id == id && t.account.ID == p.account.ID })
	return len(s.apiTokens) < n
}

// apiKeyPrincipal accepts "<id>_<secret>" and the legacy "<id>$<secret>".
func (s *Server) apiKeyPrincipal(cred string) (principal, bool) {
	i := strings.IndexAny(cred, "_$")
	if i < 0 {
		return principal{}, false
	}
	id, err := strconv.ParseInt(cred[:i], 10, 64)
	if err != nil {
		return principal{}, false
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.apiTokens {
		if t.id == id && t.secret == cred[i+1:] && t.live(now) {
			return principal{t.userID, t.email, t.account}, true
		}
	}
	return principal{}, false
}

// accountPrincipal authenticates r for the account in its path. A credential acts only in the
// account it was issued for; acting in another one takes an account switch first.
func (s *Server) accountPrincipal(w http.ResponseWriter, r *http.Request) (principal, bool) {
	p, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, fieldNonField, msgInvalidToken)
		return principal{}, false
	}
	id, err := strconv.ParseInt(r.PathValue("clientId"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, fieldNonField, msgNotFound)
		return principal{}, false
	}
	if id != p.account.ID {
		writeError(w, http.StatusForbidden, fieldNonField, msgNotMember)
		return principal{}, false
	}
	return p, true
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	p, ok := s.accountPrincipal(w, r)
	if !ok {
		return
	}
	var req struct {
		Name        string  `json:"name"`
		Description string  `json:"description"`
		ExpDate     *string `json:"exp_date"`
		ClientUser  struct {
			Role role `json:"role"`
		} `json:"client_user"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	now := s.cfg.Now()
	errs := map[string][]string{}
	if req.Name == "" {
		errs["name"] = []string{msgRequired}
	}
	var exp *time.Time
	if req.ExpDate != nil {
		t, err := time.Parse(time.RFC3339, *req.ExpDate)
		switch {
		case err != nil:
			errs["exp_date"] = []string{"Datetime has wrong format. Use RFC 3339."}
		case !now.Before(t):
			errs["exp_date"] = []string{"Expiration date must be in the future."}
		default:
			exp = &t
		}
	}
	if req.ClientUser.Role == (role{}) {
		errs["client_user"] = []string{"A role id or name is required."}
	}
	if len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, errs)
		return
	}

	s.mu.Lock()
	if s.liveTokensLocked(p.account.ID, now) >= maxLiveTokens {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, fieldNonField, "The maximum number of API tokens (50) is reached.")
		return
	}
	t, err := s.mintLocked(p, req.Name, req.Description, exp, req.ClientUser.Role)
	s.mu.Unlock()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "cannot create token"})
		return
	}
	v := t.view(now)
	v.Token = t.value()
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) {
	p, ok := s.accountPrincipal(w, r)
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("tokenId"), 10, 64) // malformed: 0, which no token has
	s.mu.Lock()
	i := slices.IndexFunc(s.apiTokens, func(t *apiToken) bool { return t.id == id && t.account.ID == p.account.ID })
	if i >= 0 {
		s.apiTokens = slices.Delete(s.apiTokens, i, i+1)
	}
	s.mu.Unlock()
	if i < 0 {
		writeError(w, http.StatusNotFound, fieldNonField, msgNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	p, ok := s.accountPrincipal(w, r)
	if !ok {
		return
	}
	now := s.cfg.Now()
	views := []tokenView{}
	s.mu.Lock()
	for _, t := range s.apiTokens {
		if t.account.ID == p.account.ID {
			views = append(views, t.view(now))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, views)
}
