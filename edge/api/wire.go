package api

import (
	"github.com/vendsync/vendsync/edge/sale"
	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/errs"
)

// The API answers with the wire types of internal/edgeapi; these map the
// store's rows and the writer's results to them.

func machineOut(m store.Machine) edgeapi.Machine {
	out := edgeapi.Machine{
		MachineID:      m.MachineID,
		Location:       edgeapi.Location{City: m.Location.City, Building: m.Location.Building, Lat: m.Location.Lat, Lng: m.Location.Lng},
		PaymentMethods: m.PaymentMethods, Status: m.Status, TemperatureMax: m.TemperatureMax,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, DecommissionedAt: m.DecommissionedAt,
	}
	if st := m.State; st != nil {
		out.State = &edgeapi.MachineState{LastTelemetryAt: st.LastTelemetryAt, Temperature: st.Temperature, PowerStatus: st.PowerStatus, DoorStatus: st.DoorStatus}
	}
	return out
}

func machinesOut(ms []store.Machine) []edgeapi.Machine {
	out := make([]edgeapi.Machine, len(ms))
	for i, m := range ms {
		out[i] = machineOut(m)
	}
	return out
}

func itemOut(it store.InventoryItem) edgeapi.InventoryItem {
	return edgeapi.InventoryItem{
		ProductID: it.ProductID, Name: it.Name, Price: it.Price, Quantity: it.Quantity, ExpiryDate: it.ExpiryDate,
		LowStockLimit: it.LowStockLimit, ParLevel: it.ParLevel, CasePack: it.CasePack, UpdatedAt: it.UpdatedAt, OpenAlerts: it.OpenAlerts,
		Capacity: it.Capacity,
	}
}

func itemsOut(its []store.InventoryItem) []edgeapi.InventoryItem {
	out := make([]edgeapi.InventoryItem, len(its))
	for i, it := range its {
		out[i] = itemOut(it)
	}
	return out
}

func faultOut(f store.Fault) edgeapi.Fault {
	return edgeapi.Fault{
		FaultID: f.FaultID, MachineID: f.MachineID, FaultType: f.FaultType, Description: f.Description, Status: f.Status,
		Timestamp: f.Timestamp, ReportedAt: f.ReportedAt, UpdatedAt: f.UpdatedAt, ResolvedAt: f.ResolvedAt, ResolvedBy: f.ResolvedBy,
	}
}

func alertsOut(as []store.Alert) []edgeapi.Alert {
	out := make([]edgeapi.Alert, len(as))
	for i, a := range as {
		out[i] = edgeapi.Alert{
			AlertID: a.AlertID, MachineID: a.MachineID, ProductID: a.ProductID, Type: a.Type, Status: a.Status,
			Detail: a.Detail, CreatedAt: a.CreatedAt, ClosedAt: a.ClosedAt, CloseReason: a.CloseReason,
		}
	}
	return out
}

// salesRowsOut appends the wire form of rs to dst; never nil (an empty
// answer's rows are [], not null).
func salesRowsOut(dst []edgeapi.SalesRow, rs []store.AggRow) []edgeapi.SalesRow {
	if dst == nil {
		dst = make([]edgeapi.SalesRow, 0, len(rs))
	}
	for _, r := range rs {
		dst = append(dst, edgeapi.SalesRow{Key: r.Key, Bucket: r.Bucket, Transactions: r.Transactions, Quantity: r.Quantity, Revenue: r.Revenue})
	}
	return dst
}

func productTotalsOut(ps []store.ProductTotal) []edgeapi.ProductTotal {
	out := make([]edgeapi.ProductTotal, len(ps))
	for i, p := range ps {
		out[i] = edgeapi.ProductTotal{ProductID: p.ProductID, Name: p.Name, Transactions: p.Transactions, Quantity: p.Quantity, Revenue: p.Revenue}
	}
	return out
}

func auditEntryOut(e store.AuditEntry) edgeapi.AuditEntry {
	return edgeapi.AuditEntry{ID: e.ID, EntityType: e.EntityType, EntityID: e.EntityID, Action: e.Action,
		PerformedBy: e.PerformedBy, PerformedAt: e.PerformedAt, Detail: e.Detail}
}

func uplinkOut(u Uplink) edgeapi.Uplink {
	out := edgeapi.Uplink{Configured: u.Configured, Connected: u.Connected, EnvelopeVersion: u.Envelope,
		BinaryVersion: u.Binary, WaitingForCentral: u.WaitingForCentral, CentralReads: u.CentralReads}
	if w := u.Watermark; w != nil {
		out.Watermark = &edgeapi.Watermark{Site: w.Site, Contiguous: w.Contiguous, MaxSeen: w.MaxSeen, At: w.At}
	}
	return out
}

func saleOut(r sale.Result) edgeapi.SaleResult {
	return edgeapi.SaleResult{Status: r.Status, TransactionID: r.TransactionID, Sequence: r.Sequence, Pricing: pricingOut(r.Pricing), Flags: r.Flags}
}

func batchOut(rs []sale.BatchResult) []edgeapi.BatchResult {
	out := make([]edgeapi.BatchResult, len(rs))
	for i, r := range rs {
		out[i] = edgeapi.BatchResult{Index: r.Index, TransactionID: r.TransactionID, Status: r.Status, Sequence: r.Sequence, Error: errorOut(r.Error)}
	}
	return out
}

func errorOut(e *errs.Error) *edgeapi.Error {
	if e == nil {
		return nil
	}
	return &edgeapi.Error{Code: e.Code, Message: e.Message, Field: e.Field}
}

func restockOut(r stock.RestockResult) edgeapi.RestockResult {
	out := edgeapi.RestockResult{MovementID: r.MovementID, MachineID: r.MachineID}
	for _, l := range r.Lines {
		out.Lines = append(out.Lines, edgeapi.StockLine{Line: l.Line, ProductID: l.ProductID, Reason: l.Reason, Delta: l.Delta, After: l.After, Sequence: l.Sequence})
	}
	return out
}
