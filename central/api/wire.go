package api

import (
	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// The HQ API answers with the wire types of internal/hqapi, which its
// clients decode; the names below are those types, so the handlers read as
// before.
type (
	// Freshness is hqapi.Freshness.
	Freshness = hqapi.Freshness
	// SalesRow is hqapi.SalesRow.
	SalesRow = hqapi.SalesRow
	// Totals is hqapi.Totals.
	Totals = hqapi.Totals
	// SalesAnswer is hqapi.SalesAnswer, the body of GET /aggregations/sales.
	SalesAnswer = hqapi.SalesAnswer
	// ProductTotal is hqapi.ProductTotal.
	ProductTotal = hqapi.ProductTotal
	// TopAnswer is hqapi.TopAnswer, the body of GET /aggregations/products/top.
	TopAnswer = hqapi.TopAnswer
	// Fault is hqapi.Fault.
	Fault = hqapi.Fault
	// Alert is hqapi.Alert.
	Alert = hqapi.Alert
	// FaultList is hqapi.FaultList, the body of GET /faults.
	FaultList = hqapi.FaultList
	// AlertList is hqapi.AlertList, the body of GET /alerts.
	AlertList = hqapi.AlertList
	// Location is hqapi.Location.
	Location = hqapi.Location
	// MachineProduct is hqapi.MachineProduct.
	MachineProduct = hqapi.MachineProduct
	// Telemetry is hqapi.Telemetry.
	Telemetry = hqapi.Telemetry
	// Machine is hqapi.Machine, the body of GET /machines/{id}.
	Machine = hqapi.Machine
	// ReportFigures is hqapi.ReportFigures.
	ReportFigures = hqapi.ReportFigures
	// SiteReport is hqapi.SiteReport.
	SiteReport = hqapi.SiteReport
	// CityReport is hqapi.CityReport.
	CityReport = hqapi.CityReport
	// Report is hqapi.Report, the body of GET /reports/daily and /reports/monthly.
	Report = hqapi.Report
	// ExportRequest is hqapi.ExportRequest, the body of POST /reports/export.
	ExportRequest = hqapi.ExportRequest
)

// siteOut is a registered site as the API shows it.
func siteOut(s sitereg.Site) hqapi.Site {
	return hqapi.Site{ID: s.ID, Name: s.Name, City: s.City, Timezone: s.Timezone, Lat: s.Lat, Lng: s.Lng,
		PublicKey: s.PublicKey, CreatedAt: s.CreatedAt, RevokedAt: s.RevokedAt}
}
