package balance

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/aviary-dev/aviary/internal/gateway/route"
)

// maxTokenBytes bounds the JWT payload we decode, so a hostile header costs little.
const maxTokenBytes = 8 << 10

// UserKeyOf extracts the user key named by k from r; ok is false when the request has none,
// and the caller then falls back to the ordinary weighted choice.
//
// A JWT claim is read WITHOUT verifying the signature: the key only keeps a user on one version,
// it grants nothing, so a forged token can at most choose a version for its sender.
func UserKeyOf(r *http.Request, k *route.UserKey) (string, bool) {
	switch k.Source {
	case route.UserKeyHeader:
		v := r.Header.Get(k.Name)
		return v, v != ""
	case route.UserKeyCookie:
		c, err := r.Cookie(k.Name)
		if err != nil || c.Value == "" {
			return "", false
		}
		return c.Value, true
	case route.UserKeyJWTClaim:
		return jwtClaim(r.Header.Get("Authorization"), k.Name)
	}
	return "", false
}

func jwtClaim(authorization, claim string) (string, bool) {
	const bearer = "bearer "
	if len(authorization) <= len(bearer) || !strings.EqualFold(authorization[:len(bearer)], bearer) {
		return "", false
	}
	token := strings.TrimSpace(authorization[len(bearer):])
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[1]) > maxTokenBytes {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", false
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", false
	}
	raw, ok := claims[claim]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, s != ""
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	return "", false
}

// ParseUserKey parses the value of the aviary.dev/user-key annotation: "header:<Name>",
// "cookie:<name>" or "jwt:<claim>".
func ParseUserKey(v string) (*route.UserKey, error) {
	src, name, ok := strings.Cut(strings.TrimSpace(v), ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return nil, errUserKey(v)
	}
	switch strings.ToLower(src) {
	case "header":
		return &route.UserKey{Source: route.UserKeyHeader, Name: http.CanonicalHeaderKey(name)}, nil
	case "cookie":
		return &route.UserKey{Source: route.UserKeyCookie, Name: name}, nil
	case "jwt":
		return &route.UserKey{Source: route.UserKeyJWTClaim, Name: name}, nil
	}
	return nil, errUserKey(v)
}

type userKeyError string

func (e userKeyError) Error() string {
	return "annotation aviary.dev/user-key is " + strconv.Quote(string(e)) +
		`; use "header:<Header-Name>", "cookie:<cookie-name>" or "jwt:<claim>"`
}

func errUserKey(v string) error { return userKeyError(v) }
