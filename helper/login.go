package helper

import (
	"context"
	"errors"
	"fmt"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/iam"
)

// LoginRequiredError means a login is needed but no human may be asked and no
// non-interactive source had the secret. Its message is exactly the line of
// SPEC §6; Reason goes on a hint line of its own.
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

// LoginOptions tune an explicit login.
type LoginOptions struct {
	// Switch is an account to switch to after login; 0 keeps the profile's.
	Switch int64
}

// Login always starts a new session, as the login command does, forgetting any
// remembered failure.
func (e *Engine) Login(ctx context.Context, opts LoginOptions) (*Session, error) {
	if e.Profile.Username == "" && e.Profile.Auth != config.AuthAPIToken {
		user, err := e.Secrets.Username(ctx)
		if err != nil {
			return nil, e.secretError(err, "the profile has no username: set one with login --username")
		}
		e.Profile.Username = user
	}
	if opts.Switch != 0 {
		e.Profile.ClientID = opts.Switch
	}
	key := e.Key()
	unlock, err := e.lock(ctx, key)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if e.Memo != nil {
		_ = e.Memo.Forget(key)
	}
	sess, err := e.load(key)
	if err != nil {
		return nil, err
	}
	return e.login(ctx, key, sess, loginRequest{explicit: true})
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

type loginRequest struct {
	explicit bool // the login command, not a stale token
}

// login is called with the key's lock held. prev is the session being
// replaced, possibly nil.
func (e *Engine) login(ctx context.Context, key string, prev *Session, req loginRequest) (*Session, error) {
	remember := !req.explicit && e.Memo != nil && e.Secrets.Prompt == nil
	if remember {
		if msg, ok := e.Memo.Recall(key, e.Now(), FailureMemory); ok {
			return nil, fmt.Errorf("a login for profile %q failed moments ago, not retrying yet: %s", e.Profile.Name, msg)
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
			_ = e.Memo.Remember(key, e.Now(), err.Error())
		}
		return nil, err
	}
	if prev != nil && prev.Rejected != "" && prev.Rejected != sess.Access {
		sess.Rejected = prev.Rejected
	}
	if err := e.save(key, sess); err != nil {
		return nil, err
	}
	return sess, nil
}

// rememberable reports whether a login failure will certainly repeat if tried
// again at once: IAM refused the credentials. Network trouble is not remembered.
func rememberable(err error) bool {
	return errors.Is(err, iam.ErrBadCredentials) || errors.Is(err, iam.ErrOTPRequired) ||
		errors.Is(err, iam.ErrForbidden) || errors.Is(err, iam.ErrTokenRejected)
}

func (e *Engine) loginPassword(ctx context.Context) (*Session, error) {
	password, err := e.Secrets.Password(ctx, e.Profile.Username)
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
	netCtx, cancel := context.WithTimeout(ctx, e.Profile.HTTPTimeout)
	defer cancel()
	e.debugf("logging in to profile %q", e.Profile.Name)
	tokens, err := e.IAM.Login(netCtx, cr)
	if errors.Is(err, iam.ErrOTPRequired) && cr.OTP == "" {
		otp, oerr := e.Secrets.OTP(ctx)
		if oerr != nil {
			return nil, e.secretError(oerr, "the account needs a one-time password: set GCORE_OTP or otp_command")
		}
		cr.OTP = otp
		otpCtx, cancel := context.WithTimeout(ctx, e.Profile.HTTPTimeout)
		defer cancel()
		tokens, err = e.IAM.Login(otpCtx, cr)
	}
	if err != nil {
		return nil, fmt.Errorf("log in as %s: %w", e.Profile.Username, err)
	}
	sess := &Session{Auth: config.AuthPassword, Username: e.Profile.Username}
	if err := sess.setTokens(tokens); err != nil {
		return nil, err
	}
	if id := e.Profile.ClientID; id != 0 && id != sess.AccountID {
		e.debugf("switching profile %q to account %d", e.Profile.Name, id)
		switched, err := e.IAM.SwitchAccount(netCtx, sess.Access, id)
		if err != nil {
			return nil, fmt.Errorf("switch to account %d: %w", id, err)
		}
		if err := sess.setTokens(switched); err != nil {
			return nil, err
		}
	}
	return sess, nil
}

func (e *Engine) loginAPIToken(ctx context.Context) (*Session, error) {
	token, err := e.Secrets.APIToken(ctx)
	if err != nil {
		return nil, e.secretError(err, "no API token in GCORE_API_TOKEN")
	}
	if err := e.prepareStore(); err != nil {
		return nil, err
	}
	netCtx, cancel := context.WithTimeout(ctx, e.Profile.HTTPTimeout)
	defer cancel()
	account, err := e.IAM.Me(netCtx, iam.APIKeyAuthorization(token))
	if err != nil {
		return nil, fmt.Errorf("verify API token: %w", err)
	}
	if id := e.Profile.ClientID; id != 0 && id != account.ID {
		return nil, fmt.Errorf("the API token belongs to account %d, not %d as profile %q says", account.ID, id, e.Profile.Name)
	}
	return &Session{Auth: config.AuthAPIToken, APIToken: token, AccountID: account.ID,
		Account: account.Name, UserID: account.CurrentUser, Username: account.Email}, nil
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
