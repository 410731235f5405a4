package simulate

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// The traffic model is a discrete-event simulation: a heap of timers (the
// next candidate purchase of the fleet, each machine's next telemetry, driver
// visits, doors closing) fired in time order. Live mode waits for each timer
// on the wall clock; backfill fires them in virtual time as fast as it can.
// Only the generator goroutine touches this state.

type timerKind int

const (
	timerSale timerKind = iota
	timerTelemetry
	timerRestock
	timerDoorClose
)

type timer struct {
	at   time.Time
	kind timerKind
	m    int    // machine index (not for timerSale)
	seq  uint64 // ties fire in scheduling order, so runs are repeatable
}

type timerHeap []timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// stockItem is the simulator's mirror of one product on one machine.
type stockItem struct {
	product Product
	price   Money
	qty     int
	low     int
	full    int
}

type machineState struct {
	id             string
	lat, lng       *float64
	items          []*stockItem
	temp           float64
	excursionUntil time.Time
	doorOpen       bool
	restockDue     bool
}

type actionKind int

const (
	actSale actionKind = iota
	actReplay
	actTelemetry
	actFault
	actRestock
)

// action is one thing the generator decided happens; the executor turns it
// into HTTP requests. Actions of one machine are executed in order.
type action struct {
	kind    actionKind
	at      time.Time
	m       int
	item    int // actSale: index into the machine's items
	sale    sale
	tel     telemetry
	fault   fault
	restock []restockItem
	key     string     // actFault: its Idempotency-Key
	pick    uint64     // actReplay: which recent sale to resend
	replay  recentSale // actReplay: the sale, filled in at dispatch
}

type restockItem struct {
	item      int
	productID string
	qty       int
}

var paymentMethods = []string{"UPI", "CARD", "CASH"}
var paymentWeights = []float64{0.5, 0.3, 0.2}

var faultKinds = []struct {
	typ  string
	w    float64
	desc []string
}{
	{"PAYMENT_FAILURE", 0.40, []string{"Card reader not responding", "UPI payment timed out", "Card terminal error"}},
	{"DISPENSE_FAILURE", 0.25, []string{"Spiral motor stalled", "Item stuck in spiral", "Drop sensor saw no item"}},
	{"COIN_JAM", 0.20, []string{"Coin mechanism jammed", "Coin return blocked"}},
	{"NETWORK_ERROR", 0.15, []string{"Payment gateway unreachable", "Lost connection to payment network"}},
}

// Telemetry model constants.
const (
	setpointC         = 4.0   // fridge set point
	excursionChance   = 0.003 // per reading, of starting a temperature excursion
	excursionMinC     = 10.5
	doorOpenWarmingC  = 1.5 // degrees gained while the door was open
	doubleSaleChance  = 0.05
	temperatureJitter = 0.2
)

type generator struct {
	cfg      *Config
	rng      *rand.Rand
	runID    string
	sales    uint64 // transaction ids issued
	faults   uint64 // fault idempotency keys issued
	timers   timerHeap
	tseq     uint64
	machines []*machineState
	mcum     []float64 // cumulative machine weights
	pw       []float64 // product weights by rank
	live     bool      // faults, replays and telemetry only happen live
}

func newGenerator(cfg *Config, runID string) *generator {
	g := &generator{
		cfg:   cfg,
		rng:   rand.New(rand.NewPCG(uint64(cfg.Seed), 0x76656e6473796e63)),
		runID: runID,
		pw:    ZipfWeights(cfg.Products, ZipfExponent),
	}
	centre, known := lookupCity(cfg.City)
	catalog := Catalog()[:cfg.Products]
	var sum float64
	for i := 0; i < cfg.Machines; i++ {
		ms := &machineState{id: cfg.machineID(i), temp: setpointC + g.rng.NormFloat64()*temperatureJitter}
		if known {
			// Within about 2 km of the centre.
			lat := round(centre.lat+(g.rng.Float64()-0.5)*0.04, 6)
			lng := round(centre.lng+(g.rng.Float64()-0.5)*0.04, 6)
			ms.lat, ms.lng = &lat, &lng
		}
		for _, p := range catalog {
			ms.items = append(ms.items, &stockItem{product: p, price: p.Price, qty: p.Capacity, low: p.LowStockLimit, full: p.Capacity})
		}
		// Some spots (a lobby, a canteen) are busier than others.
		sum += math.Exp(g.rng.NormFloat64() * 0.4)
		g.mcum = append(g.mcum, sum)
		g.machines = append(g.machines, ms)
	}
	return g
}

func round(f float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(f*p) / p
}

func (g *generator) schedule(at time.Time, kind timerKind, m int) {
	g.tseq++
	heap.Push(&g.timers, timer{at: at, kind: kind, m: m, seq: g.tseq})
}

// begin starts the purchase process at t and schedules a driver visit for
// every machine that is already low (as found at setup).
func (g *generator) begin(t time.Time) {
	g.scheduleNextSale(t)
	for m, ms := range g.machines {
		for _, it := range ms.items {
			if it.qty < it.low && !ms.restockDue {
				ms.restockDue = true
				g.schedule(t.Add(g.cfg.RestockDelay), timerRestock, m)
			}
		}
	}
}

// goLive switches to live traffic at now: the purchase process restarts at
// now (so a long backfill does not cause a burst), telemetry starts,
// staggered over one period, and faults and replays are enabled.
func (g *generator) goLive(now time.Time) {
	kept := g.timers[:0]
	for _, t := range g.timers {
		if t.kind != timerSale {
			kept = append(kept, t)
		}
	}
	g.timers = kept
	heap.Init(&g.timers)
	g.live = true
	g.scheduleNextSale(now)
	if every := g.cfg.TelemetryEvery; every > 0 {
		n := time.Duration(len(g.machines))
		for m := range g.machines {
			g.schedule(now.Add(every*time.Duration(m)/n), timerTelemetry, m)
		}
	}
}

func (g *generator) scheduleNextSale(after time.Time) {
	if g.cfg.SalesPerMinute <= 0 {
		return
	}
	// Candidates arrive at the peak rate; fire() keeps each with probability
	// Seasonality.Factor (thinning), giving a Poisson process whose rate
	// follows the curve.
	gap := g.rng.ExpFloat64() / g.cfg.SalesPerMinute * float64(time.Minute)
	g.schedule(after.Add(time.Duration(gap)), timerSale, 0)
}

// peek returns when the next timer fires.
func (g *generator) peek() (time.Time, bool) {
	if len(g.timers) == 0 {
		return time.Time{}, false
	}
	return g.timers[0].at, true
}

// fire pops the earliest timer and returns what happens then (possibly
// nothing).
func (g *generator) fire() []action {
	if len(g.timers) == 0 {
		return nil
	}
	t := heap.Pop(&g.timers).(timer)
	switch t.kind {
	case timerSale:
		g.scheduleNextSale(t.at)
		return g.purchase(t.at)
	case timerTelemetry:
		g.schedule(t.at.Add(g.cfg.TelemetryEvery), timerTelemetry, t.m)
		return []action{g.reading(t.at, t.m)}
	case timerRestock:
		return g.visit(t.at, t.m)
	case timerDoorClose:
		ms := g.machines[t.m]
		ms.doorOpen = false
		ms.temp += doorOpenWarmingC
		return []action{g.telemetryAction(t.at, t.m)}
	}
	return nil
}

func (g *generator) purchase(at time.Time) []action {
	if g.rng.Float64() >= g.cfg.Seasonality.Factor(at.In(g.cfg.Timezone)) {
		return nil
	}
	m := g.pickMachine()
	ms := g.machines[m]
	if g.live && g.rng.Float64() < g.cfg.FaultProbability {
		k := faultKinds[g.pickWeighted(len(faultKinds), func(i int) float64 { return faultKinds[i].w })]
		g.faults++
		return []action{{kind: actFault, at: at, m: m, key: fmt.Sprintf("flt-%s-%06d", g.runID, g.faults), fault: fault{
			MachineID:   ms.id,
			FaultType:   k.typ,
			Description: k.desc[g.rng.IntN(len(k.desc))],
			Timestamp:   stamp(at),
		}}}
	}
	i := g.pickWeighted(len(ms.items), func(i int) float64 {
		if ms.items[i].qty < 1 {
			return 0 // sold out: the customer picks something else
		}
		return g.pw[i]
	})
	if i < 0 {
		return nil // the machine is empty
	}
	it := ms.items[i]
	q := 1
	if it.qty >= 2 && g.rng.Float64() < doubleSaleChance {
		q = 2
	}
	it.qty -= q
	g.sales++
	var out []action
	out = append(out, action{kind: actSale, at: at, m: m, item: i, sale: sale{
		TransactionID: fmt.Sprintf("sim-%s-%09d", g.runID, g.sales),
		MachineID:     ms.id,
		ProductID:     it.product.ID,
		Quantity:      q,
		Amount:        it.price * Money(q),
		PaymentMethod: paymentMethods[g.pickWeighted(len(paymentMethods), func(i int) float64 { return paymentWeights[i] })],
		Timestamp:     stamp(at),
	}})
	if it.qty < it.low && !ms.restockDue {
		ms.restockDue = true
		g.schedule(at.Add(g.cfg.RestockDelay), timerRestock, m)
	}
	if g.live && g.rng.Float64() < g.cfg.ReplayProbability {
		out = append(out, action{kind: actReplay, at: at, m: m, pick: g.rng.Uint64()})
	}
	return out
}

// visit is a driver's restock visit: the door opens, every product below its
// low-stock limit is filled to its full level, the door closes a minute or
// two later.
func (g *generator) visit(at time.Time, m int) []action {
	ms := g.machines[m]
	ms.restockDue = false
	a := action{kind: actRestock, at: at, m: m}
	for i, it := range ms.items {
		if it.qty < it.low {
			it.qty = it.full
			a.restock = append(a.restock, restockItem{item: i, productID: it.product.ID, qty: it.full})
		}
	}
	if len(a.restock) == 0 {
		return nil
	}
	if !g.live {
		return []action{a}
	}
	ms.doorOpen = true
	open := g.telemetryAction(at, m)
	g.schedule(at.Add(time.Minute+time.Duration(g.rng.Int64N(int64(2*time.Minute)))), timerDoorClose, m)
	return []action{open, a}
}

// reading is a periodic telemetry reading: the temperature drifts around the
// set point, and now and then a compressor problem pushes it above 10 °C
// for a few minutes.
func (g *generator) reading(at time.Time, m int) action {
	ms := g.machines[m]
	switch {
	case at.Before(ms.excursionUntil):
		ms.temp = excursionMinC + g.rng.Float64()*2.5
	case g.rng.Float64() < excursionChance:
		ms.excursionUntil = at.Add(3*time.Minute + time.Duration(g.rng.Int64N(int64(5*time.Minute))))
		ms.temp = excursionMinC + g.rng.Float64()*2.5
	default:
		ms.temp = setpointC + 0.7*(ms.temp-setpointC) + g.rng.NormFloat64()*temperatureJitter
	}
	return g.telemetryAction(at, m)
}

func (g *generator) telemetryAction(at time.Time, m int) action {
	ms := g.machines[m]
	door := "CLOSED"
	if ms.doorOpen {
		door = "OPEN"
	}
	return action{kind: actTelemetry, at: at, m: m, tel: telemetry{
		MachineID:   ms.id,
		Temperature: round(ms.temp, 1),
		PowerStatus: "ON",
		DoorStatus:  door,
		Timestamp:   stamp(at),
	}}
}

func (g *generator) pickMachine() int {
	x := g.rng.Float64() * g.mcum[len(g.mcum)-1]
	// The first machine whose cumulative weight exceeds x.
	i := sort.Search(len(g.mcum), func(i int) bool { return g.mcum[i] > x })
	return min(i, len(g.mcum)-1)
}

// pickWeighted picks an index in 0..n-1 with probability proportional to
// w(i), or -1 if every weight is 0.
func (g *generator) pickWeighted(n int, w func(int) float64) int {
	var sum float64
	for i := 0; i < n; i++ {
		sum += w(i)
	}
	if sum <= 0 {
		return -1
	}
	x := g.rng.Float64() * sum
	last := -1
	for i := 0; i < n; i++ {
		wi := w(i)
		if wi <= 0 {
			continue
		}
		if x < wi {
			return i
		}
		x -= wi
		last = i
	}
	return last // rounding left x just above the total
}
