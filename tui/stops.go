package tui

import (
	"math"
	"sort"
	"time"

	"github.com/vendsync/vendsync/internal/hqapi"
)

// Drive-time assumptions: straight-line distance times RoadFactor, driven
// at DriveSpeedKmh (an urban van between stops, parking not included).
const (
	DriveSpeedKmh = 40.0
	RoadFactor    = 1.3
)

// Point is a position in degrees.
type Point struct{ Lat, Lng float64 }

// Stop is one site of the day's route in driving order.
type Stop struct {
	Site RouteSite
	// Score is central's urgency of the site (0: nothing needs a visit).
	Score int
	// Km and Drive are the leg from the previous stop (or the depot); both
	// zero when either end has no coordinates.
	Km    float64
	Drive time.Duration
	Done  bool
}

// distanceKm is the great-circle distance between a and b.
func distanceKm(a, b Point) float64 {
	const r = 6371.0
	la1, la2 := a.Lat*math.Pi/180, b.Lat*math.Pi/180
	dla, dlo := la2-la1, (b.Lng-a.Lng)*math.Pi/180
	h := math.Sin(dla/2)*math.Sin(dla/2) + math.Cos(la1)*math.Cos(la2)*math.Sin(dlo/2)*math.Sin(dlo/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(h)))
}

// driveTime is the estimated time to drive a straight-line distance.
func driveTime(km float64) time.Duration {
	return time.Duration(km * RoadFactor / DriveSpeedKmh * float64(time.Hour)).Round(time.Minute)
}

// OrderStops orders the route's sites for driving: from depot (nil: the
// first site with coordinates), each next stop is the open site with the
// lowest distance discounted by urgency (km / (1 + score/10): a site with
// score 10 is worth a detour of twice the distance); sites without
// coordinates follow by score, and done sites come last, in the order
// they were done, kept on the route.
func OrderStops(sites []RouteSite, cands []hqapi.Candidate, depot *Point, done map[string]time.Time) []Stop {
	score := map[string]int{}
	for _, c := range cands {
		score[c.Site] = c.Score
	}
	var open, noPos, fin []Stop
	for _, s := range sites {
		st := Stop{Site: s, Score: score[s.SiteID]}
		_, st.Done = done[s.SiteID]
		switch {
		case st.Done:
			fin = append(fin, st)
		case s.Lat == nil || s.Lng == nil:
			noPos = append(noPos, st)
		default:
			open = append(open, st)
		}
	}
	var here *Point
	if depot != nil {
		p := *depot
		here = &p
	}
	var out []Stop
	for len(open) > 0 {
		best := 0
		if here == nil {
			here = &Point{*open[0].Site.Lat, *open[0].Site.Lng}
		} else {
			bestCost := math.Inf(1)
			for i, st := range open {
				km := distanceKm(*here, Point{*st.Site.Lat, *st.Site.Lng})
				cost := km / (1 + float64(st.Score)/10)
				if cost < bestCost || cost == bestCost && st.Score > open[best].Score {
					best, bestCost = i, cost
				}
			}
		}
		st := open[best]
		p := Point{*st.Site.Lat, *st.Site.Lng}
		st.Km = distanceKm(*here, p)
		st.Drive = driveTime(st.Km)
		out = append(out, st)
		here = &p
		open = append(open[:best], open[best+1:]...)
	}
	sort.SliceStable(noPos, func(i, j int) bool { return noPos[i].Score > noPos[j].Score })
	sort.SliceStable(fin, func(i, j int) bool { return done[fin[i].Site.SiteID].Before(done[fin[j].Site.SiteID]) })
	return append(append(out, noPos...), fin...)
}
