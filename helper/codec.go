package helper

import (
	"fmt"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/tlv"
)

// Sessions are stored in the tlv encoding rather than JSON because decoding
// one is on every cache hit (see package tlv for why that matters).

// sessionMagic starts every encoded session: "GCS" and the format version.
var sessionMagic = [4]byte{'G', 'C', 'S', 1}

// Field tags. Never reuse a number.
const (
	tagAuth       = 1
	tagUsername   = 2
	tagUserID     = 3
	tagAccountID  = 4
	tagAccount    = 5
	tagAccess     = 6
	tagAccessExp  = 7
	tagRefresh    = 8
	tagRefreshExp = 9
	tagRejected   = 10
	tagAPIToken   = 11
	_             = 12 // was the time of the last write, which nothing read
	tagIssuedAt   = 13
)

func (s *Session) encode() []byte {
	w := tlv.NewWriter(sessionMagic)
	unix := func(tag byte, t time.Time) {
		if !t.IsZero() {
			w.Int(tag, t.Unix())
		}
	}
	w.String(tagAuth, s.Auth)
	w.String(tagUsername, s.Username)
	w.Int(tagUserID, s.UserID)
	w.Int(tagAccountID, s.AccountID)
	w.String(tagAccount, s.Account)
	w.String(tagAccess, s.Access)
	unix(tagAccessExp, s.AccessExp)
	unix(tagIssuedAt, s.AccessIssued)
	w.String(tagRefresh, s.Refresh)
	unix(tagRefreshExp, s.RefreshExp)
	w.String(tagRejected, s.Rejected)
	w.String(tagAPIToken, s.APIToken)
	return w.Encoded()
}

func decodeSession(data []byte) (*Session, error) {
	s := &Session{}
	if err := tlv.Decode(data, sessionMagic, s.setField); err != nil {
		return nil, fmt.Errorf("decode session: %w", err)
	}
	return s, nil
}

func (s *Session) setField(tag byte, v []byte) error {
	var num int64
	switch tag {
	case tagUserID, tagAccountID, tagAccessExp, tagRefreshExp, tagIssuedAt:
		n, err := tlv.Int(tag, v)
		if err != nil {
			return err
		}
		num = n
	}
	switch tag {
	case tagAuth:
		s.Auth = string(v)
	case tagUsername:
		s.Username = string(v)
	case tagUserID:
		s.UserID = num
	case tagAccountID:
		s.AccountID = num
	case tagAccount:
		s.Account = string(v)
	case tagAccess:
		s.Access = string(v)
	case tagAccessExp:
		s.AccessExp = time.Unix(num, 0).UTC()
	case tagRefresh:
		s.Refresh = string(v)
	case tagRefreshExp:
		s.RefreshExp = time.Unix(num, 0).UTC()
	case tagRejected:
		s.Rejected = string(v)
	case tagAPIToken:
		s.APIToken = string(v)
	case tagIssuedAt:
		s.AccessIssued = time.Unix(num, 0).UTC()
	}
	return nil
}
