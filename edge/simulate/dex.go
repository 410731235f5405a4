package simulate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/vendsync/vendsync/edge/dex/dextest"
	"github.com/vendsync/vendsync/internal/edgeapi"
)

// meters are the machines' own DEX/UCS meters, kept as a vending controller
// keeps them: every vend counts, whether or not its sale reaches the edge.
// The driver reads them at each restock visit and once more when the run
// ends, and uploads each read to the edge, which reconciles it with the
// sales it recorded.
type meters struct {
	machines []*machineMeters
	// reads, unreported and dropped count the reads uploaded, the
	// unreported units their reconciliations found and the vends dropped.
	reads, unreported, dropped atomic.Int64
}

// machineMeters is one machine's meters and the random source deciding
// which of its sales are lost. A machine's actions run on one worker, in
// order; the mutex covers the final read after the workers stop.
type machineMeters struct {
	mu   sync.Mutex
	dex  *dextest.Machine
	rand *rand.Rand
}

// newMeters makes the meters of g's machines, each selection at the price
// the edge holds (setup has adopted it).
func newMeters(cfg *Config, g *generator) *meters {
	ms := &meters{}
	for i, m := range g.machines {
		d := &dextest.Machine{Serial: fmt.Sprintf("SIM-%s", m.id), Model: "SIMVEND"}
		for _, it := range m.items {
			d.Add(it.product.ID, it.product.ID, int64(it.price))
		}
		ms.machines = append(ms.machines, &machineMeters{dex: d, rand: rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(i)+1))})
	}
	return ms
}

// drop decides whether machine m loses this sale: the machine vends and
// counts it, but the sale never reaches the edge.
func (ms *meters) drop(p float64, m int, s edgeapi.Sale) bool {
	mm := ms.machines[m]
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if p <= 0 || mm.rand.Float64() >= p {
		return false
	}
	mm.dex.Sale(s)
	ms.dropped.Add(s.Quantity)
	return true
}

// sold counts a sale the edge recorded on machine m's meters.
func (ms *meters) sold(m int, s edgeapi.Sale) {
	mm := ms.machines[m]
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.dex.Sale(s)
}

// read uploads a DEX read of machine m to the edge.
func (r *runner) readDEX(ctx context.Context, m int) error {
	mm := r.dex.machines[m]
	mm.mu.Lock()
	raw := mm.dex.Read(dextest.ReadOptions{})
	mm.mu.Unlock()
	read, err := r.c.UploadDEX(ctx, r.cfg.machineID(m), raw)
	if err != nil {
		return fmt.Errorf("upload DEX of %s: %w", r.cfg.machineID(m), err)
	}
	r.dex.reads.Add(1)
	if rec := read.Reconciliation; rec != nil && !read.Replayed {
		r.dex.unreported.Add(rec.UnreportedCount)
	}
	return nil
}
