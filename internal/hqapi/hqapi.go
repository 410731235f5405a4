// Package hqapi holds the wire types of central's HQ HTTP API: the JSON
// bodies its clients send and the answers it gives. Central's HTTP layer
// (central/api) maps its read model, registry and route rows to these
// answers, and the client (internal/client) decodes them, so the two sides
// share one definition.
package hqapi

import (
	"fmt"
	"strings"
	"time"

	"github.com/vendsync/vendsync/sync/wire"
)

// Freshness is how current one site's data is at the answering node, so HQ
// can tell "no sales" from "not synced yet".
type Freshness struct {
	SiteID string `json:"siteId"`
	// Known is false for a site this node has never received data from.
	Known    bool   `json:"known"`
	Timezone string `json:"timezone,omitempty"`
	// LastEventTime is the newest event time received from the site.
	LastEventTime *time.Time `json:"lastEventTime"`
	// Watermark is the highest sequence with no gap below it: every event of
	// the site up to it is in the answer. LastSeq is the highest received.
	Watermark uint64 `json:"watermark"`
	LastSeq   uint64 `json:"lastSeq"`
	// Backlog is LastSeq - Watermark: events received above a gap, waiting
	// for the site to resend what is missing.
	Backlog uint64 `json:"backlog"`
	// LastContact is when this node last received a batch from the site.
	LastContact         *time.Time `json:"lastContact"`
	SecondsSinceContact *int64     `json:"secondsSinceContact"`
	// Connected says whether the site's heartbeats reach this node now, and
	// Since since when it has been connected (or, when not, since its last
	// heartbeat). Since is null when no heartbeat was ever heard from the
	// site (an edge too old to send them): then only LastContact tells.
	Connected bool       `json:"connected"`
	Since     *time.Time `json:"since"`
	// Stale is true when the site was never heard from, or is not connected
	// and was last heard from longer ago than central's --stale-after. A
	// connected idle site is not stale.
	Stale bool `json:"stale"`
	// BinaryVersion and EnvelopeVersion are what the site last reported in
	// its heartbeat (absent: nothing reported yet, or an edge too old to).
	BinaryVersion   string `json:"binaryVersion,omitempty"`
	EnvelopeVersion int    `json:"envelopeVersion,omitempty"`
}

// FreshnessList is the answer of GET /sites.
type FreshnessList struct {
	Sites []Freshness `json:"sites"`
}

// SalesRow is one key's totals in one bucket.
type SalesRow struct {
	// SiteID is the machine's site in rows grouped by machine: a machine is
	// identified by its site and its id.
	SiteID string `json:"siteId,omitempty"`
	Key    string `json:"key"`
	// Bucket is the bucket's start as the sites' wall-clock time.
	Bucket       string     `json:"bucket"`
	Transactions int64      `json:"transactions"`
	Quantity     int64      `json:"quantity"`
	Revenue      wire.Money `json:"revenue"`
	// Discount is what promotions took off; GrossRevenue = Revenue +
	// Discount (Revenue stays what was charged).
	Discount     wire.Money `json:"discount"`
	GrossRevenue wire.Money `json:"grossRevenue"`
}

// Totals sums an answer's rows.
type Totals struct {
	Transactions int64      `json:"transactions"`
	Quantity     int64      `json:"quantity"`
	Revenue      wire.Money `json:"revenue"`
	Discount     wire.Money `json:"discount"`
	GrossRevenue wire.Money `json:"grossRevenue"`
}

// SalesAnswer is the body of GET /aggregations/sales.
type SalesAnswer struct {
	GroupBy   string      `json:"groupBy"`
	Window    string      `json:"window"`
	From      string      `json:"from"`
	To        string      `json:"to"`
	City      string      `json:"city,omitempty"`
	SiteID    string      `json:"siteId,omitempty"`
	Rows      []SalesRow  `json:"rows"`
	Totals    Totals      `json:"totals"`
	Freshness []Freshness `json:"freshness"`
}

// SalesQuery selects GET /aggregations/sales (empty fields: the defaults).
type SalesQuery struct {
	GroupBy, Window, From, To, City, SiteID string
}

// ProductTotal is one product's totals over a range.
type ProductTotal struct {
	ProductID    string     `json:"productId"`
	Transactions int64      `json:"transactions"`
	Quantity     int64      `json:"quantity"`
	Revenue      wire.Money `json:"revenue"`
}

// TopAnswer is the body of GET /aggregations/products/top.
type TopAnswer struct {
	By        string         `json:"by"`
	N         int            `json:"n"`
	From      string         `json:"from"`
	To        string         `json:"to"`
	City      string         `json:"city,omitempty"`
	SiteID    string         `json:"siteId,omitempty"`
	Products  []ProductTotal `json:"products"`
	Freshness []Freshness    `json:"freshness"`
}

// TopQuery selects GET /aggregations/products/top (zero fields: the defaults).
type TopQuery struct {
	N                          int
	By, From, To, City, SiteID string
}

// Fault is a fault's latest state as synced from its site.
type Fault struct {
	SiteID      string     `json:"siteId"`
	FaultID     int64      `json:"faultId"`
	MachineID   string     `json:"machineId"`
	City        string     `json:"city,omitempty"`
	FaultType   string     `json:"faultType"`
	Description string     `json:"description"`
	Status      string     `json:"status"`
	ReportedAt  time.Time  `json:"reportedAt"`
	ResolvedAt  *time.Time `json:"resolvedAt,omitempty"`
	UpdatedBy   string     `json:"updatedBy,omitempty"`
	UpdatedAt   time.Time  `json:"updatedAt"`
}

// FaultList is the answer of GET /faults.
type FaultList struct {
	Faults []Fault `json:"faults"`
}

// FaultQuery selects GET /faults (zero fields: any).
type FaultQuery struct {
	Status, City, SiteID, MachineID string
	Limit                           int
}

// Alert is an alert's latest state as synced from its site.
type Alert struct {
	SiteID    string     `json:"siteId"`
	AlertID   int64      `json:"alertId"`
	MachineID string     `json:"machineId"`
	City      string     `json:"city,omitempty"`
	ProductID string     `json:"productId,omitempty"`
	Type      string     `json:"type"`
	Status    string     `json:"status"`
	Detail    string     `json:"detail,omitempty"`
	OpenedAt  time.Time  `json:"openedAt"`
	ClosedAt  *time.Time `json:"closedAt,omitempty"`
	UpdatedAt time.Time  `json:"updatedAt"`
}

// AlertList is the answer of GET /alerts.
type AlertList struct {
	Alerts []Alert `json:"alerts"`
}

// AlertQuery selects GET /alerts (zero fields: any).
type AlertQuery struct {
	Status, Type, City, SiteID, MachineID string
	Limit                                 int
}

// Location is where a machine stands.
type Location struct {
	City     string   `json:"city"`
	Building string   `json:"building"`
	Lat      *float64 `json:"lat,omitempty"`
	Lng      *float64 `json:"lng,omitempty"`
}

// MachineProduct is a product on a machine and its last reported count.
type MachineProduct struct {
	ProductID     string     `json:"productId"`
	Name          string     `json:"name"`
	Price         wire.Money `json:"price"`
	Quantity      int64      `json:"quantity"`
	ExpiryDate    string     `json:"expiryDate,omitempty"`
	LowStockLimit int64      `json:"lowStockLimit"`
	ParLevel      *int64     `json:"parLevel,omitempty"`
	CasePack      int64      `json:"casePack,omitempty"`
	UpdatedAt     time.Time  `json:"updatedAt"`
}

// Telemetry is a machine's latest reported telemetry.
type Telemetry struct {
	Temperature *float64  `json:"temperature,omitempty"`
	PowerStatus string    `json:"powerStatus,omitempty"`
	DoorStatus  string    `json:"doorStatus,omitempty"`
	At          time.Time `json:"at"`
}

// Machine is the body of GET /machines/{id}: the machine as last synced
// from its site, and how fresh that site's data is.
type Machine struct {
	MachineID      string           `json:"machineId"`
	SiteID         string           `json:"siteId"`
	Location       Location         `json:"location"`
	PaymentMethods []string         `json:"paymentMethods"`
	Status         string           `json:"status"`
	TemperatureMax *float64         `json:"temperatureMax,omitempty"`
	UpdatedAt      time.Time        `json:"updatedAt"`
	Products       []MachineProduct `json:"products"`
	Telemetry      *Telemetry       `json:"telemetry,omitempty"`
	Freshness      Freshness        `json:"freshness"`
}

// ReportFigures are one scope's figures in a report. OpenFaults and
// OpenAlerts are what is open now, not during the period.
type ReportFigures struct {
	Transactions int64          `json:"transactions"`
	Quantity     int64          `json:"quantity"`
	Revenue      wire.Money     `json:"revenue"`
	TopProducts  []ProductTotal `json:"topProducts"`
	OpenFaults   int            `json:"openFaults"`
	OpenAlerts   int            `json:"openAlerts"`
}

// SiteReport is one site's figures in a report.
type SiteReport struct {
	SiteID string `json:"siteId"`
	ReportFigures
}

// CityReport is one city's figures and its sites'.
type CityReport struct {
	City string `json:"city"`
	ReportFigures
	Sites []SiteReport `json:"sites"`
}

// Report is the body of GET /reports/daily and /reports/monthly: per city
// and site, over the period in every site's local wall clock.
type Report struct {
	Period    string        `json:"period"`
	From      string        `json:"from"`
	To        string        `json:"to"`
	Cities    []CityReport  `json:"cities"`
	Totals    ReportFigures `json:"totals"`
	Freshness []Freshness   `json:"freshness"`
}

// ExportRequest is the body of POST /reports/export.
type ExportRequest struct {
	Kind    string `json:"kind"`
	GroupBy string `json:"groupBy,omitempty"`
	Window  string `json:"window,omitempty"`
	From    string `json:"from"`
	To      string `json:"to"`
	City    string `json:"city,omitempty"`
	SiteID  string `json:"siteId,omitempty"`
	Format  string `json:"format,omitempty"`
}

// Site is a site as central's registry holds it.
type Site struct {
	ID        string     `json:"siteId"`
	Name      string     `json:"name"`
	City      string     `json:"city"`
	Timezone  string     `json:"timezone"`
	Lat       *float64   `json:"lat,omitempty"`
	Lng       *float64   `json:"lng,omitempty"`
	PublicKey string     `json:"publicKey"`
	CreatedAt time.Time  `json:"createdAt"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
}

// SiteList is the answer of GET /sites/registry.
type SiteList struct {
	Sites []Site `json:"sites"`
}

// NewSite is the body of POST /sites: register a site, or with Rotate give
// a registered one a new key (what it leaves out stays as it was).
type NewSite struct {
	SiteID   string   `json:"siteId"`
	Name     string   `json:"name,omitempty"`
	City     string   `json:"city,omitempty"`
	Timezone string   `json:"timezone,omitempty"`
	Lat      *float64 `json:"lat,omitempty"`
	Lng      *float64 `json:"lng,omitempty"`
	Rotate   bool     `json:"rotate,omitempty"`
}

// RegisteredSite is the answer of POST /sites: the registered site and,
// this once, the NKEY seed its leaf connection authenticates with.
type RegisteredSite struct {
	Site
	Seed string `json:"seed"`
}

// Reason codes of a route candidate, in the order a candidate lists them.
// Most are the alert types that cause them.
const (
	ReasonOutOfStock     = "OUT_OF_STOCK"
	ReasonLowStock       = "LOW_STOCK"
	ReasonExpired        = "EXPIRED"
	ReasonExpiringSoon   = "EXPIRING_SOON"
	ReasonTemperature    = "TEMPERATURE_HIGH"
	ReasonOffline        = "MACHINE_OFFLINE"
	ReasonPowerOff       = "POWER_OFF"
	ReasonDoorOpen       = "DOOR_OPEN"
	ReasonMismatch       = "INVENTORY_MISMATCH"
	ReasonSiteOffline    = "SITE_OFFLINE"
	ReasonDaysSinceVisit = "DAYS_SINCE_VISIT"
)

// Reason is one cause of a route candidate's priority.
type Reason struct {
	Code   string `json:"code"`
	Count  int    `json:"count"`
	Points int    `json:"points"`
}

// Slot is one product on a machine of a route candidate, as central last
// saw it.
type Slot struct {
	ProductID     string   `json:"productId"`
	Name          string   `json:"name"`
	Quantity      int64    `json:"quantity"`
	ParLevel      int64    `json:"parLevel"`
	LowStockLimit int64    `json:"lowStockLimit"`
	CasePack      int64    `json:"casePack,omitempty"`
	ExpiryDate    string   `json:"expiryDate,omitempty"`
	Alerts        []string `json:"alerts,omitempty"`
	// Lots are the slot's lots holding units, first expiry first (none
	// when central has not heard of the site's lots).
	Lots []SlotLot `json:"lots,omitempty"`
	// DemandPerDay is the slot's forecast sales per day, when central has
	// a forecast for it; FillTarget is then the level to fill to (demand
	// until the next visit plus safety, capped at par) and FillRule
	// FillDemand. Without a forecast both are empty and the slot fills to par.
	DemandPerDay *float64 `json:"demandPerDay,omitempty"`
	FillTarget   int64    `json:"fillTarget,omitempty"`
	FillRule     string   `json:"fillRule,omitempty"`
	// Capacity is the most units the slot's coil holds, 0 when not known;
	// no fill plans beyond it.
	Capacity int64 `json:"capacity,omitempty"`
}

// Need is how many units bring the slot up to its par level (never beyond
// its capacity when known).
func (s Slot) Need() int64 { return max(0, s.capped(s.ParLevel)-s.Quantity) }

// capped limits a level to the slot's capacity when known.
func (s Slot) capped(level int64) int64 {
	if s.Capacity > 0 {
		return min(level, s.Capacity)
	}
	return level
}

// Fill rules: what a slot is filled to.
const (
	// FillPar fills to the par level.
	FillPar = "PAR"
	// FillDemand fills for the forecast demand until the next visit plus
	// safety stock, capped at the par level.
	FillDemand = "DEMAND"
)

// FillLevel is the level a visit fills the slot to and by which rule: the
// fill target for demand when central sent one, otherwise the par level;
// never beyond the slot's capacity when known.
func (s Slot) FillLevel() (int64, string) {
	if s.FillRule == FillDemand {
		return s.capped(s.FillTarget), FillDemand
	}
	return s.capped(s.ParLevel), FillPar
}

// FillNeed is how many units bring the slot's count up to its FillLevel,
// and by which rule.
func (s Slot) FillNeed() (int64, string) {
	level, rule := s.FillLevel()
	return max(0, level-s.Quantity), rule
}

// RouteMachine is one machine of a route candidate.
type RouteMachine struct {
	MachineID string   `json:"machineId"`
	City      string   `json:"city"`
	Building  string   `json:"building"`
	Status    string   `json:"status"`
	Alerts    []string `json:"alerts,omitempty"` // machine-level open alerts
	Slots     []Slot   `json:"slots"`
}

// Candidate is one site on a driver's route with its priority and reasons.
type Candidate struct {
	Site        string    `json:"site"`
	City        string    `json:"city"`
	Score       int       `json:"score"`
	Reasons     []Reason  `json:"reasons"`
	LastContact time.Time `json:"lastContact"`
	// Connected and Since are the site's liveness (see Freshness): a site
	// not connected is flagged SITE_OFFLINE, its figures may be out of date.
	Connected bool           `json:"connected"`
	Since     *time.Time     `json:"since,omitempty"`
	LastVisit *time.Time     `json:"lastVisit,omitempty"`
	Machines  []RouteMachine `json:"machines"`
}

// Summary is the candidate's reasons in words, e.g. "2 out of stock, 1 low
// stock, 3 days since visit".
func (c Candidate) Summary() string {
	var parts []string
	for _, r := range c.Reasons {
		switch r.Code {
		case ReasonDaysSinceVisit:
			parts = append(parts, fmt.Sprintf("%d days since visit", r.Count))
		case ReasonSiteOffline:
			parts = append(parts, "site offline")
		default:
			parts = append(parts, fmt.Sprintf("%d %s", r.Count, strings.ToLower(strings.ReplaceAll(r.Code, "_", " "))))
		}
	}
	return strings.Join(parts, ", ")
}

// CandidateList is the answer of GET /routes/candidates, most urgent first.
type CandidateList struct {
	Candidates []Candidate `json:"candidates"`
}
