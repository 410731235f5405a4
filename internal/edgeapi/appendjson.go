package edgeapi

import (
	"encoding/json"

	"github.com/vendsync/vendsync/internal/jsonappend"
)

// The answers of hundreds of rows encode without reflection (see
// internal/jsonappend); each gives exactly json.Marshal's bytes, which
// TestAppendJSON_SameBytesAsEncodingJSON checks.
var (
	_ jsonappend.Appender = SalesAnswer{}
	_ jsonappend.Appender = TopAnswer{}
	_ jsonappend.Appender = SaleResult{}
)

// AppendJSON appends r's JSON encoding to b: the answer to every POST
// /events/sales, written without reflection. A sale with pricing encodes
// its pricing with encoding/json (rare; the bytes are the same either way).
func (r SaleResult) AppendJSON(b []byte) []byte {
	start := len(b)
	b = append(b, `{"status":`...)
	b = jsonappend.String(b, r.Status)
	b = append(b, `,"transactionId":`...)
	b = jsonappend.String(b, r.TransactionID)
	b = append(b, `,"sequence":`...)
	b = jsonappend.Uint(b, r.Sequence)
	if r.Pricing != nil {
		p, err := json.Marshal(r.Pricing)
		if err != nil {
			return b[:start] // encoding/json refuses the whole value
		}
		b = append(b, `,"pricing":`...)
		b = append(b, p...)
	}
	if len(r.Flags) > 0 {
		b = append(b, `,"flags":`...)
		b = jsonappend.List(b, r.Flags, func(b []byte, f *string) []byte { return jsonappend.String(b, *f) })
	}
	return append(b, '}')
}

// AppendJSON appends a's JSON encoding to b.
func (a SalesAnswer) AppendJSON(b []byte) []byte {
	b = append(b, `{"from":`...)
	b = jsonappend.String(b, a.From)
	b = append(b, `,"groupBy":`...)
	b = jsonappend.String(b, a.GroupBy)
	b = append(b, `,"rows":`...)
	b = jsonappend.List(b, a.Rows, func(b []byte, r *SalesRow) []byte { return r.AppendJSON(b) })
	b = append(b, `,"site":`...)
	b = jsonappend.String(b, a.Site)
	b = append(b, `,"timezone":`...)
	b = jsonappend.String(b, a.Timezone)
	b = append(b, `,"to":`...)
	b = jsonappend.String(b, a.To)
	b = append(b, `,"totals":`...)
	b = a.Totals.AppendJSON(b)
	b = append(b, `,"window":`...)
	b = jsonappend.String(b, a.Window)
	return append(b, '}')
}

// AppendJSON appends r's JSON encoding to b.
func (r SalesRow) AppendJSON(b []byte) []byte {
	b = append(b, `{"key":`...)
	b = jsonappend.String(b, r.Key)
	b = append(b, `,"bucket":`...)
	b = jsonappend.String(b, r.Bucket)
	b = append(b, `,"transactions":`...)
	b = jsonappend.Int(b, r.Transactions)
	b = append(b, `,"quantity":`...)
	b = jsonappend.Int(b, r.Quantity)
	b = append(b, `,"revenue":`...)
	b = r.Revenue.AppendJSON(b)
	b = append(b, `,"discount":`...)
	b = r.Discount.AppendJSON(b)
	b = append(b, `,"grossRevenue":`...)
	b = r.GrossRevenue.AppendJSON(b)
	return append(b, '}')
}

// AppendJSON appends t's JSON encoding to b.
func (t Totals) AppendJSON(b []byte) []byte {
	b = append(b, `{"transactions":`...)
	b = jsonappend.Int(b, t.Transactions)
	b = append(b, `,"quantity":`...)
	b = jsonappend.Int(b, t.Quantity)
	b = append(b, `,"revenue":`...)
	b = t.Revenue.AppendJSON(b)
	b = append(b, `,"discount":`...)
	b = t.Discount.AppendJSON(b)
	b = append(b, `,"grossRevenue":`...)
	b = t.GrossRevenue.AppendJSON(b)
	return append(b, '}')
}

// AppendJSON appends a's JSON encoding to b.
func (a TopAnswer) AppendJSON(b []byte) []byte {
	b = append(b, `{"from":`...)
	b = jsonappend.String(b, a.From)
	b = append(b, `,"products":`...)
	b = jsonappend.List(b, a.Products, appendProductTotal)
	b = append(b, `,"site":`...)
	b = jsonappend.String(b, a.Site)
	b = append(b, `,"timezone":`...)
	b = jsonappend.String(b, a.Timezone)
	b = append(b, `,"to":`...)
	b = jsonappend.String(b, a.To)
	return append(b, '}')
}

// appendProductTotal appends p's JSON encoding to b.
func appendProductTotal(b []byte, p *ProductTotal) []byte {
	b = append(b, `{"productId":`...)
	b = jsonappend.String(b, p.ProductID)
	b = append(b, `,"name":`...)
	b = jsonappend.String(b, p.Name)
	b = append(b, `,"transactions":`...)
	b = jsonappend.Int(b, p.Transactions)
	b = append(b, `,"quantity":`...)
	b = jsonappend.Int(b, p.Quantity)
	b = append(b, `,"revenue":`...)
	b = p.Revenue.AppendJSON(b)
	return append(b, '}')
}

var _ jsonappend.Appender = StockMovementList{}

// AppendJSON appends l's JSON encoding to b.
func (l StockMovementList) AppendJSON(b []byte) []byte {
	b = append(b, `{"movements":`...)
	b = jsonappend.List(b, l.Movements, func(b []byte, m *StockMovement) []byte { return m.AppendJSON(b) })
	if l.NextOffset != nil {
		b = append(b, `,"nextOffset":`...)
		b = jsonappend.Int(b, int64(*l.NextOffset))
	}
	return append(b, '}')
}

// AppendJSON appends m's JSON encoding to b.
func (m StockMovement) AppendJSON(b []byte) []byte {
	b = append(b, `{"key":`...)
	b = jsonappend.String(b, m.Key)
	b = append(b, `,"machineId":`...)
	b = jsonappend.String(b, m.MachineID)
	b = append(b, `,"productId":`...)
	b = jsonappend.String(b, m.ProductID)
	b = append(b, `,"type":`...)
	b = jsonappend.String(b, m.Type)
	b = append(b, `,"quantity":`...)
	b = jsonappend.Int(b, m.Quantity)
	if m.After != nil {
		b = append(b, `,"after":`...)
		b = jsonappend.Int(b, *m.After)
	}
	b = append(b, `,"performedBy":`...)
	b = jsonappend.String(b, m.PerformedBy)
	b = append(b, `,"performedAt":`...)
	b = jsonappend.Time(b, m.PerformedAt)
	if m.VanID != "" {
		b = append(b, `,"vanId":`...)
		b = jsonappend.String(b, m.VanID)
	}
	b = append(b, `,"sequence":`...)
	b = jsonappend.Uint(b, m.Sequence)
	return append(b, '}')
}

var _ jsonappend.Appender = PaymentList{}

// AppendJSON appends l's JSON encoding to b.
func (l PaymentList) AppendJSON(b []byte) []byte {
	b = append(b, `{"payments":`...)
	b = jsonappend.List(b, l.Payments, func(b []byte, p *Payment) []byte { return appendPayment(b, *p) })
	return append(b, '}')
}

// appendPayment appends p's JSON encoding; a payment with its history
// (never in a list) goes through encoding/json.
func appendPayment(b []byte, p Payment) []byte {
	if p.History != nil {
		type plain Payment // without methods: encoding/json's own encoding
		q, _ := json.Marshal(plain(p))
		return append(b, q...)
	}
	b = append(b, `{"paymentId":`...)
	b = jsonappend.Int(b, p.PaymentID)
	b = append(b, `,"transactionId":`...)
	b = jsonappend.String(b, p.TransactionID)
	b = append(b, `,"machineId":`...)
	b = jsonappend.String(b, p.MachineID)
	b = append(b, `,"productId":`...)
	b = jsonappend.String(b, p.ProductID)
	b = append(b, `,"quantity":`...)
	b = jsonappend.Int(b, p.Quantity)
	b = append(b, `,"method":`...)
	b = jsonappend.String(b, p.Method)
	b = append(b, `,"methodName":`...)
	b = jsonappend.String(b, p.MethodName)
	b = append(b, `,"amount":`...)
	b = p.Amount.AppendJSON(b)
	b = append(b, `,"refunded":`...)
	b = p.Refunded.AppendJSON(b)
	b = append(b, `,"status":`...)
	b = jsonappend.String(b, p.Status)
	if p.Card != nil {
		b = append(b, `,"card":{`...)
		comma := false
		if p.Card.Reference != "" {
			b = append(b, `"reference":`...)
			b = jsonappend.String(b, p.Card.Reference)
			comma = true
		}
		if p.Card.Last4 != "" {
			if comma {
				b = append(b, ',')
			}
			b = append(b, `"last4":`...)
			b = jsonappend.String(b, p.Card.Last4)
		}
		b = append(b, '}')
	}
	if p.GatewayID != "" {
		b = append(b, `,"gatewayId":`...)
		b = jsonappend.String(b, p.GatewayID)
	}
	if p.Failure != "" {
		b = append(b, `,"failure":`...)
		b = jsonappend.String(b, p.Failure)
	}
	b = append(b, `,"day":`...)
	b = jsonappend.String(b, p.Day)
	b = append(b, `,"soldAt":`...)
	b = jsonappend.Time(b, p.SoldAt)
	b = append(b, `,"createdAt":`...)
	b = jsonappend.Time(b, p.CreatedAt)
	b = append(b, `,"updatedAt":`...)
	b = jsonappend.Time(b, p.UpdatedAt)
	return append(b, '}')
}
