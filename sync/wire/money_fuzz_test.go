package wire

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

func TestParseMoney_NotationDoesNotMatter(t *testing.T) {
	tests := []struct {
		in   string
		want Money
		ok   bool
	}{
		{"10000000000000", 0, false},
		{"1e13", 0, false},
		{"1.0e13", 0, false},
		{"100000000000000e-1", 0, false},
		{"9999999999999.99", 999999999999999, true},
		{"9.99999999999999e12", 999999999999999, true},
		{"999999999999999e-2", 999999999999999, true},
		{"-9999999999999.99", -999999999999999, true},
		{"1.250", 125, true},
		{"1.25e0", 125, true},
		{"125e-2", 125, true},
		{"0.001e1", 1, true},
		{"0e99999999999", 0, true},
		{"-0", 0, true},
		{"1e-3", 0, false},
		{"1.255", 0, false},
		{"01", 0, false},
		{"1.", 0, false},
		{".5", 0, false},
		{"+5", 0, false},
		{"1.-5", 0, false},
		{"--5", 0, false},
		{"1e", 0, false},
		{"1e99999999999999999999", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMoney(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseMoney(%q) err = %v, want ok %v", tt.in, err, tt.ok)
			}
			if got != tt.want {
				t.Fatalf("ParseMoney(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestMoney_ErrorEchoesAShortPrefix(t *testing.T) {
	var m Money
	err := json.Unmarshal([]byte(strings.Repeat("9", 10000)), &m)
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("err = %.300v (%d bytes)", err, len(err.Error()))
	}
}

// FuzzParseMoney checks ParseMoney against exact rational arithmetic: it
// accepts exactly the JSON numbers whose value is a whole number of cents
// below 10^13 units, and returns that value; and what it formats it reads
// back unchanged.
func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"50", "1.5", "1.25", "0", "-2.5", "1.255", "1e2", "1e-3", "1e13", "10000000000000",
		"9999999999999.99", "1.250", "125e-2", "-0.0e+5", "1E2", "0.1e1", "12345678901234567890", "1e400", "007", "NaN"} {
		f.Add(s)
	}
	limit := new(big.Rat).SetInt64(1e15) // cents
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseMoney(s)
		valid := json.Valid([]byte(s)) && len(s) > 0 && (s[0] == '-' || ('0' <= s[0] && s[0] <= '9'))
		var want *big.Rat
		known := !valid            // an invalid number must be refused
		if valid && len(s) < 200 { // big.Rat would take forever on huge exponents
			if r, ok := new(big.Rat).SetString(s); ok {
				known = true
				cents := r.Mul(r, big.NewRat(100, 1))
				abs := new(big.Rat).Abs(cents)
				if cents.IsInt() && abs.Cmp(limit) < 0 {
					want = cents
				}
			}
		}
		switch {
		case want != nil && err != nil:
			t.Fatalf("ParseMoney(%q) refused a whole number of cents: %v", s, err)
		case want == nil && err == nil && known:
			t.Fatalf("ParseMoney(%q) = %d, want refusal", s, got)
		case want != nil && want.Num().Int64() != int64(got):
			t.Fatalf("ParseMoney(%q) = %d, want %s", s, got, want.RatString())
		}
		if err != nil {
			return
		}
		back, err := ParseMoney(got.String())
		if err != nil || back != got {
			t.Fatalf("ParseMoney(%q) = %d; its String %q reads back as %d, %v", s, got, got.String(), back, err)
		}
	})
}
