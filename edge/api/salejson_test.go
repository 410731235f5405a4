package api

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/vendsync/vendsync/edge/sale"
	"github.com/vendsync/vendsync/internal/web"
)

const machineSale = `{"transactionId":"tx-123456","machineId":"VM_0003","productId":"P007","quantity":1,"amount":17,"paymentMethod":"CARD","timestamp":"2026-12-01T10:00:00Z"}`

// saleBodies are bodies plainSale must read (the first ones) or hand over.
var plainSaleBodies = []string{
	machineSale,
	" \t\r\n" + machineSale + " \n",
	`{ "amount" : 1.25 , "quantity" : 0 , "timestamp" : "" , "transactionId" : "t" }`,
	`{"transactionId":"tx-1"}`,
	`{"amount":-0.5,"quantity":999999999999999999}`,
	`{"amount":0}`,
	`{"amount":12345678901234567890}`,
	`{"amount":1.255}`,
	`{"amount":1.250}`,
	`{"amount":-0}`,
	`{"amount":1e2}`,
	`{"amount":01}`,
	`{"amount":1.}`,
	`{"amount":.5}`,
	`{"amount":"1"}`,
	`{"amount":null}`,
	`{"quantity":-1}`,
	`{"quantity":1.0}`,
	`{"quantity":1e0}`,
	`{"quantity":00}`,
	`{"quantity":9999999999999999999}`,
	`{"quantity":true}`,
	`{}`,
	`{ }`,
	`[]`,
	``,
	`null`,
	`{"transactionId":"a","transactionId":"b"}`,
	`{"transactionid":"a"}`,
	`{"TransactionId":"a"}`,
	`{"transactionId":"tab	in id"}`,
	`{"transactionId":"del` + "\x7f" + `"}`,
	`{"transactionId":"caf` + "\xc3\xa9" + `"}`,
	`{"transactionId":"bad ` + "\xff" + `"}`,
	`{"transactionId":"esc\"aped"}`,
	`{"transactionId":"\u0041"}`,
	`{"transactionId":"<b>&amp;</b>"}`,
	`{"transactionId":1}`,
	`{"transactionId":"a",}`,
	`{"transactionId":"a"`,
	`{"transactionId":"a"}x`,
	`{"transactionId":"a"}{}`,
	`{"transactionId" "a"}`,
	`{"code":"X"}`,
	`{"lines":[{"productId":"P1","quantity":1}]}`,
	`{"card":{"reference":"r","last4":"4242"}}`,
	`{"unknown":1}`,
	`{"transactionId":"a","machineId":"VM_1","productId":"P1","quantity":3,"amount":1.5,"paymentMethod":"CASH","timestamp":"2026-12-01T10:00:00+05:30","code":"SAVE"}`,
}

// TestPlainSale_SameAsStrictDecoder checks that every body plainSale takes
// decodes the strict way without error into the same value, and that a
// machine's usual body is one it takes.
func TestPlainSale_SameAsStrictDecoder(t *testing.T) {
	for i, body := range plainSaleBodies {
		took := checkPlainSale(t, []byte(body))
		if i < 4 && !took {
			t.Errorf("plainSale did not take %s", body)
		}
	}
}

func checkPlainSale(t *testing.T, b []byte) bool {
	t.Helper()
	var got sale.In
	got.Code = "left as it was"
	took := plainSale(b, &got)
	var want sale.In
	err := web.DecodeRead(b, &want, MaxBody)
	if !took {
		if got.Code != "left as it was" || got.TransactionID != "" {
			t.Errorf("plainSale refused %q but changed its destination: %+v", b, got)
		}
		return false
	}
	if err != nil {
		t.Errorf("plainSale took %q, which the strict decoder refuses: %v", b, err)
		return true
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plainSale(%q) =\n%+v\nstrict decoder:\n%+v", b, got, want)
	}
	if got.Quantity != nil && want.Quantity != nil && *got.Quantity != *want.Quantity ||
		got.Amount != nil && want.Amount != nil && *got.Amount != *want.Amount {
		t.Errorf("plainSale(%q): numbers differ", b)
	}
	return true
}

// TestPlainSale_NoReferenceToBody checks that the decoded strings do not
// share the (pooled) body's memory.
func TestPlainSale_NoReferenceToBody(t *testing.T) {
	b := []byte(machineSale)
	var in sale.In
	if !plainSale(b, &in) {
		t.Fatal("not taken")
	}
	for i := range b {
		b[i] = 'x'
	}
	if in.TransactionID != "tx-123456" || in.MachineID != "VM_0003" || in.Timestamp != "2026-12-01T10:00:00Z" {
		t.Fatalf("decoded strings changed with the body: %+v", in)
	}
}

// TestPlainSale_RandomMutations holds plainSale to the strict decoder over
// bodies mutated at random from the seeds (bytes replaced, inserted and
// deleted, drawn mostly from JSON's own punctuation): the fuzz target's
// property, run in every plain test run.
func TestPlainSale_RandomMutations(t *testing.T) {
	const alphabet = "{}[]\",:.-+eE0123456789 \t\n\\uaAdIi\x00\x7f\xc3\xa9\xff"
	rng := rand.New(rand.NewPCG(14, 8))
	took := 0
	for range 20000 {
		b := []byte(plainSaleBodies[rng.IntN(len(plainSaleBodies))])
		for range 1 + rng.IntN(3) {
			c := alphabet[rng.IntN(len(alphabet))]
			switch i := rng.IntN(len(b) + 1); {
			case len(b) == 0 || rng.IntN(3) == 0:
				b = append(b[:i:i], append([]byte{c}, b[i:]...)...)
			case i < len(b) && rng.IntN(2) == 0:
				b[i] = c
			case i < len(b):
				b = append(b[:i:i], b[i+1:]...)
			}
		}
		if checkPlainSale(t, b) {
			took++
		}
		if t.Failed() {
			return
		}
	}
	if took == 0 {
		t.Fatal("no mutated body was taken: the test checks nothing")
	}
	t.Logf("%d of 20000 mutated bodies taken by plainSale", took)
}

func FuzzPlainSale(f *testing.F) {
	for _, b := range plainSaleBodies {
		f.Add([]byte(b))
	}
	f.Add([]byte(strings.ReplaceAll(machineSale, ",", " ,\n ")))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkPlainSale(t, b)
	})
}

func BenchmarkDecodeSale(b *testing.B) {
	body := []byte(machineSale)
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var in sale.In
			if !plainSale(body, &in) {
				b.Fatal("not taken")
			}
		}
	})
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var in sale.In
			if err := web.DecodeRead(body, &in, MaxBody); err != nil {
				b.Fatal(err)
			}
		}
	})
}
