// Package dextest simulates a vending machine controller's DEX meters: feed
// it the vends a machine made (the same ones its sales events report, or
// more, to stand for events the machine lost) and Read renders the DEX/UCS
// audit file the machine would hand a driver, with a consistent envelope,
// SE segment count and G85 CRC. Tests and the simulator use it to make
// files that reconcile (or do not) against the edge's ledger.
package dextest

import (
	"fmt"
	"strings"
	"time"

	"github.com/vendsync/vendsync/edge/dex"
	"github.com/vendsync/vendsync/internal/edgeapi"
)

// Selection is one selection's meters.
type Selection struct {
	ID        string
	ProductID string // PA103 ("" leaves it blank)
	Price     int64  // cents
	// Init counts since initialisation, Reset since the last read.
	Init, Reset dex.Counter
}

// Machine is a controller's meters. The zero value is usable after
// adding selections with Add.
type Machine struct {
	Serial, Model string
	Selections    []*Selection
	// PaidInit/PaidReset are VA1; CashInit/CashReset CA2; Cashless* DA2.
	PaidInit, PaidReset         dex.Counter
	TestInit, TestReset         dex.Counter
	FreeInit, FreeReset         dex.Counter
	CashInit, CashReset         dex.Counter
	CashlessInit, CashlessReset dex.Counter
	reads                       int
}

// Add adds a selection (its id is also a product id unless productID says
// otherwise) and returns it.
func (m *Machine) Add(id, productID string, price int64) *Selection {
	s := &Selection{ID: id, ProductID: productID, Price: price}
	m.Selections = append(m.Selections, s)
	return s
}

// Selection returns the selection with id, or nil.
func (m *Machine) Selection(id string) *Selection {
	for _, s := range m.Selections {
		if s.ID == id {
			return s
		}
	}
	return nil
}

func add(c *dex.Counter, n, v int64) { c.Count += n; c.Value += v }

// Vend counts a paid vend of qty units of selection sel for amount cents,
// paid in cash or not. It panics for an unknown selection (a test bug).
func (m *Machine) Vend(sel string, qty, amount int64, cash bool) {
	s := m.Selection(sel)
	if s == nil {
		panic("dextest: no selection " + sel)
	}
	add(&s.Init, qty, amount)
	add(&s.Reset, qty, amount)
	add(&m.PaidInit, qty, amount)
	add(&m.PaidReset, qty, amount)
	if cash {
		add(&m.CashInit, qty, amount)
		add(&m.CashReset, qty, amount)
	} else {
		add(&m.CashlessInit, qty, amount)
		add(&m.CashlessReset, qty, amount)
	}
}

// Sale counts a sale the edge recorded (or would have): its product is
// taken as the selection, CASH as paid in cash. Feed it every sale the
// machine made and leave out of the ledger the ones to lose.
func (m *Machine) Sale(s edgeapi.Sale) {
	m.Vend(s.ProductID, s.Quantity, int64(s.Amount), s.PaymentMethod == "CASH")
}

// TestVend counts a test vend (VA2); FreeVend a free vend (VA3).
func (m *Machine) TestVend(n int64) { add(&m.TestInit, n, 0); add(&m.TestReset, n, 0) }

// FreeVend counts n free vends worth value cents (VA3).
func (m *Machine) FreeVend(n, value int64) { add(&m.FreeInit, n, value); add(&m.FreeReset, n, value) }

// ReadOptions shape a rendered file.
type ReadOptions struct {
	// At, when set, is written as the read's date and time (EA3), in its
	// own location.
	At time.Time
	// Bare leaves out DXS/DXE, ST/SE and G85.
	Bare bool
	// LF ends lines with LF instead of CR LF.
	LF bool
}

// Read renders the audit file and resets the since-reset meters, as a
// controller does when a driver reads it.
func (m *Machine) Read(o ReadOptions) []byte {
	m.reads++
	var body []string
	rec := func(format string, args ...any) { body = append(body, fmt.Sprintf(format, args...)) }
	rec("ID1*%s*%s*0001", m.Serial, m.Model)
	rec("ID4*2*978*EUR")
	rec("VA1*%d*%d*%d*%d", m.PaidInit.Value, m.PaidInit.Count, m.PaidReset.Value, m.PaidReset.Count)
	rec("VA2*%d*%d*%d*%d", m.TestInit.Value, m.TestInit.Count, m.TestReset.Value, m.TestReset.Count)
	rec("VA3*%d*%d*%d*%d", m.FreeInit.Value, m.FreeInit.Count, m.FreeReset.Value, m.FreeReset.Count)
	rec("CA2*%d*%d*%d*%d", m.CashInit.Value, m.CashInit.Count, m.CashReset.Value, m.CashReset.Count)
	rec("DA2*%d*%d*%d*%d", m.CashlessInit.Value, m.CashlessInit.Count, m.CashlessReset.Value, m.CashlessReset.Count)
	for _, s := range m.Selections {
		rec("PA1*%s*%d*%s", s.ID, s.Price, s.ProductID)
		rec("PA2*%d*%d*%d*%d", s.Init.Count, s.Init.Value, s.Reset.Count, s.Reset.Value)
	}
	if !o.At.IsZero() {
		rec("EA3*%d*%s*%s", m.reads, o.At.Format("060102"), o.At.Format("150405"))
	} else {
		rec("EA3*%d", m.reads)
	}
	var lines []string
	if o.Bare {
		lines = body
	} else {
		ctl := fmt.Sprintf("%04d", m.reads)
		set := append([]string{"ST*001*" + ctl}, body...)
		set = append(set, fmt.Sprintf("G85*%04X", dex.CRC(set)))
		set = append(set, fmt.Sprintf("SE*%d*%s", len(set)+1, ctl))
		lines = append([]string{fmt.Sprintf("DXS*VSY%s*VA*V1/1*%d", m.Serial, m.reads)}, set...)
		lines = append(lines, fmt.Sprintf("DXE*%d*1", m.reads))
	}
	m.PaidReset, m.TestReset, m.FreeReset, m.CashReset, m.CashlessReset = dex.Counter{}, dex.Counter{}, dex.Counter{}, dex.Counter{}, dex.Counter{}
	for _, s := range m.Selections {
		s.Reset = dex.Counter{}
	}
	eol := "\r\n"
	if o.LF {
		eol = "\n"
	}
	return []byte(strings.Join(lines, eol) + eol)
}
