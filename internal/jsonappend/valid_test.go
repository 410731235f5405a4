package jsonappend

import (
	"encoding/json"
	"strings"
	"testing"
)

// validCases are inputs at every edge of the grammar, valid and not.
var validCases = []string{
	``, ` `, `null`, `nul`, `nullx`, `true`, `false`, `fals`, `True`,
	`0`, `-0`, `-`, `01`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `-1.5e-07`, `1x`, `--1`,
	`""`, `"`, `"\"`, `"a\"b"`, `"\u00e9"`, `"\u00G9"`, `"\u12"`, `"\x"`, `"\/"`, "\"a\tb\"", "\"\x1f\"", "\"\xff\xfe\"", `"é"`,
	`{}`, `{`, `}`, `{"a":1}`, `{"a":1,}`, `{"a" : 1 , "b":[1, 2]}`, `{a:1}`, `{"a"}`, `{"a":}`, `{,}`, `{"a":1 "b":2}`,
	`[]`, `[`, `[1,]`, `[,1]`, `[1 2]`, `[[[]]]`, `[{"a":[{}]}]`, ` [ 1 , 2 ] `, "\t\r\n{}\n", `{} {}`, `[]]`,
	`{"product":"P-1","qty":3,"note":"<b>&</b>"}`,
}

// Valid accepts exactly what encoding/json's Valid accepts.
func TestValid_AsEncodingJSON(t *testing.T) {
	cases := append([]string{}, validCases...)
	// The nesting limit: 10,000 containers are valid, 10,001 are not.
	for _, n := range []int{maxDepth, maxDepth + 1} {
		cases = append(cases, strings.Repeat("[", n)+strings.Repeat("]", n))
		cases = append(cases, strings.Repeat(`{"a":`, n)+"1"+strings.Repeat("}", n))
	}
	for _, c := range cases {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("Valid(%.40q) = %v, encoding/json says %v", c, got, want)
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}

// An audit entry's detail, as the edge writes them.
var benchDetail = []byte(`{"machineId":"M-0042","productId":"P-0107","slot":"B4","before":12,"after":24,"reason":"restock","driver":"asha","lot":"L-2026-11-30-07","expires":"2026-12-30"}`)

func BenchmarkValid(b *testing.B) {
	b.SetBytes(int64(len(benchDetail)))
	for b.Loop() {
		if !Valid(benchDetail) {
			b.Fatal("not valid")
		}
	}
}

func BenchmarkValid_EncodingJSON(b *testing.B) {
	b.SetBytes(int64(len(benchDetail)))
	for b.Loop() {
		if !json.Valid(benchDetail) {
			b.Fatal("not valid")
		}
	}
}
