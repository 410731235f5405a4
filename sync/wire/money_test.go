package wire

import (
	"encoding/json"
	"testing"
)

func TestMoney_JSON(t *testing.T) {
	tests := []struct {
		in      string
		want    Money
		wantErr bool
	}{
		{"50", 5000, false},
		{"1.5", 150, false},
		{"1.25", 125, false},
		{"0", 0, false},
		{"-2.5", -250, false},
		{"1.255", 0, true},
		{`"50"`, 0, true},
		{"null", 0, true},
		{"1e2", 10000, false},
		{"1e-3", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var m Money
			err := json.Unmarshal([]byte(tt.in), &m)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && m != tt.want {
				t.Fatalf("got %d, want %d", m, tt.want)
			}
		})
	}
	b, _ := json.Marshal(struct{ P Money }{P: 1205})
	if got, want := string(b), `{"P":12.05}`; got != want {
		t.Fatalf("marshal = %s, want %s", got, want)
	}
}
