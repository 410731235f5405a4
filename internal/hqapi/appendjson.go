package hqapi

import (
	"github.com/vendsync/vendsync/internal/jsonappend"
)

// The answers of thousands of rows encode without reflection (see
// internal/jsonappend): the fleet's machines by day are 10,000 rows and a
// freshness entry per site, and encoding/json spent more time on them than
// the read model did reading them. Each gives exactly json.Marshal's bytes,
// which TestAppendJSON_SameBytesAsEncodingJSON checks.
var (
	_ jsonappend.Appender = SalesAnswer{}
	_ jsonappend.Appender = SalesAnswerOf{}
	_ jsonappend.Appender = FreshnessList{}
)

// AppendJSON appends a's JSON encoding to b.
func (a SalesAnswer) AppendJSON(b []byte) []byte {
	return appendSalesAnswer(b, &a, len(a.Rows), a.Rows == nil, func(i int) SalesRow { return a.Rows[i] })
}

// SalesAnswerOf is a SalesAnswer whose rows are At(0) … At(Len-1) (its
// Rows are not read): the same bytes, without an array of the rows. The
// fleet's machines by day are 10,000 rows, which central/api encodes from
// the read model's rows as they are.
type SalesAnswerOf struct {
	SalesAnswer
	Len int
	At  func(i int) SalesRow
}

// AppendJSON appends a's JSON encoding to b (its rows never null).
func (a SalesAnswerOf) AppendJSON(b []byte) []byte {
	return appendSalesAnswer(b, &a.SalesAnswer, a.Len, false, a.At)
}

// appendSalesAnswer appends a with n rows, each at(i) (null when null).
func appendSalesAnswer(b []byte, a *SalesAnswer, n int, null bool, at func(i int) SalesRow) []byte {
	b = append(b, `{"groupBy":`...)
	b = jsonappend.String(b, a.GroupBy)
	b = append(b, `,"window":`...)
	b = jsonappend.String(b, a.Window)
	b = append(b, `,"from":`...)
	b = jsonappend.String(b, a.From)
	b = append(b, `,"to":`...)
	b = jsonappend.String(b, a.To)
	if a.City != "" {
		b = append(b, `,"city":`...)
		b = jsonappend.String(b, a.City)
	}
	if a.SiteID != "" {
		b = append(b, `,"siteId":`...)
		b = jsonappend.String(b, a.SiteID)
	}
	b = append(b, `,"rows":`...)
	if null {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			r := at(i)
			b = appendSalesRow(b, &r)
		}
		b = append(b, ']')
	}
	b = append(b, `,"totals":`...)
	b = appendTotals(b, &a.Totals)
	b = append(b, `,"freshness":`...)
	b = jsonappend.List(b, a.Freshness, appendFreshness)
	return append(b, '}')
}

// appendSalesRow appends r's JSON encoding to b.
func appendSalesRow(b []byte, r *SalesRow) []byte {
	b = append(b, '{')
	if r.SiteID != "" {
		b = append(b, `"siteId":`...)
		b = jsonappend.String(b, r.SiteID)
		b = append(b, ',')
	}
	b = append(b, `"key":`...)
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

// appendTotals appends t's JSON encoding to b.
func appendTotals(b []byte, t *Totals) []byte {
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

// AppendJSON appends l's JSON encoding to b.
func (l FreshnessList) AppendJSON(b []byte) []byte {
	b = append(b, `{"sites":`...)
	b = jsonappend.List(b, l.Sites, appendFreshness)
	return append(b, '}')
}

// appendFreshness appends f's JSON encoding to b.
func appendFreshness(b []byte, f *Freshness) []byte {
	b = append(b, `{"siteId":`...)
	b = jsonappend.String(b, f.SiteID)
	b = append(b, `,"known":`...)
	b = jsonappend.Bool(b, f.Known)
	if f.Timezone != "" {
		b = append(b, `,"timezone":`...)
		b = jsonappend.String(b, f.Timezone)
	}
	b = append(b, `,"lastEventTime":`...)
	b = jsonappend.TimeOrNull(b, f.LastEventTime)
	b = append(b, `,"watermark":`...)
	b = jsonappend.Uint(b, f.Watermark)
	b = append(b, `,"lastSeq":`...)
	b = jsonappend.Uint(b, f.LastSeq)
	b = append(b, `,"backlog":`...)
	b = jsonappend.Uint(b, f.Backlog)
	b = append(b, `,"lastContact":`...)
	b = jsonappend.TimeOrNull(b, f.LastContact)
	b = append(b, `,"secondsSinceContact":`...)
	if f.SecondsSinceContact == nil {
		b = append(b, "null"...)
	} else {
		b = jsonappend.Int(b, *f.SecondsSinceContact)
	}
	b = append(b, `,"connected":`...)
	b = jsonappend.Bool(b, f.Connected)
	b = append(b, `,"since":`...)
	b = jsonappend.TimeOrNull(b, f.Since)
	b = append(b, `,"stale":`...)
	b = jsonappend.Bool(b, f.Stale)
	if f.BinaryVersion != "" {
		b = append(b, `,"binaryVersion":`...)
		b = jsonappend.String(b, f.BinaryVersion)
	}
	if f.EnvelopeVersion != 0 {
		b = append(b, `,"envelopeVersion":`...)
		b = jsonappend.Int(b, int64(f.EnvelopeVersion))
	}
	return append(b, '}')
}

var (
	_ jsonappend.Appender = FaultList{}
	_ jsonappend.Appender = AlertList{}
)

// AppendJSON appends l's JSON encoding to b.
func (l FaultList) AppendJSON(b []byte) []byte {
	b = append(b, `{"faults":`...)
	b = jsonappend.List(b, l.Faults, appendFault)
	return append(b, '}')
}

// appendFault appends f's JSON encoding to b.
func appendFault(b []byte, f *Fault) []byte {
	b = append(b, `{"siteId":`...)
	b = jsonappend.String(b, f.SiteID)
	b = append(b, `,"faultId":`...)
	b = jsonappend.Int(b, f.FaultID)
	b = append(b, `,"machineId":`...)
	b = jsonappend.String(b, f.MachineID)
	if f.City != "" {
		b = append(b, `,"city":`...)
		b = jsonappend.String(b, f.City)
	}
	b = append(b, `,"faultType":`...)
	b = jsonappend.String(b, f.FaultType)
	b = append(b, `,"description":`...)
	b = jsonappend.String(b, f.Description)
	b = append(b, `,"status":`...)
	b = jsonappend.String(b, f.Status)
	b = append(b, `,"reportedAt":`...)
	b = jsonappend.Time(b, f.ReportedAt)
	if f.ResolvedAt != nil {
		b = append(b, `,"resolvedAt":`...)
		b = jsonappend.Time(b, *f.ResolvedAt)
	}
	if f.UpdatedBy != "" {
		b = append(b, `,"updatedBy":`...)
		b = jsonappend.String(b, f.UpdatedBy)
	}
	b = append(b, `,"updatedAt":`...)
	b = jsonappend.Time(b, f.UpdatedAt)
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
	b = append(b, `{"siteId":`...)
	b = jsonappend.String(b, a.SiteID)
	b = append(b, `,"alertId":`...)
	b = jsonappend.Int(b, a.AlertID)
	b = append(b, `,"machineId":`...)
	b = jsonappend.String(b, a.MachineID)
	if a.City != "" {
		b = append(b, `,"city":`...)
		b = jsonappend.String(b, a.City)
	}
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
	b = append(b, `,"openedAt":`...)
	b = jsonappend.Time(b, a.OpenedAt)
	if a.ClosedAt != nil {
		b = append(b, `,"closedAt":`...)
		b = jsonappend.Time(b, *a.ClosedAt)
	}
	b = append(b, `,"updatedAt":`...)
	b = jsonappend.Time(b, a.UpdatedAt)
	return append(b, '}')
}

var _ jsonappend.Appender = Report{}

// AppendJSON appends r's JSON encoding to b: the daily and monthly
// reports, a city per row with its sites (1,000 at fleet size), each with
// its top products, and every site's freshness.
func (r Report) AppendJSON(b []byte) []byte {
	b = append(b, `{"period":`...)
	b = jsonappend.String(b, r.Period)
	b = append(b, `,"from":`...)
	b = jsonappend.String(b, r.From)
	b = append(b, `,"to":`...)
	b = jsonappend.String(b, r.To)
	b = append(b, `,"cities":`...)
	b = jsonappend.List(b, r.Cities, appendCityReport)
	b = append(b, `,"totals":{`...)
	b = appendFigures(b, &r.Totals)
	b = append(b, `},"freshness":`...)
	b = jsonappend.List(b, r.Freshness, appendFreshness)
	return append(b, '}')
}

// appendCityReport appends c's JSON encoding to b (its figures inline, as
// encoding/json writes an embedded struct's fields).
func appendCityReport(b []byte, c *CityReport) []byte {
	b = append(b, `{"city":`...)
	b = jsonappend.String(b, c.City)
	b = append(b, ',')
	b = appendFigures(b, &c.ReportFigures)
	b = append(b, `,"sites":`...)
	b = jsonappend.List(b, c.Sites, appendSiteReport)
	return append(b, '}')
}

func appendSiteReport(b []byte, s *SiteReport) []byte {
	b = append(b, `{"siteId":`...)
	b = jsonappend.String(b, s.SiteID)
	b = append(b, ',')
	b = appendFigures(b, &s.ReportFigures)
	return append(b, '}')
}

// appendFigures appends f's fields, without braces.
func appendFigures(b []byte, f *ReportFigures) []byte {
	b = append(b, `"transactions":`...)
	b = jsonappend.Int(b, f.Transactions)
	b = append(b, `,"quantity":`...)
	b = jsonappend.Int(b, f.Quantity)
	b = append(b, `,"revenue":`...)
	b = f.Revenue.AppendJSON(b)
	b = append(b, `,"topProducts":`...)
	b = jsonappend.List(b, f.TopProducts, appendProductTotal)
	b = append(b, `,"openFaults":`...)
	b = jsonappend.Int(b, int64(f.OpenFaults))
	b = append(b, `,"openAlerts":`...)
	b = jsonappend.Int(b, int64(f.OpenAlerts))
	return b
}

func appendProductTotal(b []byte, p *ProductTotal) []byte {
	b = append(b, `{"productId":`...)
	b = jsonappend.String(b, p.ProductID)
	b = append(b, `,"transactions":`...)
	b = jsonappend.Int(b, p.Transactions)
	b = append(b, `,"quantity":`...)
	b = jsonappend.Int(b, p.Quantity)
	b = append(b, `,"revenue":`...)
	b = p.Revenue.AppendJSON(b)
	return append(b, '}')
}

var (
	_ jsonappend.Appender = ReconciliationReport{}
	_ jsonappend.Appender = CashReport{}
)

// AppendJSON appends r's JSON encoding to b: the DEX reconciliation report
// (a row per site of the fleet, and every site's freshness).
func (r ReconciliationReport) AppendJSON(b []byte) []byte {
	b = appendReportHead(b, r.GroupBy, r.From, r.To)
	b = jsonappend.List(b, r.Rows, appendReconciliationRow)
	b = append(b, `,"totals":`...)
	b = appendReconciliationRow(b, &r.Totals)
	b = append(b, `,"sites":`...)
	b = jsonappend.List(b, r.Sites, appendFreshness)
	return append(b, '}')
}

// appendReportHead appends a DEX or cash report's fields before its rows,
// up to and with the rows' key.
func appendReportHead(b []byte, groupBy, from, to string) []byte {
	b = append(b, `{"groupBy":`...)
	b = jsonappend.String(b, groupBy)
	if from != "" {
		b = append(b, `,"from":`...)
		b = jsonappend.String(b, from)
	}
	if to != "" {
		b = append(b, `,"to":`...)
		b = jsonappend.String(b, to)
	}
	return append(b, `,"rows":`...)
}

// appendRowHead appends a DEX or cash row's key, site and machine.
func appendRowHead(b []byte, key, site, machine string) []byte {
	b = append(b, `{"key":`...)
	b = jsonappend.String(b, key)
	if site != "" {
		b = append(b, `,"siteId":`...)
		b = jsonappend.String(b, site)
	}
	if machine != "" {
		b = append(b, `,"machineId":`...)
		b = jsonappend.String(b, machine)
	}
	return b
}

func appendReconciliationRow(b []byte, r *ReconciliationRow) []byte {
	b = appendRowHead(b, r.Key, r.SiteID, r.MachineID)
	b = append(b, `,"reconciliations":`...)
	b = jsonappend.Int(b, r.Reconciliations)
	b = append(b, `,"machineCount":`...)
	b = jsonappend.Int(b, r.MachineCount)
	b = append(b, `,"machineValue":`...)
	b = r.MachineValue.AppendJSON(b)
	b = append(b, `,"ledgerCount":`...)
	b = jsonappend.Int(b, r.LedgerCount)
	b = append(b, `,"ledgerValue":`...)
	b = r.LedgerValue.AppendJSON(b)
	b = append(b, `,"unreportedCount":`...)
	b = jsonappend.Int(b, r.UnreportedCount)
	b = append(b, `,"unreportedValue":`...)
	b = r.UnreportedValue.AppendJSON(b)
	b = append(b, `,"missingCount":`...)
	b = jsonappend.Int(b, r.MissingCount)
	b = append(b, `,"missingValue":`...)
	b = r.MissingValue.AppendJSON(b)
	b = append(b, `,"priceMismatches":`...)
	b = jsonappend.Int(b, r.PriceMismatches)
	b = append(b, `,"testVends":`...)
	b = jsonappend.Int(b, r.TestVends)
	b = append(b, `,"freeVends":`...)
	b = jsonappend.Int(b, r.FreeVends)
	b = append(b, `,"alerts":`...)
	b = jsonappend.Int(b, r.Alerts)
	if r.LastReadAt != nil {
		b = append(b, `,"lastReadAt":`...)
		b = jsonappend.Time(b, *r.LastReadAt)
	}
	return append(b, '}')
}

// AppendJSON appends r's JSON encoding to b.
func (r CashReport) AppendJSON(b []byte) []byte {
	b = appendReportHead(b, r.GroupBy, r.From, r.To)
	b = jsonappend.List(b, r.Rows, appendCashRow)
	b = append(b, `,"totals":`...)
	b = appendCashRow(b, &r.Totals)
	b = append(b, `,"sites":`...)
	b = jsonappend.List(b, r.Sites, appendFreshness)
	return append(b, '}')
}

func appendCashRow(b []byte, r *CashRow) []byte {
	b = appendRowHead(b, r.Key, r.SiteID, r.MachineID)
	b = append(b, `,"collections":`...)
	b = jsonappend.Int(b, r.Collections)
	b = append(b, `,"counted":`...)
	b = r.Counted.AppendJSON(b)
	b = append(b, `,"expectedLedger":`...)
	b = r.ExpectedLedger.AppendJSON(b)
	b = append(b, `,"overShortLedger":`...)
	b = r.OverShortLedger.AppendJSON(b)
	b = append(b, `,"expectedDex":`...)
	b = r.ExpectedDEX.AppendJSON(b)
	b = append(b, `,"overShortDex":`...)
	b = r.OverShortDEX.AppendJSON(b)
	b = append(b, `,"dexCollections":`...)
	b = jsonappend.Int(b, r.DEXCollections)
	if r.LastCollectedAt != nil {
		b = append(b, `,"lastCollectedAt":`...)
		b = jsonappend.Time(b, *r.LastCollectedAt)
	}
	return append(b, '}')
}
