package edgeapi

import "github.com/vendsync/vendsync/internal/jsonappend"

// The lists of up to hundreds of faults, alerts, audit entries and lots
// encode without reflection too (see appendjson.go), byte for byte as
// encoding/json, which TestAppendJSON_SameBytesAsEncodingJSON checks.
var (
	_ jsonappend.Appender = FaultList{}
	_ jsonappend.Appender = AlertList{}
	_ jsonappend.Appender = AuditList{}
	_ jsonappend.Appender = LotList{}
)

// AppendJSON appends l's JSON encoding to b.
func (l FaultList) AppendJSON(b []byte) []byte {
	b = append(b, `{"faults":`...)
	b = jsonappend.List(b, l.Faults, appendFault)
	return append(b, '}')
}

// appendFault appends f's JSON encoding to b.
func appendFault(b []byte, f *Fault) []byte {
	b = append(b, `{"faultId":`...)
	b = jsonappend.Int(b, f.FaultID)
	b = append(b, `,"machineId":`...)
	b = jsonappend.String(b, f.MachineID)
	b = append(b, `,"faultType":`...)
	b = jsonappend.String(b, f.FaultType)
	b = append(b, `,"description":`...)
	b = jsonappend.String(b, f.Description)
	b = append(b, `,"status":`...)
	b = jsonappend.String(b, f.Status)
	b = append(b, `,"timestamp":`...)
	b = jsonappend.Time(b, f.Timestamp)
	b = append(b, `,"reportedAt":`...)
	b = jsonappend.Time(b, f.ReportedAt)
	b = append(b, `,"updatedAt":`...)
	b = jsonappend.Time(b, f.UpdatedAt)
	if f.ResolvedAt != nil {
		b = append(b, `,"resolvedAt":`...)
		b = jsonappend.Time(b, *f.ResolvedAt)
	}
	if f.ResolvedBy != "" {
		b = append(b, `,"resolvedBy":`...)
		b = jsonappend.String(b, f.ResolvedBy)
	}
	return append(b, '}')
}

// AppendJSON appends l's JSON encoding to b.
func (l AlertList) AppendJSON(b []byte) []byte {
	b = append(b, `{"alerts":`...)
	b = jsonappend.List(b, l.Alerts, appendAlert)
	return append(b, '}')
}

// appendAlert appends a's JSON encoding to b.
func appendAlert(b []byte, a *Alert) []byte {
	b = append(b, `{"alertId":`...)
	b = jsonappend.Int(b, a.AlertID)
	b = append(b, `,"machineId":`...)
	b = jsonappend.String(b, a.MachineID)
	if a.ProductID != "" {
		b = append(b, `,"productId":`...)
		b = jsonappend.String(b, a.ProductID)
	}
	b = append(b, `,"type":`...)
	b = jsonappend.String(b, a.Type)
	b = append(b, `,"status":`...)
	b = jsonappend.String(b, a.Status)
	if a.Detail != "" {
		b = append(b, `,"detail":`...)
		b = jsonappend.String(b, a.Detail)
	}
	b = append(b, `,"createdAt":`...)
	b = jsonappend.Time(b, a.CreatedAt)
	if a.ClosedAt != nil {
		b = append(b, `,"closedAt":`...)
		b = jsonappend.Time(b, *a.ClosedAt)
	}
	if a.CloseReason != "" {
		b = append(b, `,"closeReason":`...)
		b = jsonappend.String(b, a.CloseReason)
	}
	return append(b, '}')
}

// AppendJSON appends l's JSON encoding to b. A detail that is not valid
// JSON fails encoding/json for the whole list; AppendJSON then appends
// nothing (internal/web.WriteJSON writes an empty body, as it did).
func (l AuditList) AppendJSON(b []byte) []byte {
	start := len(b)
	valid := true
	b = append(b, `{"entries":`...)
	b = jsonappend.List(b, l.Entries, func(b []byte, e *AuditEntry) []byte {
		b, ok := appendAuditEntry(b, e)
		valid = valid && ok
		return b
	})
	if !valid {
		return b[:start]
	}
	return append(b, '}')
}

// appendAuditEntry appends e's JSON encoding to b; false when its detail
// is not valid JSON.
func appendAuditEntry(b []byte, e *AuditEntry) ([]byte, bool) {
	b = append(b, `{"id":`...)
	b = jsonappend.Int(b, e.ID)
	b = append(b, `,"entityType":`...)
	b = jsonappend.String(b, e.EntityType)
	b = append(b, `,"entityId":`...)
	b = jsonappend.String(b, e.EntityID)
	b = append(b, `,"action":`...)
	b = jsonappend.String(b, e.Action)
	b = append(b, `,"performedBy":`...)
	b = jsonappend.String(b, e.PerformedBy)
	b = append(b, `,"performedAt":`...)
	b = jsonappend.Time(b, e.PerformedAt)
	b = append(b, `,"detail":`...)
	b, ok := jsonappend.Raw(b, e.Detail)
	return append(b, '}'), ok
}

// AppendJSON appends l's JSON encoding to b.
func (l LotList) AppendJSON(b []byte) []byte {
	b = append(b, `{"lots":`...)
	b = jsonappend.List(b, l.Lots, appendLot)
	return append(b, '}')
}

// appendLot appends t's JSON encoding to b.
func appendLot(b []byte, t *Lot) []byte {
	b = append(b, `{"lotId":`...)
	b = jsonappend.Int(b, t.LotID)
	b = append(b, `,"machineId":`...)
	b = jsonappend.String(b, t.MachineID)
	b = append(b, `,"productId":`...)
	b = jsonappend.String(b, t.ProductID)
	if t.LotCode != "" {
		b = append(b, `,"lotCode":`...)
		b = jsonappend.String(b, t.LotCode)
	}
	if t.ExpiryDate != "" {
		b = append(b, `,"expiryDate":`...)
		b = jsonappend.String(b, t.ExpiryDate)
	}
	if t.UnitCost != nil {
		b = append(b, `,"unitCost":`...)
		b = t.UnitCost.AppendJSON(b)
	}
	b = append(b, `,"quantity":`...)
	b = jsonappend.Int(b, t.Quantity)
	b = append(b, `,"status":`...)
	b = jsonappend.String(b, t.Status)
	if t.Expired {
		b = append(b, `,"expired":true`...)
	} else {
		b = append(b, `,"expired":false`...)
	}
	b = append(b, `,"receivedAt":`...)
	b = jsonappend.Time(b, t.ReceivedAt)
	return append(b, '}')
}

// FaultsOf is a FaultList whose faults another package holds in its own
// shape: Len of them, the i-th given by At. Its encoding is a FaultList's
// of those faults (never null), without making the list: for the edge's
// 500-fault answers that copy was as large as the store's rows.
type FaultsOf struct {
	Len int
	At  func(i int) Fault
}

// AppendJSON appends l's JSON encoding to b.
func (l FaultsOf) AppendJSON(b []byte) []byte {
	b = append(b, `{"faults":`...)
	b = appendEach(b, l.Len, l.At, appendFault)
	return append(b, '}')
}

// AuditOf is FaultsOf for an AuditList: the same bytes as an AuditList of
// Len entries (never null), nothing when a detail is not valid JSON.
type AuditOf struct {
	Len int
	At  func(i int) AuditEntry
}

// AppendJSON appends l's JSON encoding to b.
func (l AuditOf) AppendJSON(b []byte) []byte {
	start := len(b)
	valid := true
	b = append(b, `{"entries":`...)
	b = appendEach(b, l.Len, l.At, func(b []byte, e *AuditEntry) []byte {
		b, ok := appendAuditEntry(b, e)
		valid = valid && ok
		return b
	})
	if !valid {
		return b[:start]
	}
	return append(b, '}')
}

// StockMovementsOf is FaultsOf for a StockMovementList: the same bytes as
// a StockMovementList of Len movements (never null) and NextOffset.
type StockMovementsOf struct {
	Len        int
	At         func(i int) StockMovement
	NextOffset *int
}

// AppendJSON appends l's JSON encoding to b.
func (l StockMovementsOf) AppendJSON(b []byte) []byte {
	b = append(b, `{"movements":`...)
	b = appendEach(b, l.Len, l.At, func(b []byte, m *StockMovement) []byte { return m.AppendJSON(b) })
	if l.NextOffset != nil {
		b = append(b, `,"nextOffset":`...)
		b = jsonappend.Int(b, int64(*l.NextOffset))
	}
	return append(b, '}')
}

// LotsOf is FaultsOf for a LotList: the same bytes as a LotList of Len
// lots (never null).
type LotsOf struct {
	Len int
	At  func(i int) Lot
}

// AppendJSON appends l's JSON encoding to b.
func (l LotsOf) AppendJSON(b []byte) []byte {
	b = append(b, `{"lots":`...)
	b = appendEach(b, l.Len, l.At, appendLot)
	return append(b, '}')
}

// appendEach appends n values as a JSON array (never null), the i-th
// given by at and encoded by elem.
func appendEach[T any](b []byte, n int, at func(i int) T, elem func(b []byte, v *T) []byte) []byte {
	b = append(b, '[')
	// One variable for every value: elem is called through a func value,
	// so &v escapes, and one per value would be one allocation each.
	var v T
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		v = at(i)
		b = elem(b, &v)
	}
	return append(b, ']')
}
