package iam

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseClaims(t *testing.T) {
	exp := time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC) // 1767229200
	tests := []struct {
		name  string
		token string
		want  Claims
	}{
		{
			name:  "gcore access token",
			token: accessJWT,
			want: Claims{
				TokenType: "access", ExpiresAt: exp,
				JTI: "7a3c2f6e9b1d4e0f8a2b3c4d5e6f7a8b", RJTI: "f1e2d3c4b5a6978877665544332211ff",
				UserID: 281234, ClientID: 512345, Email: "dev@example.com", Username: "dev@example.com",
				ClientName: "Example Ltd", UserGroups: []Group{{ID: 1, Name: "Administrators"}},
			},
		},
		{
			name:  "gcore refresh token",
			token: refreshJWT,
			want: Claims{
				TokenType: "refresh", ExpiresAt: exp.Add(23 * time.Hour), JTI: "f1e2d3c4b5a6978877665544332211ff",
				UserID: 281234, ClientID: 512345, Email: "dev@example.com", Username: "dev@example.com",
				ClientName: "Example Ltd", UserGroups: []Group{{ID: 1, Name: "Administrators"}},
			},
		},
		{
			name:  "numbers as strings",
			token: makeJWT(`{"exp":"1767229200","user_id":"281234","client_id":" 512345 ","jti":42,"is_admin":"true"}`),
			want:  Claims{ExpiresAt: exp, UserID: 281234, ClientID: 512345, JTI: "42", IsAdmin: true},
		},
		{
			name:  "float exp",
			token: makeJWT(`{"exp":1.7672292005e9,"is_admin":1}`),
			want:  Claims{ExpiresAt: exp, IsAdmin: true},
		},
		{
			name:  "groups as names and ids",
			token: makeJWT(`{"exp":1767229200,"user_groups":["Users",5,"7",{"name":"Engineers"},{"id":"9"},{},null,true]}`),
			want:  Claims{ExpiresAt: exp, UserGroups: []Group{{Name: "Users"}, {ID: 5}, {ID: 7}, {Name: "Engineers"}, {ID: 9}}},
		},
		{
			name:  "odd types are left empty",
			token: makeJWT(`{"exp":1767229200,"user_id":"abc","email":["x"],"user_groups":"Administrators","is_admin":"maybe","client_id":1e400}`),
			want:  Claims{ExpiresAt: exp},
		},
		{
			name:  "padded payload",
			token: "h." + base64.URLEncoding.EncodeToString([]byte(`{"exp":1767229200,"token_type":"access"}`)) + ".s",
			want:  Claims{TokenType: "access", ExpiresAt: exp},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClaims(tt.token)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseClaims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseClaimsRejects(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, token string
	}{
		{"empty", ""},
		{"one part", "secretgarbagetoken"},
		{"two parts", "secretheader.secretpayload"},
		{"four parts", "a.secretpayload.c.d"},
		{"not base64", "head.secret!payload*.sig"},
		{"not json", "head." + enc("secretpayload not json") + ".sig"},
		{"null", "head." + enc("null") + ".sig"},
		{"array", "head." + enc(`["secretpayload"]`) + ".sig"},
		{"no exp", "head." + enc(`{"jti":"secretpayload"}`) + ".sig"},
		{"exp not a number", "head." + enc(`{"exp":"secretpayload"}`) + ".sig"},
		{"exp out of range", "head." + enc(`{"exp":1e400,"jti":"secretpayload"}`) + ".sig"},
		{"exp is bool", "head." + enc(`{"exp":true,"jti":"secretpayload"}`) + ".sig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseClaims(tt.token)
			if err == nil {
				t.Fatalf("ParseClaims(%q) = %+v, want an error", tt.token, c)
			}
			for _, part := range append(strings.Split(tt.token, "."), "secret") {
				if len(part) > 3 && strings.Contains(err.Error(), part) {
					t.Errorf("error %q quotes the token (%q)", err, part)
				}
			}
		})
	}
}

func FuzzParseClaims(f *testing.F) {
	for _, s := range []string{
		accessPayload, refreshPayload, `{"exp":"1"}`, `{"exp":1e99}`, `{"exp":-1,"user_groups":[1,"a",{"id":"2"}]}`,
		`null`, `[]`, `{`, "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		for _, token := range []string{payload, makeJWT(payload)} {
			_, err := ParseClaims(token)
			if err != nil && len(payload) > 8 && strings.Contains(err.Error(), payload) {
				t.Errorf("error %q quotes the token", err)
			}
		}
	})
}
