package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
	"github.com/google/go-cmp/cmp"
)

// syncBuffer is stderr shared between run's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// started runs the binary's run in the background and returns its base URL once the URL file
// appears, and a function that stops it and returns its exit code.
func started(t *testing.T, args ...string) (url string, stderr *syncBuffer, stop func() int) {
	t.Helper()
	urlFile := filepath.Join(t.TempDir(), "url")
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &syncBuffer{}
	code := make(chan int, 1)
	go func() { code <- run(ctx, append(args, "--url-file", urlFile), stderr) }()
	stop = func() int {
		cancel()
		select {
		case c := <-code:
			if _, err := os.Stat(urlFile); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("url file left behind after exit: %v", err)
			}
			return c
		case <-time.After(30 * time.Second):
			t.Fatal("run did not return after cancel")
			return -1
		}
	}
	t.Cleanup(func() { cancel() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(urlFile)
		if err == nil {
			return string(b), stderr, stop
		}
		select {
		case c := <-code:
			t.Fatalf("run exited with %d before listening: %s", c, stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no url file after 30s: %s", stderr)
		}
	}
}

func post(t *testing.T, url string, body any) (int, []byte) {
	t.Helper()
	j, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func accessClaims(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var p struct{ Access string }
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	parts := strings.Split(p.Access, ".")
	if len(parts) != 3 {
		t.Fatalf("access token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRunDefaultUser(t *testing.T) {
	url, stderr, stop := started(t)
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`).MatchString(url) {
		t.Errorf("url %q, want http://127.0.0.1:PORT", url)
	}
	if want := "fake Gcore IAM listening on " + url + "\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	status, body := post(t, url+"/iam/auth/jwt/login", map[string]string{"username": "demo@example.com", "password": "demo-password"})
	if status != 200 {
		t.Fatalf("login: %d %s", status, body)
	}
	c := accessClaims(t, body)
	if c["client_id"] != float64(1001) || c["client_name"] != "Demo Account" || c["user_id"] != float64(1) {
		t.Errorf("claims %v, want user 1 in account 1001 Demo Account", c)
	}
	if code := stop(); code != 0 {
		t.Errorf("exit code %d, want 0; stderr %s", code, stderr)
	}
}

func TestRunUsersAndShutdown(t *testing.T) {
	url, stderr, stop := started(t, "--listen", "127.0.0.1:0", "--access-ttl", "2m",
		"--user", "a@example.com:pw-a", "--user", "b@example.com:pw-b:654321")

	status, body := post(t, url+"/iam/auth/jwt/login", map[string]string{"username": "a@example.com", "password": "pw-a"})
	if status != 200 {
		t.Fatalf("login a: %d %s", status, body)
	}
	if c := accessClaims(t, body); c["exp"].(float64)-float64(time.Now().Unix()) > 200 {
		t.Errorf("access exp %v is not about 2m away", c["exp"])
	}
	if status, body := post(t, url+"/iam/auth/jwt/login", map[string]string{"username": "b@example.com", "password": "pw-b"}); status != 400 || !bytes.Contains(body, []byte("one_time_password")) {
		t.Errorf("login b without OTP: %d %s, want a one_time_password 400", status, body)
	}
	if status, body := post(t, url+"/iam/auth/jwt/login", map[string]string{"username": "b@example.com", "password": "pw-b", "one_time_password": "654321"}); status != 200 {
		t.Errorf("login b with OTP: %d %s", status, body)
	}
	if status, _ := post(t, url+"/iam/auth/jwt/login", map[string]string{"username": "demo@example.com", "password": "demo-password"}); status != 400 {
		t.Errorf("default user still present with --user: %d", status)
	}

	resp, err := http.Get(url + "/_fake/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st fakeiam.Stats
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Calls[fakeiam.Login]; got != 4 {
		t.Errorf("stats login calls %d, want 4", got)
	}

	// A request hanging at shutdown must not keep the process alive.
	if status, body := post(t, url+"/_fake/faults", map[string]any{"endpoint": "me", "hang": true}); status != 204 {
		t.Fatalf("inject: %d %s", status, body)
	}
	hung := make(chan error, 1)
	go func() {
		resp, err := http.Get(url + "/iam/clients/me")
		if err == nil {
			resp.Body.Close()
		}
		hung <- err
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get(url + "/_fake/stats")
		if err != nil {
			t.Fatal(err)
		}
		var st fakeiam.Stats
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err == nil && st.Calls[fakeiam.Me] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("hung request never arrived")
		}
	}
	if code := stop(); code != 0 {
		t.Errorf("exit code %d, want 0; stderr %s", code, stderr)
	}
	if err := <-hung; err == nil {
		t.Error("hung request got an answer, want the connection dropped")
	}
	if strings.Contains(stderr.String(), "pw-") {
		t.Errorf("stderr mentions a password: %s", stderr)
	}
}

func TestRunUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"all interfaces", []string{"--listen", ":0"}, `--listen ":0": not a loopback address`},
		{"public address", []string{"--listen", "0.0.0.0:8080"}, "not a loopback address"},
		{"host name", []string{"--listen", "example.com:80"}, "not a loopback address"},
		{"no port", []string{"--listen", "127.0.0.1"}, "missing port"},
		{"user without password", []string{"--user", "a@example.com:"}, "--user #1: want email:password[:otp]"},
		{"user without email", []string{"--user", ":secret-pw"}, "--user #1: want email:password[:otp]"},
		{"empty otp", []string{"--user", "a@example.com:secret-pw:"}, "empty one-time password"},
		{"bad ttl", []string{"--access-ttl", "0s"}, "must be positive"},
		{"argument", []string{"serve"}, `unexpected argument "serve"`},
		{"unknown flag", []string{"--nope"}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stderr); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tc.want)
			}
			if strings.Contains(stderr.String(), "secret-pw") {
				t.Errorf("stderr repeats the password: %q", stderr.String())
			}
		})
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "127.1.2.3:80", "[::1]:0", "localhost:8080"} {
		if err := checkLoopback(addr); err != nil {
			t.Errorf("checkLoopback(%q) = %v, want nil", addr, err)
		}
	}
}

func TestParseUser(t *testing.T) {
	for _, tc := range []struct {
		in                   string
		email, password, otp string
	}{
		{"a@example.com:pw", "a@example.com", "pw", ""},
		{"a@example.com:pw:123456", "a@example.com", "pw", "123456"},
		{"a@example.com:pw:12:34", "a@example.com", "pw", "12:34"},
	} {
		u, err := parseUser(tc.in)
		if err != nil {
			t.Errorf("parseUser(%q): %v", tc.in, err)
			continue
		}
		if d := cmp.Diff([]string{tc.email, tc.password, tc.otp}, []string{u.Email, u.Password, u.OTP}); d != "" {
			t.Errorf("parseUser(%q) (-want +got):\n%s", tc.in, d)
		}
	}
}

func FuzzParseUser(f *testing.F) {
	for _, s := range []string{"a@example.com:pw", "a:b:c", "::", "a:b:", ":b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		u, err := parseUser(v)
		if err != nil {
			return
		}
		joined := u.Email + ":" + u.Password
		if u.OTP != "" {
			joined += ":" + u.OTP
		}
		if joined != v || u.Email == "" || u.Password == "" {
			t.Errorf("parseUser(%q) = %q %q %q, which does not rebuild the input", v, u.Email, u.Password, u.OTP)
		}
	})
}
