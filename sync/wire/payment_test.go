package wire

import "testing"

func TestParsePaymentMethod(t *testing.T) {
	tests := []struct {
		name, in string
		want     PaymentMethod
		ok       bool
	}{
		{"cash", "CASH", Cash, true},
		{"lower case", "card", Card, true},
		{"upi is mobile", "UPI", Mobile, true},
		{"wallet is mobile", " wallet ", Mobile, true},
		{"gateway", "GATEWAY", Gateway, true},
		{"unknown", "BITCOIN", "", false},
		{"empty", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePaymentMethod(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("ParsePaymentMethod(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}
