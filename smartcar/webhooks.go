package smartcar

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// HashChallenge answers a webhook VERIFY request: the lowercase hex
// HMAC-SHA256 of challenge keyed with the application management token amt.
// Reply {"challenge": HashChallenge(amt, challenge)}.
func HashChallenge(amt, challenge string) string {
	return hex.EncodeToString(sign(amt, []byte(challenge)))
}

// VerifyPayload reports whether signature (the SC-Signature header) is the
// HMAC-SHA256 of body keyed with amt. Pass the raw bytes received, before any
// JSON parsing. The comparison takes constant time.
func VerifyPayload(amt, signature string, body []byte) bool {
	got, err := hex.DecodeString(strings.TrimSpace(signature))
	if err != nil {
		return false
	}
	return hmac.Equal(got, sign(amt, body))
}

func sign(key string, msg []byte) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(msg)
	return m.Sum(nil)
}
