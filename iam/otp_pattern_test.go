package iam

import (
	"bytes"
	"regexp"
	"testing"
)

// otpPattern is what mentionsOTP looked for when it used regexp; the written-out
// check must find exactly the same bodies.
var otpPattern = regexp.MustCompile(`one[_ -]?time|two[_ -]?factor|(^|[^a-z0-9])(otp|totp|2fa|mfa)([^a-z0-9]|$)`)

var otpSeeds = []string{
	"", "otp", "OTP", "xotp", "otpx", "otp1", "1otp", "_otp_", "-otp-", "totp", "TOTP code", "2fa", "2FA!", "mfa",
	"mfa2", "one time", "one-time", "one_time", "onetime", "one  time", "one__time", "two factor", "two-factor",
	"twofactor", "two_factor", "hotpot", "bootp", "ÖTP", "\xffotp\xff", "İotp", "one_time_password",
}

func TestMentionsOTPAsPattern(t *testing.T) {
	for _, body := range otpSeeds {
		if got, want := mentionsOTP([]byte(body)), otpPattern.Match(bytes.ToLower([]byte(body))); got != want {
			t.Errorf("mentionsOTP(%q) = %t, the pattern says %t", body, got, want)
		}
	}
}

func FuzzMentionsOTP(f *testing.F) {
	for _, body := range otpSeeds {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if got, want := mentionsOTP(body), otpPattern.Match(bytes.ToLower(body)); got != want {
			t.Fatalf("mentionsOTP(%q) = %t, the pattern says %t", body, got, want)
		}
	})
}
