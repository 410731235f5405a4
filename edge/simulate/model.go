package simulate

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/sync/wire"
)

// Money is an amount in minor units (cents). It encodes as a JSON decimal
// number with two places (4950 → 49.50), which is how the edge API takes
// prices and amounts.
type Money int64

// String formats m as a decimal with two places.
func (m Money) String() string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	return fmt.Sprintf("%s%d.%02d", sign, int64(m)/100, int64(m)%100)
}

// MarshalJSON encodes m as a JSON number with two decimals.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalJSON decodes a JSON number in currency units, rounding to cents.
// It returns an error for anything that is not a finite number.
func (m *Money) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Errorf("money %q: not a number", b)
	}
	*m = Money(math.Round(f * 100))
	return nil
}

// Product is an item of the simulated catalog.
type Product struct {
	ID            string
	Name          string
	Price         Money
	Capacity      int // the full level a restock sets
	LowStockLimit int
	ShelfLife     time.Duration // expiryDate = setup day + ShelfLife
}

// Catalog returns the simulated catalog: a dozen drinks and snacks at
// Bangalore prices (INR), most popular first. The sandwich's two-day shelf
// life makes expiry alerts show up in a demo.
func Catalog() []Product {
	const day = 24 * time.Hour
	return []Product{
		{"P101", "Cola 330ml", 4000, 24, 5, 180 * day},
		{"P102", "Mineral Water 500ml", 2000, 30, 6, 365 * day},
		{"P103", "Masala Chips", 2000, 20, 4, 120 * day},
		{"P104", "Cold Coffee 250ml", 6500, 16, 4, 90 * day},
		{"P105", "Chocolate Bar", 4950, 24, 5, 270 * day},
		{"P106", "Orange Juice 250ml", 3500, 16, 4, 60 * day},
		{"P107", "Energy Drink 250ml", 12500, 12, 3, 365 * day},
		{"P108", "Salted Peanuts", 2500, 20, 4, 150 * day},
		{"P109", "Protein Bar", 9900, 12, 3, 180 * day},
		{"P110", "Iced Tea 300ml", 5500, 16, 4, 120 * day},
		{"P111", "Veg Sandwich", 7500, 8, 2, 2 * day},
		{"P112", "Butter Cookies", 3000, 20, 4, 200 * day},
	}
}

// ZipfExponent is the exponent of the product popularity weights.
const ZipfExponent = 1.1

// ZipfWeights returns n weights proportional to 1/rank^s (rank 1 first),
// normalised to sum to 1. It returns nil for n < 1.
func ZipfWeights(n int, s float64) []float64 {
	if n < 1 {
		return nil
	}
	w := make([]float64, n)
	var sum float64
	for i := range w {
		w[i] = 1 / math.Pow(float64(i+1), s)
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}

// Seasonality shapes the sales rate over the day and week. Hourly[h] is the
// rate during local hour h relative to the peak (0..1); Weekend multiplies it
// on Saturdays and Sundays.
type Seasonality struct {
	Hourly  [24]float64
	Weekend float64
}

// DefaultSeasonality is an office-building day: quiet at night, a morning
// coffee bump, the peak at lunch (12:00-13:00), a second peak in the early
// evening (18:00), and weekends at 60%.
func DefaultSeasonality() Seasonality {
	return Seasonality{
		Hourly: [24]float64{
			0.05, 0.03, 0.02, 0.02, 0.03, 0.06, // 00-05
			0.15, 0.35, 0.55, 0.60, 0.55, 0.70, // 06-11
			1.00, 0.95, 0.60, 0.55, 0.65, 0.80, // 12-17
			0.90, 0.85, 0.60, 0.40, 0.20, 0.10, // 18-23
		},
		Weekend: 0.6,
	}
}

// FlatSeasonality is a constant rate: every hour at the peak.
func FlatSeasonality() Seasonality {
	var s Seasonality
	for h := range s.Hourly {
		s.Hourly[h] = 1
	}
	s.Weekend = 1
	return s
}

// Factor returns the relative rate (0..1) at t, evaluated in t's location:
// convert t to the site's timezone first.
func (s Seasonality) Factor(t time.Time) float64 {
	f := s.Hourly[t.Hour()]
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		f *= s.Weekend
	}
	return f
}

// validate reports the first problem with s, or "".
func (s Seasonality) validate() string {
	var peak float64
	for h, f := range s.Hourly {
		if !(f >= 0 && f <= 1) {
			return fmt.Sprintf("hour %d is %v, must be within 0..1", h, f)
		}
		peak = max(peak, f)
	}
	if peak == 0 {
		return "every hour is 0"
	}
	if !(s.Weekend >= 0 && s.Weekend <= 1) {
		return fmt.Sprintf("weekend factor is %v, must be within 0..1", s.Weekend)
	}
	return ""
}

// city is a known city's centre, used to place machines on the map.
type city struct{ lat, lng float64 }

var cities = map[string]city{
	"bangalore":     {12.9716, 77.5946},
	"bengaluru":     {12.9716, 77.5946},
	"mumbai":        {19.0760, 72.8777},
	"delhi":         {28.6139, 77.2090},
	"chennai":       {13.0827, 80.2707},
	"hyderabad":     {17.3850, 78.4867},
	"pune":          {18.5204, 73.8567},
	"berlin":        {52.5200, 13.4050},
	"london":        {51.5074, -0.1278},
	"paris":         {48.8566, 2.3522},
	"new york":      {40.7128, -74.0060},
	"san francisco": {37.7749, -122.4194},
	"singapore":     {1.3521, 103.8198},
	"tokyo":         {35.6762, 139.6503},
}

func lookupCity(name string) (city, bool) {
	c, ok := cities[strings.ToLower(strings.TrimSpace(name))]
	return c, ok
}

// sale, telemetry and fault are what the generator makes, in the JSON shape
// the edge receives them (wire converts them to the client's types).

// sale is a sale a machine reports.
type sale struct {
	TransactionID string `json:"transactionId"`
	MachineID     string `json:"machineId"`
	ProductID     string `json:"productId"`
	Quantity      int    `json:"quantity"`
	Amount        Money  `json:"amount"`
	PaymentMethod string `json:"paymentMethod"`
	Timestamp     string `json:"timestamp"`
}

type telemetry struct {
	MachineID   string  `json:"machineId"`
	Temperature float64 `json:"temperature"`
	PowerStatus string  `json:"powerStatus"`
	DoorStatus  string  `json:"doorStatus"`
	Timestamp   string  `json:"timestamp"`
}

type fault struct {
	MachineID   string `json:"machineId"`
	FaultType   string `json:"faultType"`
	Description string `json:"description"`
	Timestamp   string `json:"timestamp"`
}

func (s sale) wire() edgeapi.Sale {
	return edgeapi.Sale{TransactionID: s.TransactionID, MachineID: s.MachineID, ProductID: s.ProductID, Quantity: int64(s.Quantity),
		Amount: wire.Money(s.Amount), PaymentMethod: s.PaymentMethod, Timestamp: s.Timestamp}
}

func (t telemetry) wire() edgeapi.Telemetry {
	temp := t.Temperature
	return edgeapi.Telemetry{MachineID: t.MachineID, Temperature: &temp, PowerStatus: t.PowerStatus, DoorStatus: t.DoorStatus, Timestamp: t.Timestamp}
}

func (f fault) wire() edgeapi.NewFault {
	return edgeapi.NewFault{MachineID: f.MachineID, FaultType: f.FaultType, Description: f.Description, Timestamp: f.Timestamp}
}

// stamp formats t as RFC 3339 in UTC with milliseconds.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
