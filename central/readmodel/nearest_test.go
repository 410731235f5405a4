package readmodel

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHaversine_KnownDistances(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		lat1, lng1, lat2, lng2 float64
		km, tol                float64
	}{
		{"same point", 18.52, 73.85, 18.52, 73.85, 0, 1e-9},
		{"one degree of latitude", 0, 0, 1, 0, 111.19, 0.01},
		{"Pune to Mumbai", 18.5204, 73.8567, 19.0760, 72.8777, 119.9, 1},
		{"across the antimeridian", 0, 179.9, 0, -179.9, 22.24, 0.01},
		{"pole to pole", 90, 0, -90, 0, math.Pi * EarthRadiusKm, 1e-6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := HaversineKm(tc.lat1, tc.lng1, tc.lat2, tc.lng2); math.Abs(got-tc.km) > tc.tol {
				t.Fatalf("distance = %v km, want %v ± %v", got, tc.km, tc.tol)
			}
		})
	}
}

// TestBoundingBox_HoldsTheCircle checks that points on the radius's circle
// in every direction lie inside the prefilter box, including across the
// antimeridian and near a pole.
func TestBoundingBox_HoldsTheCircle(t *testing.T) {
	inBox := func(lat, lng, latMin, latMax, lngMin, lngMax float64, wrap bool) bool {
		if lat < latMin || lat > latMax {
			return false
		}
		if wrap {
			return lng >= lngMin || lng <= lngMax
		}
		return lng >= lngMin && lng <= lngMax
	}
	for _, c := range []struct{ lat, lng, r float64 }{{18.52, 73.85, 5}, {0, 179.99, 50}, {-10, -179.95, 20}, {89.9, 10, 30}, {60, 0, 500}} {
		latMin, latMax, lngMin, lngMax, wrap := boundingBox(c.lat, c.lng, c.r)
		for deg := 0.0; deg < 360; deg += 5 {
			// A point at distance 0.999 r in direction deg (spherical destination formula).
			d := 0.999 * c.r / EarthRadiusKm
			b := deg * math.Pi / 180
			la1, lo1 := c.lat*math.Pi/180, c.lng*math.Pi/180
			la2 := math.Asin(math.Sin(la1)*math.Cos(d) + math.Cos(la1)*math.Sin(d)*math.Cos(b))
			lo2 := lo1 + math.Atan2(math.Sin(b)*math.Sin(d)*math.Cos(la1), math.Cos(d)-math.Sin(la1)*math.Sin(la2))
			lat, lng := la2*180/math.Pi, math.Mod(lo2*180/math.Pi+540, 360)-180
			if !inBox(lat, lng, latMin, latMax, lngMin, lngMax, wrap) {
				t.Fatalf("centre %+v: point (%v, %v) at bearing %v° is outside box [%v,%v]×[%v,%v] wrap=%v", c, lat, lng, deg, latMin, latMax, lngMin, lngMax, wrap)
			}
		}
	}
}

// Fleet size of the nearest-site benchmark: sites in one metro region of
// about 200 km × 200 km (a dense fleet: ~80 sites within 5 km of a point).
const (
	nearSites    = 10_000
	nearMachines = 2
	nearProducts = 20
)

// genNearest fills machines and machine_products directly (one
// transaction) with nearSites sites around Pune.
func genNearest(b *testing.B, s *Store) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UnixMilli()
	for i := range nearSites {
		site := fmt.Sprintf("site-%05d", i)
		if _, err := s.w.ExecContext(ctx, `INSERT INTO sites (site, tz, contiguous, max_seen, last_event_time, last_contact) VALUES (?, 'Asia/Kolkata', 10, 10, ?, ?)`, site, now, now); err != nil {
			b.Fatal(err)
		}
		lat0, lng0 := 17.6+rng.Float64()*1.8, 72.9+rng.Float64()*1.9
		for m := range nearMachines {
			mid := fmt.Sprintf("%s-m%d", site, m)
			if _, err := s.w.ExecContext(ctx, `INSERT INTO machines (site, machine_id, city, building, latitude, longitude, payment_methods, status, action, seq, event_time)
				VALUES (?, ?, 'Pune', 'B', ?, ?, '[]', 'ACTIVE', 'REGISTERED', 1, ?)`, site, mid, lat0+rng.Float64()*0.002, lng0+rng.Float64()*0.002, now); err != nil {
				b.Fatal(err)
			}
			for p := range nearProducts {
				if _, err := s.w.ExecContext(ctx, `INSERT INTO machine_products (site, machine_id, product_id, name, price_cents, quantity, updated_at) VALUES (?, ?, ?, 'x', 150, ?, ?)`,
					site, mid, fmt.Sprintf("p%02d", p), rng.IntN(8), now); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	if err := s.commit(ctx); err != nil {
		b.Fatal(err)
	}
	s.fresh = freshTable{}
	if err := s.fresh.load(ctx, s); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkNearest measures GET /sites/nearest's query at 10,000 sites
// (20,000 machines, 400,000 machine products) and reports p50 and p99.
func BenchmarkNearest(b *testing.B) {
	s := openStore(b)
	genNearest(b, s)
	ctx := context.Background()
	for _, radius := range []float64{2, 5, 20} {
		b.Run(fmt.Sprintf("radius_%gkm", radius), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 5))
			lat := make([]time.Duration, 0, b.N)
			found := 0
			b.ResetTimer()
			for i := range b.N {
				pLat, pLng := 17.7+rng.Float64()*1.6, 73.0+rng.Float64()*1.7
				t0 := time.Now()
				near, err := s.Nearest(ctx, pLat, pLng, fmt.Sprintf("p%02d", i%nearProducts), radius, 20)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				found += len(near)
			}
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(found)/float64(b.N), "sites/query")
		})
	}
}
