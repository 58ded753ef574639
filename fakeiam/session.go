package fakeiam

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

const (
	msgRequired     = "This field is required"
	msgNoAccount    = "No active account found with the given credentials."
	msgOTPRequired  = "Two-factor authentication is enabled: one-time password is required."
	msgOTPInvalid   = "Invalid one-time password."
	msgInvalidToken = "Token is invalid or expired"
	msgNotMember    = "You do not have permission to perform this action."
	msgNotFound     = "Not found."
	fieldNonField   = "errors"
	fieldOTP        = "one_time_password"
)

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
		OTP      string `json:"one_time_password"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	missing := map[string][]string{}
	if req.Username == "" {
		missing["username"] = []string{msgRequired}
	}
	if req.Password == "" {
		missing["password"] = []string{msgRequired}
	}
	if len(missing) > 0 {
		writeErrors(w, http.StatusBadRequest, missing)
		return
	}
	u, ok := s.userByEmail(req.Username)
	if !ok || u.Password != req.Password || len(u.Accounts) == 0 {
		writeError(w, http.StatusBadRequest, fieldNonField, msgNoAccount)
		return
	}
	switch {
	case u.OTP == "":
	case req.OTP == "":
		writeError(w, http.StatusBadRequest, fieldOTP, msgOTPRequired)
		return
	case req.OTP != u.OTP:
		writeError(w, http.StatusBadRequest, fieldOTP, msgOTPInvalid)
		return
	}
	s.writeSession(w, sessionClaims(u, u.Accounts[0]))
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Refresh string `json:"refresh"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.Refresh == "" {
		writeError(w, http.StatusBadRequest, "refresh", msgRequired)
		return
	}
	c, ok := s.current(req.Refresh, typeRefresh)
	if !ok {
		writeError(w, http.StatusUnauthorized, fieldNonField, msgInvalidToken)
		return
	}
	s.mu.Lock()
	reused := s.used[c.JTI]
	s.used[c.JTI] = true
	s.mu.Unlock()
	if reused {
		s.refreshReuse.Add(1)
		writeError(w, http.StatusUnauthorized, fieldNonField, msgInvalidToken)
		return
	}
	s.writeSession(w, c)
}

// bearer returns the claims of r's `Bearer <access JWT>` when the token is current.
func (s *Server) bearer(r *http.Request) (claims, bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	c, ok := s.current(token, typeAccess)
	return c, ok && strings.EqualFold(scheme, "Bearer")
}

func (s *Server) switchAccount(w http.ResponseWriter, r *http.Request) {
	c, ok := s.bearer(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, fieldNonField, msgInvalidToken)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("clientId"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, fieldNonField, msgNotFound)
		return
	}
	u, ok := s.userByEmail(c.Email)
	i := slices.IndexFunc(u.Accounts, func(a Account) bool { return a.ID == id })
	if !ok || i < 0 {
		writeError(w, http.StatusForbidden, fieldNonField, msgNotMember)
		return
	}
	s.writeSession(w, sessionClaims(u, u.Accounts[i]))
}

// me answers GET /iam/clients/me: the account and user behind a credential.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, fieldNonField, msgInvalidToken)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":          p.account.ID,
		"name":        p.account.Name,
		"companyName": p.account.Name,
		"email":       p.email,
		"currentUser": p.userID,
		"status":      "active",
	})
}

// principal is who a request's credential speaks for, and in which account.
type principal struct {
	userID  int64
	email   string
	account Account
}

// authenticate accepts `Bearer <access JWT>` and `APIKey <permanent token>` (scheme names are
// case-insensitive, as IAM documents "apikey" in lower case too).
func (s *Server) authenticate(r *http.Request) (principal, bool) {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch strings.ToLower(scheme) {
	case "bearer":
		c, ok := s.current(cred, typeAccess)
		return principal{c.UserID, c.Email, Account{c.ClientID, c.ClientName}}, ok
	case "apikey":
		return s.apiKeyPrincipal(cred)
	}
	return principal{}, false
}

func (s *Server) writeSession(w http.ResponseWriter, base claims) {
	p, err := s.issue(base)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "cannot issue tokens"})
		return
	}
	writeJSON(w, http.StatusOK, p)
}
