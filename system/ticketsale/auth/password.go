package auth

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"
)

// The course hashes with scrypt (64 bytes, 8-byte salt) into "hash.salt";
// the Go standard library has PBKDF2, so this keeps the format and swaps
// the function.
const (
	iterations = 4096
	keyLen     = 64
)

// HashPassword returns "hash.salt" in hex with a fresh random salt.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	k, err := pbkdf2.Key(sha256.New, password, salt, iterations, keyLen)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(k) + "." + hex.EncodeToString(salt), nil
}

// ComparePassword reports whether supplied matches the stored "hash.salt".
func ComparePassword(stored, supplied string) (bool, error) {
	h, s, ok := strings.Cut(stored, ".")
	if !ok {
		return false, errors.New("stored password: want hash.salt")
	}
	want, err := hex.DecodeString(h)
	if err != nil {
		return false, err
	}
	salt, err := hex.DecodeString(s)
	if err != nil {
		return false, err
	}
	got, err := pbkdf2.Key(sha256.New, supplied, salt, iterations, keyLen)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
