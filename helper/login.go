package helper

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/iam"
)

// LoginRequiredError means a login is needed but no human may be asked and no
// non-interactive source had the secret. Its message is exactly the line of
// the reference's prompts; Reason goes on a hint line of its own.
type LoginRequiredError struct {
	Profile string
	// Reason says what was missing, when that helps the user.
	Reason string
}

func (e *LoginRequiredError) Error() string {
	return fmt.Sprintf("login required for profile %q", e.Profile)
}

func (e *Engine) loginRequired() error {
	return &LoginRequiredError{Profile: e.Profile.Name}
}

// LoginResult is what an explicit login did.
type LoginResult struct {
	// Profile is the profile as logged in: its username and client id are
	// the ones the session is stored under, which the config file must say
	// for later calls to find it.
	Profile config.Profile
	Session *Session
}

// Login always starts a new session, as the login command does, forgetting any
// remembered failure. A damaged stored session is replaced, with a note.
func (e *Engine) Login(ctx context.Context) (LoginResult, error) {
	p := e.Profile
	if p.Username == "" && p.Auth != config.AuthAPIToken {
		user, err := e.Secrets.Username(ctx)
		if err != nil {
			return LoginResult{}, e.secretError(err, "the profile has no username: set one with login --username")
		}
		p.Username = user
	}
	// The work is done for the identity just completed, under its own key.
	id := e.withProfile(p)
	r := id.sessionRecord()
	unlock, err := id.lock(ctx, r.key, r.what)
	if err != nil {
		return LoginResult{}, err
	}
	defer unlock()
	if id.Memo != nil {
		_ = id.Memo.Forget(r.key)
	}
	prev, found, err := r.load(id)
	var damaged *DamagedError
	if errors.As(err, &damaged) {
		id.notef("%v; logging in replaces it", err)
		prev, found, err = nil, false, nil
	}
	if err != nil {
		return LoginResult{}, err
	}
	if !found {
		prev = nil
	}
	sess, err := id.login(ctx, prev, true)
	if err != nil {
		return LoginResult{}, err
	}
	return LoginResult{Profile: p, Session: sess}, nil
}

// abandoner is a Store that prepareStore may have made, and that unmakes
// itself if nothing was put in it yet.
type abandoner interface {
	Abandon()
}

// writePreparer is a Store that is made on its first write (the encrypted
// file, whose new passphrase may have to be asked for).
type writePreparer interface {
	PrepareWrite() error
}

// prepareStore makes a store that is made on first write, once a login has
// its credentials and before it calls IAM: the new passphrase is asked for
// first, and a store that cannot be made costs no login.
func (e *Engine) prepareStore() error {
	if p, ok := e.Store.(writePreparer); ok {
		return p.PrepareWrite()
	}
	return nil
}

// login is called with the key's lock held. prev is the session being
// replaced, possibly nil; explicit is the login command, not a stale token.
func (e *Engine) login(ctx context.Context, prev *Session, explicit bool) (*Session, error) {
	r := e.sessionRecord()
	remember := !explicit && e.Memo != nil && !e.Secrets.CanPrompt()
	if remember {
		if msg, at, ok := e.Memo.Recall(r.key, e.Now(), FailureMemory); ok {
			return nil, &RecentFailureError{Profile: e.Profile.Name, Message: msg, Ago: e.Now().Sub(at)}
		}
	}
	var (
		sess *Session
		err  error
	)
	if e.Profile.Auth == config.AuthAPIToken {
		sess, err = e.loginAPIToken(ctx)
	} else {
		sess, err = e.loginPassword(ctx)
	}
	if err != nil {
		if remember && rememberable(err) {
			_ = e.Memo.Remember(r.key, e.Now(), err.Error())
		}
		if a, ok := e.Store.(abandoner); ok {
			a.Abandon() // a first login that failed leaves no store behind
		}
		return nil, err
	}
	if prev != nil && prev.Rejected != "" && prev.Rejected != sess.Access {
		sess.Rejected = prev.Rejected
	}
	if err := r.save(e, sess); err != nil {
		return nil, err
	}
	return sess, nil
}

// RecentFailureError is a non-interactive login that is not tried because
// the same one failed moments ago (see FailureMemory).
type RecentFailureError struct {
	Profile, Message string
	// Ago is how long ago it failed; it is tried again once FailureMemory
	// has passed.
	Ago time.Duration
}

func (e *RecentFailureError) Error() string {
	seconds := func(d time.Duration) string { return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second)) }
	return fmt.Sprintf("a login for profile %q failed %s ago (%s); not trying again for %s",
		e.Profile, seconds(e.Ago), e.Message, seconds(FailureMemory-e.Ago))
}

// BadCredentialsError is a password IAM refused; Source says where it came
// from (GCORE_PASSWORD, password_command, …), for the hint.
type BadCredentialsError struct {
	Username, Source string
	Err              error
}

func (e *BadCredentialsError) Error() string {
	return fmt.Sprintf("log in as %s with the password from %s: %v", e.Username, e.Source, e.Err)
}

func (e *BadCredentialsError) Unwrap() error { return e.Err }

// rememberable reports whether a login failure will certainly repeat if tried
// again at once: IAM refused the credentials. Network trouble is not remembered.
func rememberable(err error) bool {
	return errors.Is(err, iam.ErrBadCredentials) || errors.Is(err, iam.ErrOTPRequired) ||
		errors.Is(err, iam.ErrForbidden) || errors.Is(err, iam.ErrTokenRejected)
}

func (e *Engine) loginPassword(ctx context.Context) (*Session, error) {
	password, from, err := e.Secrets.password(ctx, e.Profile.Username)
	if err != nil {
		return nil, e.secretError(err, "no password in GCORE_PASSWORD, password_command or GCORE_ASKPASS")
	}
	cr := iam.Credentials{Username: e.Profile.Username, Password: password}
	if e.Secrets.Getenv != nil {
		if otp := e.Secrets.Getenv("GCORE_OTP"); otp != "" {
			if err := CheckSecret(otp); err != nil {
				return nil, fmt.Errorf("GCORE_OTP: %w", err)
			}
			cr.OTP = otp
		}
	}
	if err := e.prepareStore(); err != nil {
		return nil, err
	}
	e.debugf("logging in to profile %q", e.Profile.Name)
	tokens, err := callIAM(ctx, e, func(ctx context.Context) (iam.Tokens, error) { return e.Auth.Login(ctx, cr) })
	if errors.Is(err, iam.ErrOTPRequired) && cr.OTP == "" {
		// The code is read before the next deadline starts: a person may
		// take longer to type it than a request may take.
		otp, oerr := e.Secrets.OTP(ctx)
		if oerr != nil {
			return nil, e.secretError(oerr, "the account needs a one-time password: set GCORE_OTP or otp_command")
		}
		cr.OTP = otp
		tokens, err = callIAM(ctx, e, func(ctx context.Context) (iam.Tokens, error) { return e.Auth.Login(ctx, cr) })
	}
	if errors.Is(err, iam.ErrBadCredentials) {
		return nil, &BadCredentialsError{Username: e.Profile.Username, Source: from, Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("log in as %s: %w", e.Profile.Username, err)
	}
	sess := &Session{Auth: config.AuthPassword, Username: e.Profile.Username}
	if err := sess.setTokens(tokens, e.Now()); err != nil {
		return nil, err
	}
	if id := e.Profile.ClientID; id != 0 && id != sess.AccountID {
		e.debugf("switching profile %q to account %d", e.Profile.Name, id)
		// The switch has a deadline of its own, started now.
		switched, err := callIAM(ctx, e, func(ctx context.Context) (iam.Tokens, error) {
			return e.Auth.SwitchAccount(ctx, sess.Access, id)
		})
		if err != nil {
			return nil, fmt.Errorf("switch to account %d: %w", id, err)
		}
		if err := sess.setTokens(switched, e.Now()); err != nil {
			return nil, err
		}
	}
	return sess, nil
}

func (e *Engine) loginAPIToken(ctx context.Context) (*Session, error) {
	token, err := e.Secrets.APIToken(ctx)
	if err != nil {
		return nil, e.secretError(err, "no API token in GCORE_API_KEY or GCORE_API_TOKEN")
	}
	if err := e.prepareStore(); err != nil {
		return nil, err
	}
	account, err := callIAM(ctx, e, func(ctx context.Context) (iam.Account, error) {
		return e.Auth.Me(ctx, iam.APIKeyAuthorization(token))
	})
	if err != nil {
		return nil, fmt.Errorf("verify API token: %w", err)
	}
	if id := e.Profile.ClientID; id != 0 && id != account.ID {
		return nil, fmt.Errorf("the API token belongs to account %d, not %d as profile %q says", account.ID, id, e.Profile.Name)
	}
	return &Session{Auth: config.AuthAPIToken, APIToken: token, AccountID: account.ID,
		Account: account.Name, UserID: account.CurrentUser, Username: account.Email}, nil
}

// callIAM runs one IAM or Cloud call with a deadline of its own, the
// profile's http_timeout, started when the call starts.
func callIAM[T any](ctx context.Context, e *Engine, call func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, e.Profile.HTTPTimeout)
	defer cancel()
	return call(ctx)
}

// secretError turns "nobody could give us the secret" into the login-required
// error the CLI maps to exit 3; other failures (a broken password_command)
// pass through.
func (e *Engine) secretError(err error, reason string) error {
	if errors.Is(err, ErrNoSecret) {
		return &LoginRequiredError{Profile: e.Profile.Name, Reason: reason}
	}
	return fmt.Errorf("read secret for profile %q: %w", e.Profile.Name, err)
}
