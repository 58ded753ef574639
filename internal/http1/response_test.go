package http1

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/harness"
)

func TestReadResponseFraming(t *testing.T) {
	tests := []struct {
		name, answer string
		maxBody      int64
		status       int
		body         string
		header       map[string]string
	}{
		{name: "content-length", answer: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Request-Id: r1\r\n\r\nhello", status: 200, body: "hello",
			header: map[string]string{"X-Request-Id": "r1"}},
		{name: "content-length stops at the body", answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhello", status: 200, body: "he"},
		{name: "repeated equal content-length", answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\nhi", status: 200, body: "hi"},
		{name: "chunked", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n", status: 200, body: "hello, world"},
		{name: "chunked wins over content-length", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n2\r\nok\r\n0\r\n\r\n", status: 200, body: "ok"},
		{name: "upper-case chunk size", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", status: 200, body: "0123456789"},
		{name: "until the connection ends", answer: "HTTP/1.0 500 Internal Server Error\r\n\r\nbroken", status: 500, body: "broken"},
		{name: "no content", answer: "HTTP/1.1 204 No Content\r\n\r\nignored", status: 204, body: ""},
		{name: "interim answers skipped", answer: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", status: 201, body: "ok"},
		{name: "status without reason", answer: "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", status: 404, body: ""},
		{name: "content-length cut", answer: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", maxBody: 4, status: 200, body: "0123"},
		{name: "chunked cut", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", maxBody: 4, status: 200, body: "abcd"},
		{name: "connection end cut", answer: "HTTP/1.1 200 OK\r\n\r\n0123456789", maxBody: 4, status: 200, body: "0123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			maxBody := tt.maxBody
			if maxBody == 0 {
				maxBody = 1 << 10
			}
			res, err := ReadResponse(strings.NewReader(tt.answer), maxBody)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.status || string(res.Body) != tt.body {
				t.Errorf("got %d %q, want %d %q", res.Status, res.Body, tt.status, tt.body)
			}
			for k, v := range tt.header {
				if got := res.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestReadResponseRefusesBrokenAnswers(t *testing.T) {
	tests := []struct{ name, answer, want string }{
		{"empty", "", "unexpected EOF"},
		{"not http", "SSH-2.0-OpenSSH\r\n\r\n", "malformed status line"},
		{"http/2 status line", "HTTP/2 200\r\n\r\n", "malformed status line"},
		{"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", "malformed status line"},
		{"status below 100", "HTTP/1.1 099 X\r\n\r\n", "malformed status line"},
		{"header cut", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", "unexpected EOF"},
		{"body cut short", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", "unexpected EOF"},
		{"conflicting content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "invalid content-length"},
		{"negative content-length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid content-length"},
		{"signed content-length", "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx", "invalid content-length"},
		{"gzip transfer-encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "unsupported transfer-encoding"},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunk size"},
		{"signed chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+1\r\nx\r\n0\r\n\r\n", "malformed chunk size"},
		{"chunk without line break", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy0\r\n\r\n", "malformed chunk"},
		{"chunked without last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n", "unexpected EOF"},
		{"endless header", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxHeaderBytes+10), "answer too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ReadResponse(strings.NewReader(tt.answer), 1<<10)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ReadResponse = %+v, %v; want an error containing %q", res, err, tt.want)
			}
		})
	}
}

// TestReadResponseBodyErrorKeepsTheHead: a body cut short still tells the
// caller the status that arrived.
func TestReadResponseBodyErrorKeepsTheHead(t *testing.T) {
	res, err := ReadResponse(strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Request-Id: r\r\n\r\nhel"), 1<<10)
	if !errors.Is(err, io.ErrUnexpectedEOF) || res == nil || res.Status != 200 || res.Header.Get("X-Request-Id") != "r" {
		t.Fatalf("ReadResponse = %+v, %v; want status 200 with io.ErrUnexpectedEOF", res, err)
	}
}

// FuzzReadResponse: no answer makes ReadResponse panic, or return a body
// longer than its bound.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 204 No Content\r\n\r\n",
		"HTTP/1.1 500 x\r\n\r\nbody until the end",
		"HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		const maxBody = 64
		res, err := ReadResponse(strings.NewReader(string(answer)), maxBody)
		if err != nil {
			return
		}
		if res.Status < 100 || res.Status > 999 || len(res.Body) > maxBody {
			t.Fatalf("status %d, body of %d bytes (bound %d)", res.Status, len(res.Body), maxBody)
		}
	})
}

// TestReadResponseStopsAtTheBody: with Content-Length, what follows the body
// (a server's stray bytes) is not waited for.
func TestReadResponseStopsAtTheBody(t *testing.T) {
	r, w := io.Pipe()
	go func() {
		_, _ = io.WriteString(w, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		// The writer stays open: reading on would block forever.
	}()
	defer w.Close()
	err := harness.Within(t, 30*time.Second, "ReadResponse of a body of known length", func() error {
		res, err := ReadResponse(r, 1<<10)
		if err == nil && string(res.Body) != "ok" {
			err = errors.New("body " + string(res.Body))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(1994, time.November, 6, 8, 49, 37, 0, time.UTC)
	for _, s := range []string{"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := ParseTime("yesterday"); err == nil {
		t.Error("ParseTime(yesterday): no error")
	}
}

// TestStatusText: the phrases are net/http's, so messages read as before.
func TestStatusText(t *testing.T) {
	for code := 100; code < 600; code++ {
		if got, want := StatusText(code), http.StatusText(code); got != want {
			t.Errorf("StatusText(%d) = %q, net/http says %q", code, got, want)
		}
	}
}
