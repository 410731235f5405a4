package simulate

import (
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/internal/client"
)

// Config is everything Run needs. Start from DefaultConfig.
type Config struct {
	// EdgeURL is the base URL of the site's edge API, e.g. http://127.0.0.1:8080
	// (a bare host:port means http://).
	EdgeURL string
	// ClientID and ClientSecret are the client credentials used on
	// POST /auth/token; the client must be allowed to register machines and
	// post for all of them (an ADMIN client).
	ClientID     string
	ClientSecret string

	// Machines is how many machines to simulate, named MachinePrefix + 0001…
	Machines int
	// Products is how many catalog products each machine sells (1..12), the
	// most popular first.
	Products int
	// City and Building place every machine.
	City     string
	Building string
	// MachinePrefix starts every machine id.
	MachinePrefix string

	// SalesPerMinute is the fleet-wide mean sales rate where Seasonality is 1
	// (the weekday peak).
	SalesPerMinute float64
	// Seasonality shapes the rate over the local day and week.
	Seasonality Seasonality
	// Timezone is the site's local time, in which Seasonality is evaluated.
	// nil asks the edge for its site's timezone (GET /aggregations/sales
	// reports it) and falls back to time.Local.
	Timezone *time.Location

	// TelemetryEvery is the period of each machine's telemetry; 0 turns
	// periodic telemetry off.
	TelemetryEvery time.Duration
	// FaultProbability is the chance that a customer's purchase attempt ends
	// in a fault report instead of a sale.
	FaultProbability float64
	// ReplayProbability is the chance, per purchase, of also resending an
	// already accepted sale to exercise idempotency.
	ReplayProbability float64
	// RestockDelay is how long after a product falls below its low-stock
	// limit the driver arrives to refill the machine.
	RestockDelay time.Duration
	// DEX keeps each machine's own DEX/UCS meters (every vend counts) and
	// has the driver read and upload them to the edge at setup, at every
	// restock visit and when the live run ends; the edge reconciles each
	// read with its sales. Backfilled history is not metered.
	DEX bool
	// DropProbability is the chance, per live sale, that the machine vends
	// and counts it but the sale never reaches the edge (a lost event), for
	// the DEX reconciliation to find. It needs DEX.
	DropProbability float64

	// Seed makes the traffic (machines, products, times, amounts) repeatable.
	Seed int64
	// RunID prefixes transaction ids; empty picks a random one, so that
	// re-running with the same Seed never collides with an earlier run.
	RunID string

	// Duration bounds the live traffic; 0 runs until ctx is done.
	Duration time.Duration
	// Backfill, when positive, first posts historical sales spread over the
	// past Backfill (same seasonality) through POST /events/batch.
	Backfill time.Duration
	// BackfillOnly stops after the backfill instead of going live.
	BackfillOnly bool
	// BatchSize is the number of sales per backfill batch.
	BatchSize int

	// Concurrency bounds the requests in flight (the worker pool size). Live,
	// each machine's events go through one worker, in order, as a real
	// machine would send them.
	Concurrency int
	// MaxAttempts bounds the tries of one request on transient errors
	// (connection failures, 5xx, 429); RetryBackoff is the first back-off,
	// doubled on each retry up to 5s.
	MaxAttempts  int
	RetryBackoff time.Duration

	// HTTPClient is used for every request; nil makes one with a 15s timeout.
	HTTPClient *http.Client
	// Logger receives progress and problems.
	Logger zerolog.Logger
}

// DefaultConfig returns a ten-machine Bangalore site at 6 sales a minute at
// the peak in the edge's timezone, telemetry every minute, 0.5% faults and
// 1% replays. The credentials still have to be set.
func DefaultConfig() Config {
	return Config{
		EdgeURL:           "http://127.0.0.1:8080",
		Machines:          10,
		Products:          len(Catalog()),
		City:              "Bangalore",
		Building:          "Tech Park A",
		MachinePrefix:     "VM_",
		SalesPerMinute:    6,
		Seasonality:       DefaultSeasonality(),
		TelemetryEvery:    time.Minute,
		FaultProbability:  0.005,
		ReplayProbability: 0.01,
		RestockDelay:      10 * time.Minute,
		Seed:              1,
		BatchSize:         500,
		Concurrency:       8,
		MaxAttempts:       6,
		RetryBackoff:      200 * time.Millisecond,
		Logger:            zerolog.Nop(),
	}
}

// FieldError is returned by Validate: Field is the Config field at fault.
type FieldError struct {
	Field  string
	Reason string
}

// Error names the field and what is wrong with it.
func (e *FieldError) Error() string { return "simulate config: " + e.Field + ": " + e.Reason }

// Validate checks every field and returns a *FieldError naming the first bad
// one.
func (c *Config) Validate() error {
	bad := func(field, format string, a ...any) error {
		return &FieldError{Field: field, Reason: fmt.Sprintf(format, a...)}
	}
	prob := func(p float64) bool { return p >= 0 && p <= 1 }
	_, err := client.BaseURL(c.EdgeURL)
	switch {
	case err != nil:
		return bad("EdgeURL", "%v", err)
	case c.ClientID == "":
		return bad("ClientID", "required")
	case c.ClientSecret == "":
		return bad("ClientSecret", "required")
	case c.Machines < 1 || c.Machines > 99999:
		return bad("Machines", "%d is not within 1..99999", c.Machines)
	case c.Products < 1 || c.Products > len(Catalog()):
		return bad("Products", "%d is not within 1..%d", c.Products, len(Catalog()))
	case c.City == "":
		return bad("City", "required")
	case !validID(c.MachinePrefix) || len(c.MachinePrefix) > 32:
		return bad("MachinePrefix", "%q: want 1-32 of A-Z a-z 0-9 _ -", c.MachinePrefix)
	case !(c.SalesPerMinute >= 0) || math.IsInf(c.SalesPerMinute, 0):
		return bad("SalesPerMinute", "%v: must be a non-negative number", c.SalesPerMinute)
	case c.Seasonality.validate() != "":
		return bad("Seasonality", "%s", c.Seasonality.validate())
	case c.TelemetryEvery < 0:
		return bad("TelemetryEvery", "%v is negative", c.TelemetryEvery)
	case c.TelemetryEvery > 0 && c.TelemetryEvery < time.Millisecond:
		return bad("TelemetryEvery", "%v is below 1ms", c.TelemetryEvery)
	case !prob(c.FaultProbability):
		return bad("FaultProbability", "%v is not within 0..1", c.FaultProbability)
	case !prob(c.ReplayProbability):
		return bad("ReplayProbability", "%v is not within 0..1", c.ReplayProbability)
	case !prob(c.DropProbability):
		return bad("DropProbability", "%v is not within 0..1", c.DropProbability)
	case c.DropProbability > 0 && !c.DEX:
		return bad("DropProbability", "set, but DEX is off: only the machine's DEX meters can tell a dropped sale")
	case c.RestockDelay < 0:
		return bad("RestockDelay", "%v is negative", c.RestockDelay)
	case c.RunID != "" && (!validID(c.RunID) || len(c.RunID) > 24):
		return bad("RunID", "%q: want 1-24 of A-Z a-z 0-9 _ -", c.RunID)
	case c.Duration < 0:
		return bad("Duration", "%v is negative", c.Duration)
	case c.Backfill < 0:
		return bad("Backfill", "%v is negative", c.Backfill)
	case c.BackfillOnly && c.Backfill == 0:
		return bad("BackfillOnly", "set, but Backfill is 0")
	case c.BatchSize < 1 || c.BatchSize > 10000:
		return bad("BatchSize", "%d is not within 1..10000", c.BatchSize)
	case c.Concurrency < 1 || c.Concurrency > 1024:
		return bad("Concurrency", "%d is not within 1..1024", c.Concurrency)
	case c.MaxAttempts < 1:
		return bad("MaxAttempts", "%d: must be at least 1", c.MaxAttempts)
	case c.RetryBackoff <= 0:
		return bad("RetryBackoff", "%v: must be positive", c.RetryBackoff)
	}
	return nil
}

func validID(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// machineID returns the id of machine i (0-based).
func (c *Config) machineID(i int) string { return fmt.Sprintf("%s%04d", c.MachinePrefix, i+1) }
