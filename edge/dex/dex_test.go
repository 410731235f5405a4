package dex

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestParse_Golden parses every testdata/*.dex and compares the result with
// its .golden JSON (refresh with -update).
func TestParse_Golden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.dex")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			a, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := json.MarshalIndent(a, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(f, ".dex")+".golden", append(got, '\n'))
		})
	}
}

// TestParse_Malformed: every testdata/bad/*.dex is refused with an *Error
// whose text (line, record, field, reason) is its .err golden.
func TestParse_Malformed(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.dex")
	if err != nil || len(files) == 0 {
		t.Fatalf("no malformed inputs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(data)
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("Parse = %v, want a *dex.Error", err)
			}
			golden(t, strings.TrimSuffix(f, ".dex")+".err", []byte(err.Error()+"\n"))
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestCRC_Check: the CRC is CRC-16/ARC, whose check value over
// "123456789" is 0xBB3D.
func TestCRC_Check(t *testing.T) {
	if got, want := crcUpdate(0, "123456789"), uint16(0xBB3D); got != want {
		t.Fatalf("crc(123456789) = %04X, want %04X", got, want)
	}
}

// TestParse_Figures spells out what the golden files hold for the full
// file, so a wrong golden cannot pass unnoticed.
func TestParse_Figures(t *testing.T) {
	data, err := os.ReadFile("testdata/full_crlf_crc.dex")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"serial", a.Serial, "CVM4411220033"},
		{"currency", a.Currency, "EUR"},
		{"crc verified", a.HasCRC, true},
		{"paid value", a.PaidVends.Init.Value, int64(184550)},
		{"paid count", a.PaidVends.Init.Count, int64(1241)},
		{"test vends", a.TestVends.Init.Count, int64(3)},
		{"free vends", a.FreeVends.Init.Count, int64(2)},
		{"cash sales", a.CashSales.Init.Value, int64(96500)},
		{"cash in since init", a.CashIn.InInit, int64(121000)},
		{"cashless", a.Cashless.Init.Count, int64(586)},
		{"products", len(a.Products), 4},
		{"PA1 price", a.Product("12").Price, int64(250)},
		{"PA103", a.Product("10").ProductID, "PEPSI33"},
		{"PA2 count", a.Product("11").Sales.Init.Count, int64(388)},
		{"read date", a.ReadDate, "261201"},
		{"warnings", len(a.Warnings), 0},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// TestParse_Variants checks what each variant exists to show.
func TestParse_Variants(t *testing.T) {
	read := func(name string) *Audit {
		t.Helper()
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		a, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return a
	}
	t.Run("line ends converted to LF keep a valid CRC", func(t *testing.T) {
		if a := read("converted_lf_crc.dex"); !a.HasCRC {
			t.Fatal("CRC not verified")
		}
	})
	t.Run("a selection listed twice sums its counters", func(t *testing.T) {
		p := read("price_lists.dex").Product("20")
		if got, want := p.Sales.Init.Count, int64(25); got != want {
			t.Fatalf("count = %d, want %d", got, want)
		}
		if got, want := len(p.Prices), 2; got != want {
			t.Fatalf("prices = %v, want %d of them", p.Prices, want)
		}
	})
	t.Run("missing PA2 fields are zero and flagged", func(t *testing.T) {
		a := read("partial_pa2.dex")
		if p := a.Product("A2"); p.Sales.HasInit || !p.Sales.HasReset || p.Sales.Reset.Value != 500 {
			t.Fatalf("A2 sales = %+v", p.Sales)
		}
		if p := a.Product("A3"); p.Sales.HasInit || p.Sales.HasReset {
			t.Fatalf("A3 sales = %+v", p.Sales)
		}
	})
	t.Run("ID4 with no decimals scales to cents", func(t *testing.T) {
		a := read("decimals0_unknown.dex")
		if got, want := a.Product("1").Price, int64(15000); got != want {
			t.Fatalf("price = %d, want %d", got, want)
		}
		if len(a.Warnings) != 3 { // ZZ1, Q9 and XYZ
			t.Fatalf("warnings = %q", a.Warnings)
		}
	})
	t.Run("three decimals round to cents", func(t *testing.T) {
		a := read("decimals3.dex")
		if got, want := a.Product("1").Sales.Init.Value, int64(1235); got != want {
			t.Fatalf("value = %d, want %d", got, want)
		}
	})
}

// FuzzParse: Parse never panics, and what it accepts is consistent: no
// negative meter, a selection at most once, and a second parse of the same
// bytes gives the same answer.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.dex")
	bad, _ := filepath.Glob("testdata/bad/*.dex")
	for _, p := range append(files, bad...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse(data)
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *dex.Error", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, p := range a.Products {
			if seen[p.Selection] {
				t.Fatalf("selection %q twice", p.Selection)
			}
			seen[p.Selection] = true
			if p.Price < 0 || p.Sales.Init.Count < 0 || p.Sales.Init.Value < 0 || p.Sales.Reset.Count < 0 || p.Sales.Reset.Value < 0 {
				t.Fatalf("negative figure in %+v", p)
			}
		}
		b, err := Parse(data)
		if err != nil {
			t.Fatalf("second parse: %v", err)
		}
		j1, _ := json.Marshal(a)
		j2, _ := json.Marshal(b)
		if string(j1) != string(j2) {
			t.Fatal("two parses differ")
		}
	})
}
