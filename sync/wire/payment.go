package wire

import (
	"fmt"
	"strings"
)

// PaymentMethod is how a sale was paid: a closed set, the same at the edge,
// at central and in every client.
type PaymentMethod string

// The payment methods. MOBILE covers UPI and wallets (a phone pays through
// the machine's own terminal or QR code); GATEWAY is an online payment the
// edge takes through the payment provider (Stripe).
const (
	Cash    PaymentMethod = "CASH"
	Card    PaymentMethod = "CARD"
	Mobile  PaymentMethod = "MOBILE"
	Gateway PaymentMethod = "GATEWAY"
)

// PaymentMethods lists every method.
var PaymentMethods = []PaymentMethod{Cash, Card, Mobile, Gateway}

// paymentAliases are names machines already send, and the method each
// belongs to. A machine or sale keeps the name it was given (UPI stays UPI
// in answers); totals count it under its method.
var paymentAliases = map[string]PaymentMethod{"UPI": Mobile, "WALLET": Mobile}

// ParsePaymentMethod returns the method name s (any case) belongs to:
// one of PaymentMethods, or MOBILE for the aliases UPI and WALLET. It
// returns an error naming the accepted names for any other.
func ParsePaymentMethod(s string) (PaymentMethod, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	for _, m := range PaymentMethods {
		if string(m) == u {
			return m, nil
		}
	}
	if m, ok := paymentAliases[u]; ok {
		return m, nil
	}
	return "", fmt.Errorf("unknown payment method %q: use CASH, CARD, MOBILE (or its names UPI, WALLET) or GATEWAY", s)
}
