package simulate

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

func TestSeasonality_Shape(t *testing.T) {
	s := DefaultSeasonality()
	at := func(h int) float64 { return s.Factor(time.Date(2026, 11, 18, h, 30, 0, 0, time.UTC)) } // a Wednesday
	var peak, peakHour = 0.0, -1
	for h := range 24 {
		if f := at(h); f > peak {
			peak, peakHour = f, h
		}
	}
	if got, want := peakHour, 12; got != want {
		t.Fatalf("peak hour = %d, want %d (lunch)", got, want)
	}
	if got, want := peak, 1.0; got != want {
		t.Fatalf("peak factor = %v, want %v", got, want)
	}
	for h := 0; h <= 5; h++ {
		if f := at(h); f > 0.1 {
			t.Fatalf("hour %d factor = %v, want quiet night (<= 0.1)", h, f)
		}
	}
	// A second, evening peak: 18:00 is above the afternoon lull and the late evening.
	if !(at(18) > at(15) && at(18) > at(21) && at(18) >= 0.8) {
		t.Fatalf("no evening peak: 15h=%v 18h=%v 21h=%v", at(15), at(18), at(21))
	}
	// Weekends are quieter.
	sat := s.Factor(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC))
	if got, want := sat, 0.6; math.Abs(got-want) > 1e-9 {
		t.Fatalf("Saturday noon factor = %v, want %v", got, want)
	}
}

func TestSeasonality_LocalTime(t *testing.T) {
	s := DefaultSeasonality()
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	// 06:45 UTC is 12:15 in Bangalore: lunch there, breakfast in London.
	instant := time.Date(2026, 11, 18, 6, 45, 0, 0, time.UTC)
	if got, want := s.Factor(instant.In(kolkata)), 1.0; got != want {
		t.Fatalf("factor in Kolkata = %v, want %v", got, want)
	}
	if got, want := s.Factor(instant), s.Hourly[6]; got != want {
		t.Fatalf("factor in UTC = %v, want %v", got, want)
	}
}

func TestZipfWeights_Decreasing(t *testing.T) {
	w := ZipfWeights(12, ZipfExponent)
	var sum float64
	for i, x := range w {
		sum += x
		if i > 0 && !(x < w[i-1]) {
			t.Fatalf("weight %d = %v, not below weight %d = %v", i, x, i-1, w[i-1])
		}
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Fatalf("weights sum to %v, want 1", sum)
	}
	if got, want := w[0]/w[1], math.Pow(2, ZipfExponent); math.Abs(got-want) > 1e-9 {
		t.Fatalf("w1/w2 = %v, want 2^s = %v", got, want)
	}
	if got := ZipfWeights(0, 1); got != nil {
		t.Fatalf("ZipfWeights(0) = %v, want nil", got)
	}
}

func TestMoney_JSON(t *testing.T) {
	tests := []struct {
		name string
		m    Money
		json string
	}{
		{"whole", 5000, "50.00"},
		{"cents", 125, "1.25"},
		{"small", 5, "0.05"},
		{"zero", 0, "0.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(b), tt.json; got != want {
				t.Fatalf("Marshal = %s, want %s", got, want)
			}
			var back Money
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if got, want := back, tt.m; got != want {
				t.Fatalf("round trip = %v, want %v", got, want)
			}
		})
	}
	var m Money
	if err := json.Unmarshal([]byte("49.5"), &m); err != nil || m != 4950 {
		t.Fatalf("Unmarshal(49.5) = %v, %v; want 4950", m, err)
	}
	if err := json.Unmarshal([]byte(`"50"`), &m); err == nil {
		t.Fatal("Unmarshal of a string succeeded, want an error")
	}
}

func TestCatalog_Realistic(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Catalog() {
		if seen[p.ID] {
			t.Fatalf("duplicate product id %s", p.ID)
		}
		seen[p.ID] = true
		if p.Price <= 0 || p.Capacity <= p.LowStockLimit || p.LowStockLimit < 1 || p.ShelfLife <= 0 || p.Name == "" {
			t.Fatalf("implausible product %+v", p)
		}
	}
	if got, want := len(seen), 12; got != want {
		t.Fatalf("catalog has %d products, want %d", got, want)
	}
}

// simulateDay fires a generator in virtual time (as the backfill does) and
// returns its actions.
func simulateDay(t *testing.T, cfg Config, from time.Time, span time.Duration, live bool) []action {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g := newGenerator(&cfg, "test")
	g.begin(from)
	if live {
		g.goLive(from)
	}
	var out []action
	for {
		at, ok := g.peek()
		if !ok || !at.Before(from.Add(span)) {
			return out
		}
		out = append(out, g.fire()...)
	}
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.EdgeURL = "http://edge.test"
	cfg.ClientID, cfg.ClientSecret = "sim", "secret"
	cfg.Timezone = time.UTC
	return cfg
}

func TestGenerator_DeterministicWithSeed(t *testing.T) {
	from := time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)
	cfg := testConfig()
	cfg.SalesPerMinute = 5
	a := simulateDay(t, cfg, from, 6*time.Hour, true)
	b := simulateDay(t, cfg, from, 6*time.Hour, true)
	if len(a) < 100 {
		t.Fatalf("only %d actions in 6h", len(a))
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different traffic")
	}
	cfg.Seed = 2
	c := simulateDay(t, cfg, from, 6*time.Hour, true)
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave identical traffic")
	}
}

func TestGenerator_SalesAreConsistent(t *testing.T) {
	from := time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)
	cfg := testConfig()
	cfg.SalesPerMinute = 20
	cfg.RestockDelay = 0
	prices := map[string]Money{}
	for _, p := range Catalog() {
		prices[p.ID] = p.Price
	}
	ids := map[string]bool{}
	perProduct := map[string]int{}
	var restocks int
	for _, a := range simulateDay(t, cfg, from, 24*time.Hour, false) {
		switch a.kind {
		case actSale:
			s := a.sale
			if ids[s.TransactionID] {
				t.Fatalf("duplicate transaction id %s", s.TransactionID)
			}
			ids[s.TransactionID] = true
			if got, want := s.Amount, prices[s.ProductID]*Money(s.Quantity); got != want {
				t.Fatalf("sale %s amount = %v, want %v", s.TransactionID, got, want)
			}
			if s.Quantity < 1 || s.Quantity > 2 || s.MachineID == "" || s.PaymentMethod == "" {
				t.Fatalf("implausible sale %+v", s)
			}
			if _, err := time.Parse(time.RFC3339, s.Timestamp); err != nil {
				t.Fatalf("timestamp %q: %v", s.Timestamp, err)
			}
			perProduct[s.ProductID] += s.Quantity
		case actRestock:
			restocks++
		case actFault, actReplay, actTelemetry:
			t.Fatalf("backfill produced a %v action", a.kind)
		}
	}
	if restocks == 0 {
		t.Fatal("a day of sales caused no restock")
	}
	// Popularity follows the catalog order.
	if !(perProduct["P101"] > perProduct["P104"] && perProduct["P104"] > perProduct["P112"]) {
		t.Fatalf("popularity not Zipf-like: %v", perProduct)
	}
}

func TestGenerator_RateFollowsSeasonality(t *testing.T) {
	from := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC) // Monday
	const days = 5
	cfg := testConfig()
	cfg.SalesPerMinute = 10
	cfg.RestockDelay = 0
	perHour := make([]float64, 24)
	for _, a := range simulateDay(t, cfg, from, days*24*time.Hour, false) {
		if a.kind == actSale {
			perHour[a.at.Hour()]++
		}
	}
	for h, n := range perHour {
		want := cfg.SalesPerMinute * 60 * days * cfg.Seasonality.Hourly[h]
		// Poisson: allow 5 standard deviations plus a little for sold-out items.
		if tol := 5*math.Sqrt(want) + 0.05*want; math.Abs(n-want) > tol {
			t.Fatalf("hour %d: %v sales, want %v ± %v", h, n, want, tol)
		}
	}
}

func TestGenerator_TelemetryExcursionsAndDoor(t *testing.T) {
	from := time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)
	cfg := testConfig()
	cfg.TelemetryEvery = time.Minute
	cfg.RestockDelay = 0
	var readings, high, open int
	var sum float64
	for _, a := range simulateDay(t, cfg, from, 24*time.Hour, true) {
		if a.kind != actTelemetry {
			continue
		}
		readings++
		sum += a.tel.Temperature
		if a.tel.Temperature > 10 {
			high++
		}
		if a.tel.DoorStatus == "OPEN" {
			open++
		}
	}
	if readings < cfg.Machines*24*60 {
		t.Fatalf("%d readings, want at least %d", readings, cfg.Machines*24*60)
	}
	if mean := sum / float64(readings); math.Abs(mean-4) > 1 {
		t.Fatalf("mean temperature %.2f, want about 4", mean)
	}
	if high == 0 || high > readings/20 {
		t.Fatalf("%d of %d readings above 10 °C, want occasional", high, readings)
	}
	if open == 0 {
		t.Fatal("the door never opened, want it open during restocks")
	}
}

func TestConfig_ValidateNamesField(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		field  string
	}{
		{"no edge", func(c *Config) { c.EdgeURL = "" }, "EdgeURL"},
		{"edge not http", func(c *Config) { c.EdgeURL = "ftp://x" }, "EdgeURL"},
		{"no client id", func(c *Config) { c.ClientID = "" }, "ClientID"},
		{"no secret", func(c *Config) { c.ClientSecret = "" }, "ClientSecret"},
		{"no machines", func(c *Config) { c.Machines = 0 }, "Machines"},
		{"too many products", func(c *Config) { c.Products = 13 }, "Products"},
		{"no city", func(c *Config) { c.City = "" }, "City"},
		{"bad prefix", func(c *Config) { c.MachinePrefix = "VM 1" }, "MachinePrefix"},
		{"negative rate", func(c *Config) { c.SalesPerMinute = -1 }, "SalesPerMinute"},
		{"NaN rate", func(c *Config) { c.SalesPerMinute = math.NaN() }, "SalesPerMinute"},
		{"curve above 1", func(c *Config) { c.Seasonality.Hourly[3] = 2 }, "Seasonality"},
		{"curve all zero", func(c *Config) { c.Seasonality = Seasonality{} }, "Seasonality"},
		{"negative telemetry", func(c *Config) { c.TelemetryEvery = -time.Second }, "TelemetryEvery"},
		{"fault probability", func(c *Config) { c.FaultProbability = 1.5 }, "FaultProbability"},
		{"replay probability", func(c *Config) { c.ReplayProbability = -0.1 }, "ReplayProbability"},
		{"negative restock delay", func(c *Config) { c.RestockDelay = -1 }, "RestockDelay"},
		{"bad run id", func(c *Config) { c.RunID = "a/b" }, "RunID"},
		{"negative duration", func(c *Config) { c.Duration = -1 }, "Duration"},
		{"negative backfill", func(c *Config) { c.Backfill = -1 }, "Backfill"},
		{"backfill only without backfill", func(c *Config) { c.BackfillOnly = true }, "BackfillOnly"},
		{"batch too big", func(c *Config) { c.BatchSize = 100000 }, "BatchSize"},
		{"no concurrency", func(c *Config) { c.Concurrency = 0 }, "Concurrency"},
		{"no attempts", func(c *Config) { c.MaxAttempts = 0 }, "MaxAttempts"},
		{"no backoff", func(c *Config) { c.RetryBackoff = 0 }, "RetryBackoff"},
	}
	base := testConfig()
	if err := base.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.mutate(&cfg)
			err := cfg.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want a *FieldError", err)
			}
			if got, want := fe.Field, tt.field; got != want {
				t.Fatalf("Field = %q, want %q (%v)", got, want, err)
			}
		})
	}
}
