package hqapi

// DemandForecastQuery selects GET /reports/demand-forecast: every field
// optional. Hours adds each row's 168 hour-of-week figures.
type DemandForecastQuery struct {
	SiteID, MachineID, ProductID, City string
	Hours                              bool
}

// DemandForecast is one machine × product's demand forecast.
type DemandForecast struct {
	SiteID    string `json:"siteId"`
	MachineID string `json:"machineId"`
	ProductID string `json:"productId"`
	Name      string `json:"name,omitempty"`
	City      string `json:"city,omitempty"`
	// Stock is the slot's last reported count.
	Stock int64 `json:"stock"`
	// PerDay is the expected sales per day, averaged over the next 7 days.
	PerDay float64 `json:"perDay"`
	// Next7Days is the expected sales over the next 7 days.
	Next7Days float64 `json:"next7Days"`
	// DaysOfStock is Stock / PerDay; absent when no demand is expected.
	DaysOfStock *float64 `json:"daysOfStock,omitempty"`
	// Trend is the change of PerDay per day.
	Trend float64 `json:"trend"`
	// HistoryDays is the days of history behind the forecast and LastDay
	// the last of them (the site's calendar, YYYY-MM-DD).
	HistoryDays int    `json:"historyDays"`
	LastDay     string `json:"lastDay"`
	// CensoredHours is how many hours of that history the slot was empty
	// (for all or part of the hour): their sales were not taken as demand.
	CensoredHours int `json:"censoredHours"`
	// HourOfWeek is the expected sales in each hour of the coming week,
	// Monday 00:00 first (with ?hours=true).
	HourOfWeek []float64 `json:"hourOfWeek,omitempty"`
}

// DemandForecastReport is the answer of GET /reports/demand-forecast.
type DemandForecastReport struct {
	// Method says how the figures were made.
	Method string           `json:"method"`
	Rows   []DemandForecast `json:"rows"`
}
