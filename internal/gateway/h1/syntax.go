package h1

import (
	"strings"

	"golang.org/x/net/http/httpguts"
)

// text is a header name or value as the loop (strings of the head) or the gateway's answer
// parser (bytes of the endpoint's buffer) holds it.
type text interface{ ~string | ~[]byte }

// ValidToken reports whether s is an HTTP token (a method or a field name).
func ValidToken[T text](s T) bool {
	for i := 0; i < len(s); i++ {
		if !httpguts.IsTokenRune(rune(s[i])) {
			return false
		}
	}
	return len(s) > 0
}

// ParseContentLength reads a Content-Length value: digits only, at most 18 of them.
func ParseContentLength[T text](v T) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(v[i]-'0')
	}
	return n, true
}

// CleanFieldValue returns value with CR and LF turned into spaces, as net/http writes header
// values, so that a value (from a handler or a route's filter) cannot end its field and start
// one of its own.
func CleanFieldValue(value string) string {
	if !strings.ContainsAny(value, "\r\n") {
		return value
	}
	return lineBreaksToSpaces.Replace(value)
}

var lineBreaksToSpaces = strings.NewReplacer("\r", " ", "\n", " ")
