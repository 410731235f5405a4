package readmodel

import (
	"fmt"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/envelope"
)

// BenchmarkApply_Alerts500 applies batches of 500 machine, alert and fault
// events (each site's 10 machines move city once per batch; alerts and
// faults open and, a batch later, close) into a store with
// synchronous=FULL: the apply cost of what open_counts' triggers
// (migration 0029) do on each of them.
func BenchmarkApply_Alerts500(b *testing.B) {
	const per, sites = 500, 20
	s := openStore(b)
	d0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	batches := make([]*envelope.Frame, b.N)
	for i := range b.N {
		site := fmt.Sprintf("s%02d", i%sites)
		round := i / sites
		evs := make([]ev, 0, per)
		at := d0.Add(time.Duration(i) * time.Minute)
		for m := range 10 {
			evs = append(evs, ev{envelope.KindMachine, at, envelope.Machine{MachineID: fmt.Sprintf("M%d", m),
				City: fmt.Sprintf("city-%d", (round+m)%3), Status: "ACTIVE", Action: "UPDATED"}})
		}
		for j := range (per - 10) / 2 {
			id := int64(round*per + j)
			status, fstatus := "OPEN", "OPEN"
			if round > 0 && j%2 == 0 {
				id -= per // closes one of the last batch's
				status, fstatus = "CLOSED", "RESOLVED"
			}
			m := fmt.Sprintf("M%d", j%11) // M10 is unknown
			evs = append(evs, ev{envelope.KindAlert, at, envelope.Alert{AlertID: id, MachineID: m, Type: "LOW_STOCK", Status: status, OpenedAt: at}})
			evs = append(evs, ev{envelope.KindFault, at, envelope.Fault{FaultID: id, MachineID: m, FaultType: "JAM", Description: "x", Status: fstatus, ReportedAt: at}})
		}
		f, err := mkBatch(b, site, "UTC", uint64(round*per+1), evs...).Frame()
		if err != nil {
			b.Fatal(err)
		}
		batches[i] = f
	}
	applyEach(b, s, batches, b.N*per)
}
