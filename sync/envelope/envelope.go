// Package envelope is the wire contract between a site and central: the event
// envelope written to the edge outbox, the batch that carries a contiguous run
// of them to central, and the subjects and stream names both sides use.
//
// The edge and central both import this package; it imports neither.
package envelope

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Version is the envelope schema version written by this binary: the v of
// every event, batch header and heartbeat it sends. It is 2 unless the build
// overrides it (see buildVersion).
//
//   - 1: a batch is one JSON object (Batch); heartbeats are a bare timestamp.
//   - 2: a batch is a header line and each event's stored JSON on its own
//     line (Frame); events are unchanged; heartbeats are a Heartbeat.
//
// The rule during a roll-out (see Accepts): a reader accepts every version
// from MinVersion up to its own Version, which always includes the previous
// one, and refuses newer ones without dropping them. A site learns central's
// range from every watermark (Watermark.MaxVersion) and sends nothing central
// cannot read: it keeps its outbox and waits until central is upgraded.
var Version = parseVersion(buildVersion)

// buildVersion is Version as text, so that a build can bump it for a test of a
// mixed-version fleet:
//
//	go build -ldflags "-X github.com/vendsync/vendsync/sync/envelope.buildVersion=3"
var buildVersion = "2"

// MinVersion is the oldest version this binary still reads: batches of
// version 1 (one JSON object) may still sit in a site's outbox or in
// central's stream.
const MinVersion = 1

// BaseVersion is the newest version every central reads, including centrals
// from before version negotiation (whose watermarks carry no MaxVersion).
const BaseVersion = 2

// parseVersion parses the build-time version; a build with a bad value must
// not start at all.
func parseVersion(s string) int {
	v, err := strconv.Atoi(s)
	if err != nil || v < BaseVersion {
		panic(fmt.Sprintf("envelope: build version %q must be an integer >= %d", s, BaseVersion))
	}
	return v
}

// ErrTooNew is wrapped by the errors for a message whose version is newer
// than this binary reads. Such a message is not malformed: a newer binary
// reads it, so it must be kept (redelivered later), never dropped.
var ErrTooNew = errors.New("envelope version newer than this binary")

// Accepts reports whether this binary reads messages of version v: from
// MinVersion up to Version, which includes the previous version.
func Accepts(v int) bool { return v >= MinVersion && v <= Version }

// CheckVersion returns nil when this binary reads version v, or an error
// wrapping ErrTooNew (v above Version) naming both versions.
func CheckVersion(what string, v int) error {
	switch {
	case v > Version:
		return fmt.Errorf("%w: %s version %d, this binary reads %d..%d", ErrTooNew, what, v, MinVersion, Version)
	case v < MinVersion:
		return fmt.Errorf("%s version %d is older than this binary reads (%d..%d)", what, v, MinVersion, Version)
	}
	return nil
}

// Kind names what an event is about.
type Kind string

// The event kinds a site sends up.
const (
	KindSale      Kind = "sale"      // data: Sale
	KindMachine   Kind = "machine"   // data: Machine (registration or change)
	KindInventory Kind = "inventory" // data: Inventory (product added to / changed on a machine)
	KindStock     Kind = "stock"     // data: StockMovement (restock, removal, count correction)
	KindFault     Kind = "fault"     // data: Fault (reported or status changed)
	KindAlert     Kind = "alert"     // data: Alert (opened or closed)
	KindTelemetry Kind = "telemetry" // data: Telemetry (state change or periodic summary)
)

// Event is one fact in a site's outbox. Seq is gap-free per site.
type Event struct {
	V    int             `json:"v"`
	Site string          `json:"site"`
	Seq  uint64          `json:"seq"`
	Kind Kind            `json:"kind"`
	Time time.Time       `json:"time"` // when it happened (event time)
	Data json.RawMessage `json:"data"`
}

// Sale is the data of a KindSale event. City and Location are denormalized
// from the machine at the time of the sale so that central can aggregate a
// sale without first having seen the machine's registration.
type Sale struct {
	TransactionID string `json:"transactionId"`
	MachineID     string `json:"machineId"`
	ProductID     string `json:"productId"`
	Quantity      int64  `json:"quantity"`
	AmountCents   int64  `json:"amountCents"`
	PaymentMethod string `json:"paymentMethod"`
	City          string `json:"city"`
	Location      string `json:"location"`
	// StockAfter is the site's count of the product in the machine after
	// the sale (the site owns stock counts; central mirrors them).
	StockAfter *int64 `json:"stockAfter,omitempty"`
	// ListCents and DiscountCents are set when promotions discounted the
	// sale (AmountCents = what was charged, ListCents - DiscountCents within
	// the site's tolerance); Promotions says which gave how much. BasketID is
	// the posted transaction id of a basket sale, whose lines travel as
	// sales "<BasketID>#<n>".
	ListCents     int64           `json:"listCents,omitempty"`
	DiscountCents int64           `json:"discountCents,omitempty"`
	Promotions    []SalePromotion `json:"promotions,omitempty"`
	BasketID      string          `json:"basketId,omitempty"`
	// Lots are the units the sale took from each lot, first expiry first
	// out (none for a site before lots, or stock the site did not know of).
	Lots []LotUse `json:"lots,omitempty"`
	// CogsCents is the cost of the goods sold: the sum of the lots' unit
	// costs; nil when a unit's cost is unknown.
	CogsCents *int64 `json:"cogsCents,omitempty"`
	// Flags are FlagSoldExpired and FlagSoldOnHold when they apply.
	Flags []string `json:"flags,omitempty"`
}

// SalePromotion is one promotion's discount on one sale (line).
type SalePromotion struct {
	PromotionID   string `json:"promotionId"`
	DiscountCents int64  `json:"discountCents"`
}

// Machine is the data of a KindMachine event: the machine's full state after
// a registration or change.
type Machine struct {
	MachineID      string   `json:"machineId"`
	City           string   `json:"city"`
	Building       string   `json:"building"`
	Lat            *float64 `json:"lat,omitempty"`
	Lng            *float64 `json:"lng,omitempty"`
	PaymentMethods []string `json:"paymentMethods"`
	Status         string   `json:"status"`
	TempMaxC       *float64 `json:"temperatureMax,omitempty"`
	Action         string   `json:"action"` // REGISTERED, UPDATED, DECOMMISSIONED
}

// Inventory is the data of a KindInventory event: a machine product's full
// state after it was added or changed.
type Inventory struct {
	MachineID     string `json:"machineId"`
	ProductID     string `json:"productId"`
	Name          string `json:"name"`
	PriceCents    int64  `json:"priceCents"`
	Quantity      int64  `json:"quantity"`
	ExpiryDate    string `json:"expiryDate,omitempty"`
	LowStockLimit int64  `json:"lowStockLimit"`
	ParLevel      *int64 `json:"parLevel,omitempty"`
	CasePack      int64  `json:"casePack,omitempty"`
	Action        string `json:"action"` // ADDED, UPDATED
	By            string `json:"by"`
	// Capacity is the most units the slot's coil holds, nil if not set.
	Capacity *int64 `json:"capacity,omitempty"`
}

// StockMovement is the data of a KindStock event.
type StockMovement struct {
	MovementID string `json:"movementId"`
	MachineID  string `json:"machineId"`
	ProductID  string `json:"productId"`
	Reason     string `json:"reason"` // RESTOCK, EXPIRED, DAMAGED, COUNT
	Delta      int64  `json:"delta"`
	After      int64  `json:"after"`
	By         string `json:"by"`
	// VanID names the driver's van the units of a RESTOCK came from;
	// central deducts them from the van once per event. "" for none.
	VanID string `json:"vanId,omitempty"`
}

// Fault is the data of a KindFault event.
type Fault struct {
	FaultID     int64      `json:"faultId"` // unique within the site
	MachineID   string     `json:"machineId"`
	FaultType   string     `json:"faultType"`
	Description string     `json:"description"`
	Status      string     `json:"status"`
	ReportedAt  time.Time  `json:"reportedAt"`
	ResolvedAt  *time.Time `json:"resolvedAt,omitempty"`
	By          string     `json:"by,omitempty"`
}

// Alert is the data of a KindAlert event.
type Alert struct {
	AlertID   int64      `json:"alertId"` // unique within the site
	MachineID string     `json:"machineId"`
	ProductID string     `json:"productId,omitempty"`
	Type      string     `json:"type"`
	Status    string     `json:"status"` // OPEN, CLOSED
	Detail    string     `json:"detail,omitempty"`
	OpenedAt  time.Time  `json:"openedAt"`
	ClosedAt  *time.Time `json:"closedAt,omitempty"`
}

// Telemetry is the data of a KindTelemetry event: a machine's state after a
// change of power or door status, or a periodic summary.
type Telemetry struct {
	MachineID   string   `json:"machineId"`
	Temperature *float64 `json:"temperature,omitempty"`
	PowerStatus string   `json:"powerStatus,omitempty"`
	DoorStatus  string   `json:"doorStatus,omitempty"`
	Reason      string   `json:"reason"` // CHANGE, SUMMARY
}

// Batch is a contiguous run of one site's events, First..Last inclusive,
// decoded. As one JSON object it is the version 1 framing of a batch
// message; Frame is the version 2 one. Its Nats-Msg-Id is MsgID().
type Batch struct {
	V      int     `json:"v"`
	Site   string  `json:"site"`
	TZ     string  `json:"tz"` // the site's IANA timezone: central buckets by it
	First  uint64  `json:"first"`
	Last   uint64  `json:"last"`
	Events []Event `json:"events"`
}

// MsgID is the batch's JetStream de-duplication id: <site>:<first>-<last>.
func (b *Batch) MsgID() string { return fmt.Sprintf("%s:%d-%d", b.Site, b.First, b.Last) }

// Validate checks that the batch is well formed: known version, one site,
// contiguous sequences First..Last.
func (b *Batch) Validate() error {
	if err := CheckVersion("batch", b.V); err != nil {
		return err
	}
	if err := ValidateSiteID(b.Site); err != nil {
		return err
	}
	if len(b.Events) == 0 || b.First == 0 || b.Last < b.First || uint64(len(b.Events)) != b.Last-b.First+1 {
		return fmt.Errorf("batch %s: %d events do not cover %d..%d", b.MsgID(), len(b.Events), b.First, b.Last)
	}
	for i, e := range b.Events {
		if e.Site != b.Site || e.Seq != b.First+uint64(i) {
			return fmt.Errorf("batch %s: event %d is %s/%d, want %s/%d", b.MsgID(), i, e.Site, e.Seq, b.Site, b.First+uint64(i))
		}
	}
	return nil
}

// Stream and subject names. Site-local subjects and central subjects never
// overlap (plain messages cross leaf connections).
const (
	// StreamIngest is central's ingest stream; it captures SubjectBatchAll.
	StreamIngest = "FLEET"
	// SubjectBatchAll matches every site's batches.
	SubjectBatchAll = "fleet.*.batch"
	// HubDomain is central's JetStream domain.
	HubDomain = "hub"
)

// SubjectBatch is the subject a site publishes its batches on.
func SubjectBatch(site string) string { return "fleet." + site + ".batch" }

// SubjectSiteAll is everything a site may publish: fleet.<site>.>.
func SubjectSiteAll(site string) string { return "fleet." + site + ".>" }

// ErrBadSiteID is wrapped by ValidateSiteID.
var ErrBadSiteID = errors.New("invalid site id")

// ValidateSiteID checks that id can be a subject token and a JetStream domain:
// 1-64 characters of [A-Za-z0-9_-], not the hub's domain.
func ValidateSiteID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("%w %q: must be 1 to 64 characters", ErrBadSiteID, id)
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("%w %q: only letters, digits, '-' and '_' are allowed", ErrBadSiteID, id)
		}
	}
	if strings.EqualFold(id, HubDomain) {
		return fmt.Errorf("%w %q: reserved for central", ErrBadSiteID, id)
	}
	return nil
}
