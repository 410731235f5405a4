// Package dex parses DEX/UCS audit files (EVA-DTS): the meters a vending
// machine controller keeps and hands to a driver's handheld at each read.
//
// A file is a list of records (segments), one per line, ended by CR LF or
// LF; each record is an identifier and fields separated by '*'. The
// envelope is optional, as real files vary: a transmission (DXS … DXE)
// holds a transaction set (ST … SE) whose SE01 counts its segments from ST
// to SE inclusive. A G85 record, when present, carries a CRC of the
// transaction set (see CRC). Parse reads the records the edge reconciles:
//
//	ID1  machine serial (ID101), model (ID102), build (ID103)
//	ID4  decimal places of every amount (ID401, default 2), currency (ID402/ID403)
//	VA1  paid vends: value and count since initialisation, value and count since reset
//	VA2  test vends, VA3 free vends (same layout)
//	CA2  cash sales (same layout); CA3 cash in; CA4 cash dispensed
//	DA2  cashless sales (same layout)
//	PA1  a selection (PA101), its price (PA102), its product identifier (PA103)
//	PA2  the selection's count and value since initialisation, since reset
//	EA1, EA2, EA3 …  events (EA3 holds the date and time of the read)
//
// Records the package does not know are kept as warnings, never refused.
// Amounts are in the machine's minor units with an implied decimal point
// (ID401 places) and come out in cents. Anything malformed is an *Error
// naming the line, the record and the field.
package dex

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MaxSize is the largest file Parse reads (a full audit of a large machine
// is a few tens of kilobytes).
const MaxSize = 1 << 20

// maxDigits bounds a numeric field: 15 digits fit any meter and any amount
// in cents without overflow.
const maxDigits = 15

// Error is a malformed file: where (line, 1-based; 0 for the whole file),
// which record and field (DEX element name such as "PA102"), and what.
type Error struct {
	Line   int
	Record string
	Field  string
	Msg    string
}

// Error reads "line 7: PA102: price "1x5" is not a whole number".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	switch {
	case e.Field != "":
		b.WriteString(e.Field + ": ")
	case e.Record != "":
		b.WriteString(e.Record + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func errorf(line int, record, field, format string, args ...any) *Error {
	return &Error{Line: line, Record: record, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Counter is a count of vends and their value in cents.
type Counter struct {
	Count int64 `json:"count"`
	Value int64 `json:"value"`
}

// Meter is a pair of counters a machine keeps: since its initialisation
// (never reset) and since the last reset (usually the last read). Has*
// say whether the file gave them.
type Meter struct {
	Init     Counter `json:"init"`
	Reset    Counter `json:"reset"`
	HasInit  bool    `json:"hasInit"`
	HasReset bool    `json:"hasReset"`
}

// CashIn is the CA3 record: cash put into the machine, in cents.
type CashIn struct {
	InReset, ToBoxReset, ToTubesReset, BillsReset int64
	InInit, ToBoxInit, ToTubesInit, BillsInit     int64
	Present                                       bool
}

// CashOut is the CA4 record: change dispensed, in cents.
type CashOut struct {
	DispensedReset, ManualReset, DispensedInit, ManualInit int64
	Present                                                bool
}

// Product is one selection: PA1 and the PA2 that follows it. A selection
// listed more than once (one PA1 per price list, say) is one Product whose
// counters are the sums, with every price in Prices and the first in Price.
type Product struct {
	Selection string  `json:"selection"`
	ProductID string  `json:"productId,omitempty"`
	Price     int64   `json:"price"`
	Prices    []int64 `json:"prices,omitempty"`
	Sales     Meter   `json:"sales"`
	// Line is where the selection's first PA1 is.
	Line int `json:"line"`
}

// Event is one EA record.
type Event struct {
	Record string   `json:"record"`
	Code   string   `json:"code"`
	Fields []string `json:"fields,omitempty"`
}

// Audit is a parsed DEX file.
type Audit struct {
	Serial, Model, Build string
	// Decimals is ID401 (2 when the file has no ID4).
	Decimals int
	Currency string

	PaidVends, TestVends, FreeVends Meter
	CashSales, Cashless             Meter
	CashIn                          CashIn
	CashOut                         CashOut

	Products []Product
	Events   []Event
	// ReadDate and ReadTime are EA302 and EA303 as written (YYMMDD or
	// YYYYMMDD, HHMM or HHMMSS), "" when absent.
	ReadDate, ReadTime string

	// Envelope says what the file had: DXS/DXE, ST/SE, a verified G85.
	HasDXS, HasST, HasCRC bool
	// Warnings are what Parse tolerated.
	Warnings []string
}

// Product returns the selection's product, or nil.
func (a *Audit) Product(selection string) *Product {
	for i := range a.Products {
		if a.Products[i].Selection == selection {
			return &a.Products[i]
		}
	}
	return nil
}

// record is one line split into its identifier and fields; f[0] is
// element 01.
type record struct {
	line int
	id   string
	f    []string
	raw  string
}

// field returns element n (1-based) or "".
func (r *record) field(n int) string {
	if n-1 < len(r.f) {
		return strings.TrimSpace(r.f[n-1])
	}
	return ""
}

func (r *record) name(n int) string { return fmt.Sprintf("%s%02d", r.id, n) }

// num reads element n as a non-negative whole number; ok is false when it
// is blank or absent.
func (r *record) num(n int) (v int64, ok bool, err error) {
	s := r.field(n)
	if s == "" {
		return 0, false, nil
	}
	if len(s) > maxDigits {
		return 0, false, errorf(r.line, r.id, r.name(n), "%q has more than %d digits", s, maxDigits)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false, errorf(r.line, r.id, r.name(n), "%q is not a whole number", clip(s))
		}
	}
	v, err = strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, errorf(r.line, r.id, r.name(n), "%q is not a whole number", clip(s))
	}
	return v, true, nil
}

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

// Parse reads a DEX file. It returns an *Error for a file it cannot trust:
// not text, a record without an identifier, a number that is not one, a
// broken envelope (DXS without DXE, ST without SE, a wrong SE01 segment
// count), a G85 CRC that does not match, PA2 without a PA1, a file with no
// audit records at all.
func Parse(data []byte) (*Audit, error) {
	if len(data) > MaxSize {
		return nil, errorf(0, "", "", "file is %d bytes; at most %d", len(data), MaxSize)
	}
	recs, err := split(data)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errorf(0, "", "", "file is empty")
	}
	p := &parser{a: &Audit{Decimals: 2}, unknown: map[string]bool{}}
	if err := p.envelope(recs); err != nil {
		return nil, err
	}
	for i := range recs {
		if err := p.record(&recs[i]); err != nil {
			return nil, err
		}
	}
	return p.finish()
}

// split cuts data into records, one per non-blank line.
func split(data []byte) ([]record, error) {
	var recs []record
	line := 0
	for len(data) > 0 {
		line++
		var l []byte
		if i := indexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			l, data = data, nil
		}
		if n := len(l); n > 0 && l[n-1] == '\r' {
			l = l[:n-1]
		}
		for col, c := range l {
			if c == '\t' {
				continue
			}
			if c < 0x20 || c > 0x7e {
				return nil, errorf(line, "", "", "byte 0x%02x at column %d: a DEX file is printable ASCII", c, col+1)
			}
		}
		s := string(l)
		if strings.TrimSpace(s) == "" {
			continue
		}
		parts := strings.Split(s, "*")
		id := strings.TrimSpace(parts[0])
		if !validID(id) {
			return nil, errorf(line, "", "", "%q does not start with a record identifier (letters and digits, then '*')", clip(s))
		}
		recs = append(recs, record{line: line, id: id, f: parts[1:], raw: s})
	}
	return recs, nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func validID(id string) bool {
	if len(id) < 2 || len(id) > 8 {
		return false
	}
	for _, c := range id {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return id[0] >= 'A' && id[0] <= 'Z'
}

type parser struct {
	a       *Audit
	cur     *Product // the selection the next PA2 belongs to
	fresh   bool     // cur was opened by the last PA1 (its PA2 not seen yet)
	unknown map[string]bool
	dup     map[string]int
}

// envelope checks DXS/DXE, ST/SE and G85 on the whole list first, so an
// error in the envelope is reported before the records it encloses.
func (p *parser) envelope(recs []record) error {
	first, last := recs[0], recs[len(recs)-1]
	dxs, dxe := -1, -1
	st, se := -1, -1
	for i := range recs {
		switch recs[i].id {
		case "DXS":
			if dxs >= 0 {
				return errorf(recs[i].line, "DXS", "", "second DXS (first on line %d)", recs[dxs].line)
			}
			dxs = i
		case "DXE":
			if dxe >= 0 {
				return errorf(recs[i].line, "DXE", "", "second DXE (first on line %d)", recs[dxe].line)
			}
			dxe = i
		case "ST":
			if st >= 0 {
				return errorf(recs[i].line, "ST", "", "second ST (first on line %d); one transaction set per file", recs[st].line)
			}
			st = i
		case "SE":
			if se >= 0 {
				return errorf(recs[i].line, "SE", "", "second SE (first on line %d)", recs[se].line)
			}
			se = i
		}
	}
	switch {
	case dxs >= 0 && dxs != 0:
		return errorf(recs[dxs].line, "DXS", "", "DXS must be the first record")
	case dxs >= 0 && dxe < 0:
		return errorf(last.line, "DXS", "", "the file starts with DXS but has no DXE (cut short?)")
	case dxe >= 0 && dxs < 0:
		return errorf(recs[dxe].line, "DXE", "", "DXE without a DXS")
	case dxe >= 0 && dxe != len(recs)-1:
		return errorf(recs[dxe+1].line, recs[dxe+1].id, "", "record after DXE")
	case st >= 0 && se < 0:
		return errorf(last.line, "ST", "", "ST on line %d has no SE (cut short?)", recs[st].line)
	case se >= 0 && st < 0:
		return errorf(recs[se].line, "SE", "", "SE without an ST")
	case st >= 0 && se < st:
		return errorf(recs[se].line, "SE", "", "SE before ST")
	}
	p.a.HasDXS = dxs >= 0
	if dxs < 0 {
		p.warn("no DXS/DXE transmission envelope")
	}
	if st < 0 {
		p.warn("no ST/SE transaction set envelope: segment count not checked")
	} else {
		p.a.HasST = true
		for i := range recs {
			if (i < st || i > se) && i != dxs && i != dxe {
				return errorf(recs[i].line, recs[i].id, "", "record outside the ST/SE transaction set")
			}
		}
		seRec := &recs[se]
		n, ok, err := seRec.num(1)
		if err != nil {
			return err
		}
		if want := int64(se - st + 1); !ok || n != want {
			return errorf(seRec.line, "SE", "SE01", "segment count is %q but the transaction set holds %d segments (ST to SE)", seRec.field(1), want)
		}
		if a, b := recs[st].field(2), seRec.field(2); a != "" && b != "" && a != b {
			return errorf(seRec.line, "SE", "SE02", "control number %q does not match ST02 %q", b, a)
		}
	}
	if dxe >= 0 {
		if a, b := first.field(4), last.field(1); a != "" && b != "" && a != b {
			return errorf(last.line, "DXE", "DXE01", "transmission control number %q does not match DXS04 %q", b, a)
		}
		if n, ok, err := last.num(2); err != nil {
			return err
		} else if ok && n != 1 && st >= 0 {
			return errorf(last.line, "DXE", "DXE02", "the file has 1 transaction set, not %d", n)
		}
	}
	for i := range recs {
		if recs[i].id != "G85" {
			continue
		}
		if st < 0 || i <= st || i >= se {
			return errorf(recs[i].line, "G85", "", "G85 must be inside the ST/SE transaction set")
		}
		if err := checkCRC(recs[st:i], &recs[i]); err != nil {
			return err
		}
		p.a.HasCRC = true
	}
	return nil
}

// checkCRC verifies g's G8501 against the records before it (from ST).
// Files travel with CR LF or with LF: the CRC is accepted over either.
func checkCRC(recs []record, g *record) error {
	s := g.field(1)
	want, err := strconv.ParseUint(s, 16, 16)
	if s == "" || len(s) > 4 || err != nil {
		return errorf(g.line, "G85", "G8501", "%q is not a 4-digit hexadecimal CRC", clip(s))
	}
	var crlf, lf uint16
	for _, r := range recs {
		crlf = crcUpdate(crlf, r.raw)
		crlf = crcUpdate(crlf, "\r\n")
		lf = crcUpdate(lf, r.raw)
		lf = crcUpdate(lf, "\n")
	}
	if uint16(want) != crlf && uint16(want) != lf {
		return errorf(g.line, "G85", "G8501", "CRC %s does not match the data (computed %04X): the file was changed or cut", s, crlf)
	}
	return nil
}

func (p *parser) warn(format string, args ...any) {
	p.a.Warnings = append(p.a.Warnings, fmt.Sprintf(format, args...))
}

// families are record identifier prefixes of EVA-DTS blocks this package
// reads no field of: they are skipped without a warning.
var families = []string{"CB", "VA", "CA", "DA", "DB", "BA", "TA", "PA", "EA", "LA", "MA", "SD", "LS", "LE", "MC", "TC", "CM", "ID", "MR", "AM", "VM", "IC", "CR", "G8"}

func (p *parser) record(r *record) error {
	a := p.a
	switch r.id {
	case "DXS", "DXE", "ST", "SE", "G85":
		return nil
	case "ID1":
		a.Serial, a.Model, a.Build = r.field(1), r.field(2), r.field(3)
	case "ID4":
		n, ok, err := r.num(1)
		if err != nil {
			return err
		}
		if ok {
			if n > 4 {
				return errorf(r.line, r.id, "ID401", "decimal places %d: at most 4", n)
			}
			a.Decimals = int(n)
		}
		a.Currency = strings.TrimSpace(r.field(3))
		if a.Currency == "" {
			a.Currency = r.field(2)
		}
	case "VA1", "VA2", "VA3", "CA2", "DA2":
		m, err := meterOf(r, false)
		if err != nil {
			return err
		}
		switch r.id {
		case "VA1":
			a.PaidVends = *m
		case "VA2":
			a.TestVends = *m
		case "VA3":
			a.FreeVends = *m
		case "CA2":
			a.CashSales = *m
		case "DA2":
			a.Cashless = *m
		}
	case "CA3":
		vs, err := nums(r, 8)
		if err != nil {
			return err
		}
		a.CashIn = CashIn{vs[0], vs[1], vs[2], vs[3], vs[4], vs[5], vs[6], vs[7], true}
	case "CA4":
		vs, err := nums(r, 4)
		if err != nil {
			return err
		}
		a.CashOut = CashOut{vs[0], vs[1], vs[2], vs[3], true}
	case "PA1":
		return p.pa1(r)
	case "PA2":
		return p.pa2(r)
	default:
		if strings.HasPrefix(r.id, "EA") {
			ev := Event{Record: r.id, Code: r.field(1)}
			for i := 2; i <= len(r.f); i++ {
				ev.Fields = append(ev.Fields, r.field(i))
			}
			for len(ev.Fields) > 0 && ev.Fields[len(ev.Fields)-1] == "" {
				ev.Fields = ev.Fields[:len(ev.Fields)-1]
			}
			if r.id == "EA3" {
				a.ReadDate, a.ReadTime = r.field(2), r.field(3)
			}
			a.Events = append(a.Events, ev)
			return nil
		}
		for _, f := range families {
			if strings.HasPrefix(r.id, f) {
				return nil
			}
		}
		if !p.unknown[r.id] {
			p.unknown[r.id] = true
			p.warn("line %d: unknown record %s skipped", r.line, r.id)
		}
	}
	return nil
}

// nums reads elements 1..n as numbers (blank: 0).
func nums(r *record, n int) ([]int64, error) {
	out := make([]int64, n)
	for i := range out {
		v, _, err := r.num(i + 1)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// meterOf reads a value/count record (VA1, CA2, DA2: value first) or a
// count/value one (PA2: count first).
func meterOf(r *record, countFirst bool) (*Meter, error) {
	var v [4]int64
	var ok [4]bool
	for i := range v {
		var err error
		if v[i], ok[i], err = r.num(i + 1); err != nil {
			return nil, err
		}
	}
	m := &Meter{HasInit: ok[0] || ok[1], HasReset: ok[2] || ok[3]}
	if countFirst {
		m.Init, m.Reset = Counter{Count: v[0], Value: v[1]}, Counter{Count: v[2], Value: v[3]}
	} else {
		m.Init, m.Reset = Counter{Value: v[0], Count: v[1]}, Counter{Value: v[2], Count: v[3]}
	}
	return m, nil
}

func (p *parser) pa1(r *record) error {
	sel := r.field(1)
	if sel == "" {
		return errorf(r.line, "PA1", "PA101", "selection is blank")
	}
	price, _, err := r.num(2)
	if err != nil {
		return err
	}
	p.fresh = true
	if cur := p.a.Product(sel); cur != nil {
		if p.dup == nil {
			p.dup = map[string]int{}
		}
		if p.dup[sel] == 0 {
			p.warn("line %d: selection %s listed again (first on line %d): its counters are summed", r.line, sel, cur.Line)
		}
		p.dup[sel]++
		cur.Prices = append(cur.Prices, price)
		if cur.ProductID == "" {
			cur.ProductID = r.field(3)
		}
		p.cur = cur
		return nil
	}
	p.a.Products = append(p.a.Products, Product{Selection: sel, ProductID: r.field(3), Price: price, Prices: []int64{price}, Line: r.line})
	p.cur = &p.a.Products[len(p.a.Products)-1]
	return nil
}

func (p *parser) pa2(r *record) error {
	if p.cur == nil {
		return errorf(r.line, "PA2", "", "PA2 without a PA1 before it")
	}
	if !p.fresh {
		return errorf(r.line, "PA2", "", "second PA2 for selection %s", p.cur.Selection)
	}
	p.fresh = false
	m, err := meterOf(r, true)
	if err != nil {
		return err
	}
	s := &p.cur.Sales
	s.Init.Count += m.Init.Count
	s.Init.Value += m.Init.Value
	s.Reset.Count += m.Reset.Count
	s.Reset.Value += m.Reset.Value
	s.HasInit = s.HasInit || m.HasInit
	s.HasReset = s.HasReset || m.HasReset
	switch {
	case !m.HasInit && !m.HasReset:
		p.warn("line %d: PA2 of selection %s has no counters", r.line, p.cur.Selection)
	case !m.HasInit:
		p.warn("line %d: PA2 of selection %s lacks its since-init counters", r.line, p.cur.Selection)
	case !m.HasReset:
		p.warn("line %d: PA2 of selection %s lacks its since-reset counters", r.line, p.cur.Selection)
	}
	return nil
}

// finish converts every amount from the file's decimal places to cents,
// once ID4 is known wherever it stood.
func (p *parser) finish() (*Audit, error) {
	a := p.a
	if a.Serial == "" && len(a.Products) == 0 && !a.PaidVends.HasInit && !a.PaidVends.HasReset && !a.CashIn.Present && !a.CashSales.HasInit {
		return nil, errorf(0, "", "", "no audit records (ID1, VA1, CA2, PA1 …): not a DEX audit file")
	}
	lossy := false
	cents := func(v *int64) {
		var ok bool
		*v, ok = toCents(*v, a.Decimals)
		lossy = lossy || !ok
	}
	for _, m := range []*Meter{&a.PaidVends, &a.TestVends, &a.FreeVends, &a.CashSales, &a.Cashless} {
		cents(&m.Init.Value)
		cents(&m.Reset.Value)
	}
	for _, v := range []*int64{&a.CashIn.InReset, &a.CashIn.ToBoxReset, &a.CashIn.ToTubesReset, &a.CashIn.BillsReset,
		&a.CashIn.InInit, &a.CashIn.ToBoxInit, &a.CashIn.ToTubesInit, &a.CashIn.BillsInit,
		&a.CashOut.DispensedReset, &a.CashOut.ManualReset, &a.CashOut.DispensedInit, &a.CashOut.ManualInit} {
		cents(v)
	}
	for i := range a.Products {
		pr := &a.Products[i]
		cents(&pr.Price)
		for j := range pr.Prices {
			cents(&pr.Prices[j])
		}
		cents(&pr.Sales.Init.Value)
		cents(&pr.Sales.Reset.Value)
		if len(pr.Prices) == 1 || !slices.ContainsFunc(pr.Prices, func(x int64) bool { return x != pr.Price }) {
			pr.Prices = nil
		}
	}
	if lossy {
		p.warn("amounts with %d decimal places were rounded to cents", a.Decimals)
	}
	return a, nil
}

// toCents converts v with dec implied decimal places to cents; ok is false
// when rounding was needed.
func toCents(v int64, dec int) (int64, bool) {
	switch {
	case dec == 2:
		return v, true
	case dec < 2:
		for range 2 - dec {
			v *= 10
		}
		return v, true
	}
	d := int64(1)
	for range dec - 2 {
		d *= 10
	}
	return (v + d/2) / d, v%d == 0
}
