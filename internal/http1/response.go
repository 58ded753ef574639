package http1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// errTooLong is the error of an answer whose header, or framing, runs past
// its bound.
var errTooLong = errors.New("answer too long")

// budget reads from r until n bytes have been read, then fails with
// errTooLong: textproto reads a line or a header for as long as it lasts.
type budget struct {
	r io.Reader
	n int64
}

func (b *budget) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, errTooLong
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	return n, err
}

// ReadResponse reads one answer from r: interim 1xx answers are skipped, and
// the body is framed by Transfer-Encoding: chunked, Content-Length or the end
// of the connection, and cut to maxBody bytes. When the head was read but the
// body could not be, the Response (its Status and Header) comes with the
// error.
func ReadResponse(r io.Reader, maxBody int64) (*Response, error) {
	limit := &budget{r: r, n: maxHeaderBytes}
	br := bufio.NewReader(limit)
	tp := textproto.NewReader(br)
	var (
		status int
		header textproto.MIMEHeader
		err    error
	)
	for {
		if status, header, err = readHead(tp); err != nil {
			return nil, err
		}
		// 101 would switch protocols, which no request here asks for.
		if status >= 200 || status == 101 {
			break
		}
	}
	// The body may take maxBody bytes, and its chunks' framing as much as a
	// header may.
	limit.n += maxBody
	res := &Response{Status: status, Header: header}
	switch te := header.Values("Transfer-Encoding"); {
	case status == 204 || status == 304 || status == 101:
	case len(te) > 0:
		if len(te) != 1 || !strings.EqualFold(strings.TrimSpace(te[0]), "chunked") {
			err = fmt.Errorf("unsupported transfer-encoding %.64q", strings.Join(te, ", "))
			break
		}
		res.Body, err = readChunked(tp, maxBody)
	case len(header.Values("Content-Length")) > 0:
		var n int64
		if n, err = contentLength(header.Values("Content-Length")); err != nil {
			break
		}
		res.Body = make([]byte, min(n, maxBody))
		if _, err = io.ReadFull(br, res.Body); err != nil {
			err = unexpectedEOF(err)
		}
	default:
		res.Body, err = io.ReadAll(io.LimitReader(br, maxBody))
	}
	if err != nil {
		return &Response{Status: status, Header: header}, err
	}
	return res, nil
}

// readHead reads a status line and a header.
func readHead(tp *textproto.Reader) (int, textproto.MIMEHeader, error) {
	line, err := tp.ReadLine()
	if err != nil {
		return 0, nil, fmt.Errorf("read status line: %w", unexpectedEOF(err))
	}
	status, err := parseStatusLine(line)
	if err != nil {
		return 0, nil, err
	}
	header, err := tp.ReadMIMEHeader()
	if err != nil {
		return 0, nil, fmt.Errorf("read header: %w", unexpectedEOF(err))
	}
	return status, header, nil
}

// parseStatusLine reads "HTTP/1.1 200 OK" (or HTTP/1.0, with or without a
// reason phrase).
func parseStatusLine(line string) (int, error) {
	proto, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(code)
	if (proto != "HTTP/1.1" && proto != "HTTP/1.0") || len(code) != 3 || err != nil || n < 100 {
		return 0, fmt.Errorf("malformed status line %.64q", line)
	}
	return n, nil
}

// contentLength reads the Content-Length field, which may repeat only with
// the same value (RFC 9110, 8.6).
func contentLength(values []string) (int64, error) {
	var n int64 = -1
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			m, err := strconv.ParseInt(part, 10, 63)
			if err != nil || m < 0 || part[0] == '+' || (n >= 0 && m != n) {
				return 0, fmt.Errorf("invalid content-length %.64q", strings.Join(values, ", "))
			}
			n = m
		}
	}
	return n, nil
}

// readChunked reads a chunked body (RFC 9112, 7.1) and its trailer, which is
// dropped; past maxBody bytes the body is cut and nothing more is read.
func readChunked(tp *textproto.Reader, maxBody int64) ([]byte, error) {
	var body []byte
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return nil, fmt.Errorf("read chunk size: %w", unexpectedEOF(err))
		}
		sizeText, _, _ := strings.Cut(line, ";")
		sizeText = strings.TrimRight(sizeText, " \t")
		size, err := strconv.ParseUint(sizeText, 16, 63)
		if err != nil || sizeText == "" || sizeText[0] == '+' {
			return nil, fmt.Errorf("malformed chunk size %.64q", line)
		}
		if size == 0 {
			if _, err := tp.ReadMIMEHeader(); err != nil {
				return nil, fmt.Errorf("read trailer: %w", unexpectedEOF(err))
			}
			return body, nil
		}
		room := maxBody - int64(len(body))
		take := min(int64(size), room)
		start := len(body)
		body = append(body, make([]byte, take)...)
		if _, err := io.ReadFull(tp.R, body[start:]); err != nil {
			return nil, fmt.Errorf("read chunk: %w", unexpectedEOF(err))
		}
		if take < int64(size) {
			return body, nil // cut
		}
		var crlf [2]byte
		if _, err := io.ReadFull(tp.R, crlf[:]); err != nil || crlf != [2]byte{'\r', '\n'} {
			return nil, errors.New("malformed chunk: no line break after its data")
		}
	}
}

// unexpectedEOF says that the answer ended early, which io.EOF alone does not.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// TimeFormat is the form of an HTTP date a sender uses (RFC 9110, 5.6.7).
const TimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// ParseTime reads an HTTP date (Date, Retry-After) in any of the three forms
// RFC 9110 (5.6.7) has a recipient accept.
func ParseTime(text string) (time.Time, error) {
	var err error
	for _, layout := range []string{TimeFormat, time.RFC850, time.ANSIC} {
		var t time.Time
		if t, err = time.Parse(layout, text); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}
