package provision

import (
	"strings"
	"testing"
	"time"
)

func TestLoss_SaysWhatCentralKnows(t *testing.T) {
	at := time.Date(2026, 12, 1, 14, 3, 11, 0, time.UTC)
	heard := at.Add(2 * time.Minute)
	tests := []struct {
		name string
		loss Loss
		want []string
	}{
		{"offline box", Loss{Site: "s", LastSeq: 1042, Watermark: 1042, LastContact: at, LastHeard: heard},
			[]string{"central last saw seq 1042 at 2026-12-01T14:03:11Z", "last heard from at 2026-12-01T14:05:11Z", "any sales after that are lost"}},
		{"gap at central", Loss{Site: "s", LastSeq: 12, Watermark: 10, LastContact: at},
			[]string{"seq 12", "no heartbeat", "missing some of seqs 11..12"}},
		{"never synced", Loss{Site: "s"}, []string{"never received a fact from site s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.loss.String()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Fatalf("%q lacks %q", got, w)
				}
			}
		})
	}
}
