// Command fake-gcore-iam serves the fake Gcore IAM of package fakeiam on a loopback port, for
// `make demo` and for tests that drive the helper as separate processes. It is its own binary
// so that nothing shipped links the fake.
//
// Usage:
//
//	fake-gcore-iam [--listen 127.0.0.1:0] [--access-ttl 1h] [--refresh-ttl 24h]
//	               [--user email:password[:otp]]... [--url-file PATH]
//
// Every user belongs to accounts 1001 "Demo Account" and 1002 "Second Account" and to the
// Administrators group. Without --user there is one user, demo@example.com:demo-password.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/atomicfile"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
)

const defaultUser = "demo@example.com:demo-password"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// userFlags collects --user values unparsed: flag would echo a bad value, password included.
type userFlags []string

func (u *userFlags) String() string     { return "" }
func (u *userFlags) Set(v string) error { *u = append(*u, v); return nil }

// run serves until ctx is done and returns the exit code: 0 after a clean stop, 1 when serving
// fails, 2 for bad usage.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("fake-gcore-iam", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "loopback `address` to listen on")
	accessTTL := fs.Duration("access-ttl", time.Hour, "lifetime of access tokens")
	refreshTTL := fs.Duration("refresh-ttl", 24*time.Hour, "lifetime of refresh tokens")
	urlFile := fs.String("url-file", "", "write the base URL (no newline) to `path` once listening")
	var rawUsers userFlags
	fs.Var(&rawUsers, "user", "add a user `email:password[:otp]` (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(err error) int {
		fmt.Fprintf(stderr, "fake-gcore-iam: error: %v\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		return usage(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if err := checkLoopback(*listen); err != nil {
		return usage(err)
	}
	if *accessTTL <= 0 || *refreshTTL <= 0 {
		return usage(errors.New("--access-ttl and --refresh-ttl must be positive"))
	}
	if len(rawUsers) == 0 {
		rawUsers = userFlags{defaultUser}
	}
	users := make([]fakeiam.User, len(rawUsers))
	for i, v := range rawUsers {
		u, err := parseUser(v)
		if err != nil {
			return usage(fmt.Errorf("--user #%d: %w", i+1, err))
		}
		u.UserID = int64(i + 1)
		users[i] = u
	}

	if err := serve(ctx, fakeiam.Config{AccessTTL: *accessTTL, RefreshTTL: *refreshTTL}, users, *listen, *urlFile, stderr); err != nil {
		fmt.Fprintf(stderr, "fake-gcore-iam: error: %v\n", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, cfg fakeiam.Config, users []fakeiam.User, listen, urlFile string, stderr io.Writer) error {
	iam, err := fakeiam.New(cfg)
	if err != nil {
		return err
	}
	for _, u := range users {
		iam.AddUser(u)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	url := "http://" + ln.Addr().String()
	// Announce before publishing the URL file: whoever waits for the file may read stderr next.
	fmt.Fprintf(stderr, "fake Gcore IAM listening on %s\n", url)
	if urlFile != "" {
		if err := atomicfile.Write(urlFile, []byte(url), 0o600); err != nil {
			ln.Close()
			return err
		}
		defer os.Remove(urlFile) // a stale URL would point the next demo at a dead port
	}

	// Request contexts derive from baseCtx: cancelling it releases hung and delayed handlers,
	// which Shutdown would otherwise wait for.
	baseCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := &http.Server{
		Handler:           iam,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	cancel()
	stopCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if err := srv.Shutdown(stopCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// checkLoopback refuses addresses reachable from other machines: the fake hands out tokens to
// anyone who knows the demo password.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		return fmt.Errorf("--listen %q: not a loopback address", addr)
	}
	return nil
}

// parseUser reads email:password[:otp]; the password cannot contain a colon. Errors never
// repeat the value, which holds a password.
func parseUser(v string) (fakeiam.User, error) {
	parts := strings.SplitN(v, ":", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return fakeiam.User{}, errors.New("want email:password[:otp]")
	}
	u := fakeiam.User{
		Email:    parts[0],
		Password: parts[1],
		Accounts: []fakeiam.Account{{ID: 1001, Name: "Demo Account"}, {ID: 1002, Name: "Second Account"}},
		Groups:   []fakeiam.Group{{ID: 1, Name: "Administrators"}},
	}
	if len(parts) == 3 {
		if parts[2] == "" {
			return fakeiam.User{}, errors.New("empty one-time password: leave out the second colon")
		}
		u.OTP = parts[2]
	}
	return u, nil
}
