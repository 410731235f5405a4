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
	"strings"
	"time"
)

// Version is the envelope schema version written by this binary. Central
// accepts every version up to its own and refuses newer ones.
//
//   - 1: a batch is one JSON object (Batch).
//   - 2: a batch is a header line and each event's stored JSON on its own
//     line (Frame); events are unchanged.
const Version = 2

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
	if b.V > Version {
		return fmt.Errorf("batch version %d is newer than this binary (%d)", b.V, Version)
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
