// Package pickup is the contract of a pre-order's pickup code: central signs
// it, the order's site verifies it offline.
//
// A pickup token is "VS1.<site>.<orderId>.<signature>", the signature an
// ed25519 signature by central's order key over "vendsync-pickup-v1\x00<site>\x00<orderId>",
// base64url without padding. It is what the order's QR code holds. The
// short code (8 characters of Crockford base32 taken from a hash of the
// signature) is what a customer reads out at a counter; a site compares it
// with the code of an order it holds, so it proves nothing on its own.
//
// A site learns central's public key through the downlink (key
// envelope.OrderKeyKey) and keeps it, so it verifies tokens with no link.
package pickup

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// prefix starts every pickup token (its version).
const prefix = "VS1"

// ErrMalformed is wrapped for a token that is not a pickup token.
var ErrMalformed = errors.New("malformed pickup token")

// ErrSignature is wrapped for a token whose signature central did not make.
var ErrSignature = errors.New("pickup token not signed by central")

// crockford is Crockford's base32 alphabet (no I, L, O, U: easy to read out).
var crockford = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

func message(site, orderID string) []byte {
	return []byte("vendsync-pickup-v1\x00" + site + "\x00" + orderID)
}

// Sign returns the pickup token of an order and its short code.
func Sign(key ed25519.PrivateKey, site, orderID string) (token, code string) {
	sig := ed25519.Sign(key, message(site, orderID))
	token = strings.Join([]string{prefix, site, orderID, base64.RawURLEncoding.EncodeToString(sig)}, ".")
	return token, codeOf(sig)
}

// codeOf derives the short code from a signature.
func codeOf(sig []byte) string {
	h := sha256.Sum256(sig)
	return crockford.EncodeToString(h[:5])
}

// Verify checks token against central's public key and returns the site
// and order it names and its short code. It returns an error wrapping
// ErrMalformed or ErrSignature.
func Verify(pub ed25519.PublicKey, token string) (site, orderID, code string, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 4 || parts[0] != prefix || parts[1] == "" || parts[2] == "" {
		return "", "", "", fmt.Errorf("%w: want %s.<site>.<orderId>.<signature>", ErrMalformed, prefix)
	}
	// Strict, and no line breaks (which the decoder skips): one spelling
	// of a signature, the one Sign wrote.
	sig, err := base64.RawURLEncoding.Strict().DecodeString(parts[3])
	if err != nil || len(sig) != ed25519.SignatureSize || strings.ContainsAny(parts[3], "\r\n") {
		return "", "", "", fmt.Errorf("%w: bad signature encoding", ErrMalformed)
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, message(parts[1], parts[2]), sig) {
		return "", "", "", ErrSignature
	}
	return parts[1], parts[2], codeOf(sig), nil
}

// IsToken reports whether s looks like a token (rather than a short code).
func IsToken(s string) bool { return strings.HasPrefix(s, prefix+".") }

// PNG renders token as a QR code PNG of size×size pixels.
func PNG(token string, size int) ([]byte, error) {
	b, err := qrcode.Encode(token, qrcode.Medium, size)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	return b, nil
}

// Terminal renders token as a QR code of block characters for a terminal.
func Terminal(token string) (string, error) {
	q, err := qrcode.New(token, qrcode.Medium)
	if err != nil {
		return "", fmt.Errorf("qr code: %w", err)
	}
	return q.ToSmallString(false), nil
}
